"""SQL of the store, read models of `status`, `verify`, the demo's summary and the command line
(store/status.py)."""
from __future__ import annotations

from typing import Any

from store.sqlite.database import Database


class StatusSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    # -- status -----------------------------------------------------------------------------------

    async def cursor_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.fetchall(
            """SELECT channel, source, last_id, pending_top, pending_bottom, not_before, last_success, last_error,
                      updated_at FROM cursors ORDER BY channel, source""")]

    async def alert_states(self) -> dict[str, dict[str, Any]]:
        return {r[0]: {"count": r[1], "oldest": r[2]} for r in await self.fetchall(
            "SELECT state, count(*), min(created_at) FROM alerts GROUP BY state")}

    async def errors_since(self, since: str, limit: int) -> tuple[dict[str, int], list[dict[str, Any]]]:
        by_kind = {r[0]: r[1] for r in await self.fetchall(
            "SELECT kind, count(*) FROM sweep_errors WHERE at >= ? GROUP BY kind ORDER BY kind", (since,))}
        recent = [dict(r) for r in await self.fetchall(
            "SELECT at, sweep_id, kind, channel, url, message FROM sweep_errors WHERE at >= ? "
            "ORDER BY id DESC LIMIT ?", (since, limit))]
        return by_kind, recent

    async def recent_sweeps(self, limit: int) -> list[Any]:
        return await self.fetchall(
            "SELECT id, source, started_at, finished_at, status, stats FROM sweeps ORDER BY id DESC LIMIT ?", (limit,))

    async def watched_count(self) -> int:
        return await self.scalar("SELECT count(*) FROM channels WHERE watched=1")

    # -- verify: records re-derived from their captures and decisions ------------------------------

    async def post_version_rows(self) -> list[Any]:
        return await self.fetchall(
            "SELECT channel, id, version, kind, text, content, capture_sha256 FROM post_versions "
            "WHERE kind != 'deleted' ORDER BY channel, id, version")

    async def post_rows(self) -> list[tuple[str, int, str, str]]:
        return [tuple(r) for r in await self.fetchall("SELECT channel, id, text, capture_sha256 FROM posts")]

    async def capture_kind_url(self, digest: str) -> tuple[str, str] | None:
        meta = await self.fetchone("SELECT kind, url FROM raw_captures WHERE sha256=?", (digest,))
        return (meta[0], meta[1]) if meta is not None else None

    async def media_custody_check(self) -> tuple[set[str], set[str], list[tuple[str, int, int, str]]]:
        logged = {r[0] for r in await self.fetchall("SELECT DISTINCT sha256 FROM custody_log WHERE action='media'")}
        known = {r[0] for r in await self.fetchall("SELECT sha256 FROM media")}
        items = [tuple(r) for r in await self.fetchall(
            "SELECT channel, post_id, position, sha256 FROM media_items WHERE sha256 IS NOT NULL")]
        return logged, known, items

    async def scored_bots(self) -> dict[str, Any]:
        return {r["username"]: r for r in await self.fetchall(
            "SELECT username, label, auto_label, score FROM bots WHERE scored_at IS NOT NULL")}

    async def custody_hash(self, seq: int) -> str | None:
        row = await self.fetchone("SELECT entry_hash FROM custody_log WHERE seq=?", (seq,))
        return row[0] if row else None

    async def custody_head_entry(self) -> tuple[int, str, str] | None:
        head = await self.fetchone("SELECT seq, entry_hash, at FROM custody_log ORDER BY seq DESC LIMIT 1")
        return (head[0], head[1], head[2]) if head is not None else None

    # -- the demo's summary -------------------------------------------------------------------------

    async def demo_summary_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in await self.fetchall(sql)]

        return {
            "bots": await rows("SELECT username FROM bots WHERE confirmed=1 ORDER BY username"),
            "verdicts": await rows(
                "SELECT username, label, score, reasons FROM bots WHERE confirmed=1 ORDER BY score DESC, username"),
            "mirrors": await rows(
                "SELECT bot, predecessor, min(evidence) FROM bot_mirrors GROUP BY bot, predecessor ORDER BY bot"),
            "matches": await rows(
                """SELECT channel, post_id, tier, distance, via FROM (
                     SELECT i.channel, i.post_id, b.tier, b.distance, b.via, row_number() OVER (
                              PARTITION BY i.channel, i.post_id ORDER BY b.distance, b.bank, b.hash) AS n
                     FROM bank_matches b JOIN media_items i ON i.sha256 = b.sha256 WHERE b.hash_type = 'pdq') best
                   WHERE n = 1 ORDER BY channel, post_id"""),
            "clusters": await rows(
                "SELECT id, origin_channel, origin_post, channels FROM media_clusters WHERE files > 1 "
                "ORDER BY json_array_length(channels) DESC, id LIMIT 3"),
        }
