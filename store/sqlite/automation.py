"""SQL of the store, automation scores of channels and posting accounts (store/automation.py)."""
from __future__ import annotations

from typing import Any

from store.sqlite.database import Database


class AutomationSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def automation_samples(self, max_posts: int) -> list[tuple[Any, ...]]:
        from_id = ", p.from_id" if await self.has_column("posts", "from_id") else ", NULL"
        sql = f"""
            SELECT p.channel, p.id, p.date, p.text, p.views,
                   p.forwarded_channel IS NOT NULL OR p.forwarded_name IS NOT NULL,
                   CASE WHEN json_valid(p.record) THEN
                       coalesce(json_array_length(p.record, '$.links'), 0)
                       + (SELECT count(*) FROM json_each(p.record, '$.buttons') b
                          WHERE json_extract(b.value, '$.url') IS NOT NULL)
                   ELSE 0 END,
                   (SELECT group_concat(DISTINCT r.bot) FROM bot_refs r WHERE r.channel = p.channel AND r.post_id = p.id),
                   p.author{from_id}
            FROM (SELECT channel, id, row_number() OVER (PARTITION BY channel ORDER BY id DESC) AS rn
                  FROM posts WHERE service IS NULL) k
            JOIN posts p ON p.channel = k.channel AND p.id = k.id
            WHERE k.rn <= ?"""
        return [tuple(row) async for row in self.iterate(sql, (max_posts,))]

    async def channel_counters(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self.fetchall(
            "SELECT username, counters FROM channels WHERE counters IS NOT NULL")]

    async def replace_automation_scores(self, rows: list[tuple[str, str, float, str, str, str]]) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM automation_scores")
            await db.executemany(
                "INSERT INTO automation_scores(subject, kind, score, reasons, features, computed_at) VALUES (?,?,?,?,?,?)",
                rows)

    async def automation_rows(self, min_score: float = 0.0, kind: str | None = None,
                              subject: str | None = None) -> list[Any]:
        one = " AND subject = ?" if subject is not None else ""
        return await self.fetchall(
            "SELECT subject, kind, score, reasons, features, computed_at FROM automation_scores "
            f"WHERE score >= ? AND (? IS NULL OR kind = ?){one} ORDER BY score DESC, subject",
            (min_score, kind, kind, *([subject] if subject is not None else [])))
