"""SQL of the store, escalation scores and the posts behind them (store/escalations.py)."""
from __future__ import annotations

from typing import Any, Callable

from store.alerts import Alert
from store.sqlite.alerts import enqueue_alert
from store.sqlite.database import Database, marks


class EscalationsSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def automation_score_rows(self) -> list[tuple[str, float, str]]:
        if not await self.has_column("automation_scores", "score"):  # interface 4: written by another tool, if at all
            return []
        return [tuple(r) for r in await self.fetchall("SELECT subject, score, reasons FROM automation_scores")]

    async def save_escalations(self, plan: Callable[[dict[str, str | None]], tuple[list[tuple], list[Alert]]]) -> int:
        async with self.transaction() as tx:
            before = {r[0]: r[1] for r in await tx.execute_fetchall("SELECT subject, escalated_at FROM escalations")}
            rows, alerts = plan(before)
            raised = 0
            for a in alerts:
                raised += await enqueue_alert(tx, a.type, a.subject, a.severity, a.reasons, a.evidence, a.key)
            await tx.executemany(
                """INSERT INTO escalations(subject, kind, score, reasons, pagerank, community, computed_at, signals,
                                           escalated_at) VALUES (?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(subject) DO UPDATE SET kind=excluded.kind, score=excluded.score, reasons=excluded.reasons,
                     pagerank=excluded.pagerank, community=excluded.community, computed_at=excluded.computed_at,
                     signals=excluded.signals, escalated_at=excluded.escalated_at""", rows)
        return raised

    async def escalation_rows(self, min_score: float | None = None, threshold: float | None = None) -> list[Any]:
        if min_score is not None:
            return await self.fetchall("SELECT * FROM escalations WHERE score >= ? ORDER BY score DESC, subject",
                                       (min_score,))
        where = "escalated_at IS NOT NULL" if threshold is None else "score >= ?"
        params = () if threshold is None else (threshold,)
        return await self.fetchall(f"SELECT * FROM escalations WHERE {where} ORDER BY score DESC, subject", params)

    async def subject_posts(self, kind: str, name: str, promotion_kinds: tuple[str, ...]) -> list[tuple[str, int]]:
        suspect = """SELECT substr(subject, 5) FROM escalations WHERE kind='bot' AND score > 0
                     UNION SELECT username FROM bots WHERE label='deepfake_generator'"""
        kinds = marks(promotion_kinds)
        if kind == "channel":
            keys = await self.fetchall(
                f"""SELECT DISTINCT channel, post_id FROM bot_refs WHERE channel=? AND how IN ({kinds})
                    AND bot IN ({suspect})
                    UNION SELECT DISTINCT i.channel, i.post_id FROM media_items i
                    JOIN bank_matches b ON b.sha256 = i.sha256 OR b.sha256 = i.thumb_sha256 WHERE i.channel=?""",
                (name, *promotion_kinds, name))
        elif kind == "bot":
            keys = await self.fetchall(
                f"SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=? AND how IN ({kinds})",
                (name, *promotion_kinds))
        else:
            keys = await self.fetchall(
                """SELECT DISTINCT i.channel, i.post_id FROM media_items i JOIN media m
                   ON m.sha256 = i.sha256 OR m.sha256 = i.thumb_sha256 WHERE m.cluster=?""", (name,))
        return sorted(set(tuple(k) for k in keys))

    async def post_dates(self, channel: str, post_id: int) -> tuple[str | None, str | None]:
        post = await self.fetchone("SELECT date, first_seen FROM posts WHERE channel=? AND id=?", (channel, post_id))
        return (post[0], post[1]) if post else (None, None)

    async def post_files(self, channel: str, post_id: int) -> list[str]:
        return [r[0] for r in await self.fetchall(
            "SELECT sha256 FROM media_items WHERE channel=? AND post_id=? AND sha256 IS NOT NULL ORDER BY position",
            (channel, post_id))]
