"""SQL of the store, bots: profiles, references read for promotions and mirrors, verdicts, analyst
decisions (store/bots.py says what each method is for)."""
from __future__ import annotations

from typing import Any, AsyncIterator

from store.alerts import AlertSettings
from store.records import now
from store.sqlite.alerts import deepfake_bot_rule, mirror_rule
from store.sqlite.database import Database, marks


async def _bot_alerts(db: Any, settings: AlertSettings) -> int:
    """deepfake_bot and mirror alerts for what the labels and mirrors now say, in the caller's transaction."""
    return await deepfake_bot_rule(db, settings) + await mirror_rule(db, settings)


class BotsSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def bot_overrides(self) -> dict[str, dict[str, Any]]:
        rows = await self.fetchall(
            """SELECT username, label, note, decided_by, decided_at FROM bot_overrides o
               WHERE id = (SELECT max(id) FROM bot_overrides WHERE username = o.username)""")
        return {r["username"]: dict(r) for r in rows}

    async def bots_to_score(self) -> list[Any]:
        return await self.fetchall(
            "SELECT username, confirmed, title, description, profile FROM bots WHERE coalesce(confirmed, 1) != 0")

    async def mirror_links(self) -> list[tuple[str, str, str, str]]:
        return [tuple(r) for r in await self.fetchall("SELECT bot, predecessor, kind, evidence FROM bot_mirrors")]

    async def co_promoted_bots(self, max_bots_per_post: int) -> list[tuple[str, str]]:
        return [tuple(r) for r in await self.fetchall(
            """SELECT DISTINCT a.bot, b.bot FROM bot_refs a JOIN bot_refs b
                 ON a.channel = b.channel AND a.post_id = b.post_id AND a.bot < b.bot
               WHERE (SELECT count(DISTINCT bot) FROM bot_refs c
                      WHERE c.channel = a.channel AND c.post_id = a.post_id) <= ?""", (max_bots_per_post,))]

    async def promotion_texts(self, bots: list[str], per_bot: int) -> list[tuple[str, str, str | None]]:
        places = marks(bots)
        rows = await self.fetchall(
            f"""WITH r AS (SELECT DISTINCT bot, channel, post_id FROM bot_refs WHERE bot IN ({places}))
                SELECT bot, text, (SELECT group_concat(DISTINCT b.bot) FROM bot_refs b
                                   WHERE b.channel = c AND b.post_id = i) AS named FROM (
                    SELECT r.bot, p.text, p.channel AS c, p.id AS i, row_number() OVER (
                        PARTITION BY r.bot ORDER BY p.date DESC, p.channel, p.id) AS n
                    FROM r JOIN posts p ON p.channel = r.channel AND p.id = r.post_id WHERE p.text != '') recent
                WHERE n <= ? ORDER BY bot, n""", [*bots, per_bot])
        return [(r[0], r[1], r[2]) for r in rows]

    async def bot_reference_rows(self, fetch_rows: int) -> AsyncIterator[tuple[Any, ...]]:
        sql = """SELECT r.channel, r.post_id, p.date, p.text, r.bot, r.how, r.param,
                        p.forwarded_channel IS NOT NULL OR p.forwarded_name IS NOT NULL
                 FROM bot_refs r JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
                 ORDER BY r.channel, r.post_id"""
        async for row in self.iterate(sql, (), fetch_rows):
            yield tuple(row)

    async def add_references(self, refs: list[tuple[str, int, str, str]]) -> None:
        if not refs:
            return
        async with self.transaction() as db:  # idempotent: the reference's key holds its kind
            await self.lock(db, "append")
            await db.executemany("INSERT INTO bot_refs(channel, post_id, bot, how, param) VALUES (?,?,?,?,'') "
                                 "ON CONFLICT DO NOTHING",
                                 refs)

    async def add_mirror_links(self, links: list[tuple[str, str, str, str]]) -> None:
        if not links:
            return
        t = now()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO bot_mirrors(bot, predecessor, kind, evidence, first_seen) VALUES (?,?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                [(*link, t) for link in links])

    async def save_verdicts(self, updates: list[tuple], alerts: AlertSettings) -> int:
        async with self.transaction() as db:
            if updates:
                await db.executemany(
                    "UPDATE bots SET label=?, auto_label=?, score=?, reasons=?, scored_at=? WHERE username=?", updates)
            return await _bot_alerts(db, alerts)  # with their cause, or not at all

    async def known_bot(self, username: str) -> bool:
        return bool(await self.scalar(
            "SELECT EXISTS(SELECT 1 FROM bots WHERE username=?) OR EXISTS(SELECT 1 FROM bot_refs WHERE bot=?) "
            "OR EXISTS(SELECT 1 FROM channels WHERE username=?)", (username, username, username)))

    async def bot_names(self) -> list[str]:
        return [r[0] for r in await self.fetchall("SELECT username FROM bots UNION SELECT bot FROM bot_refs")]

    async def record_override(self, username: str, label: str, note: str, by: str, at: str,
                              alerts: AlertSettings) -> int:
        async with self.transaction() as db:
            await db.execute("INSERT INTO bot_overrides(username, label, note, decided_by, decided_at) VALUES (?,?,?,?,?)",
                             (username, label, note, by, at))
            await db.execute("INSERT INTO bots(username, first_seen, last_seen) VALUES (?,?,?) "
                             "ON CONFLICT(username) DO NOTHING", (username, at, at))
            await db.execute("UPDATE bots SET label=? WHERE username=?", (label, username))
            return await _bot_alerts(db, alerts)

    async def bot_listing(self) -> tuple[list[Any], list[Any]]:
        rows = await self.fetchall(
            """SELECT b.username, b.confirmed, b.title, b.label, b.auto_label, b.score, b.reasons, b.scored_at,
                      (SELECT count(DISTINCT channel) FROM bot_refs r WHERE r.bot = b.username) AS channels,
                      (SELECT count(DISTINCT channel || '/' || post_id) FROM bot_refs r WHERE r.bot = b.username) AS posts,
                      (SELECT group_concat(DISTINCT param) FROM bot_refs r WHERE r.bot = b.username AND param != '')
                        AS params
               FROM bots b ORDER BY coalesce(b.score, -1) DESC, b.username""")
        mirrors = await self.fetchall("SELECT bot, predecessor, kind, evidence FROM bot_mirrors ORDER BY bot")
        return rows, mirrors
