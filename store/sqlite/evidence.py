"""SQL of the store, what evidence bundles and takedown lists gather about a subject (store/evidence.py)."""
from __future__ import annotations

from typing import Any

from store.sqlite.database import Database, marks


class EvidenceSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def known_as_bot(self, name: str) -> bool:
        return bool(await self.fetchone("SELECT 1 FROM bots WHERE username=? AND coalesce(confirmed, 1) = 1", (name,)))

    async def subject_exists(self, kind: str, name: str) -> bool:
        if kind == "bot":
            found = await self.fetchone("SELECT 1 FROM bots WHERE username=?", (name,))
        elif kind == "channel":
            found = await self.fetchone("SELECT 1 FROM posts WHERE channel=? LIMIT 1", (name,)) or \
                await self.fetchone("SELECT 1 FROM channels WHERE username=?", (name,))
        else:
            found = await self.fetchone("SELECT 1 FROM media_clusters WHERE id=?", (name,)) or \
                await self.fetchone("SELECT 1 FROM media WHERE cluster=?", (name,))
        return bool(found)

    async def subject_post_keys(self, kind: str, name: str) -> set[tuple[str, int]]:
        sql = ("SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?" if kind == "bot" else
               "SELECT DISTINCT i.channel, i.post_id FROM media_items i JOIN media m "
               "ON m.sha256 = i.sha256 OR m.sha256 = i.thumb_sha256 WHERE m.cluster=?")  # as the graph's `posted`
        return {(r[0], r[1]) for r in await self.fetchall(sql, (name,))}

    async def entity_page_captures(self, name: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self.fetchall(
            "SELECT sha256, url FROM raw_captures WHERE kind='entity_page' AND url LIKE ?", (f"%/{name}",))]

    async def subject_profile(self, kind: str, name: str) -> dict[str, Any]:
        if kind == "bot":
            row = await self.fetchone("SELECT username, title, label, score, first_seen, last_seen FROM bots "
                                      "WHERE username=?", (name,))
        elif kind == "channel":
            row = await self.fetchone("SELECT username, title, kind, channel_id, has_preview, watched, "
                                      "discovered_from, first_seen, last_seen FROM channels WHERE username=?", (name,))
        else:
            row = await self.fetchone("SELECT * FROM media_clusters WHERE id=?", (name,))
        return dict(row) if row else {}

    async def takedown_captures(self) -> list[tuple[str, int, str]]:
        return [tuple(r) for r in await self.fetchall(
            "SELECT channel, post_id, capture_sha256 FROM takedown_checks WHERE capture_sha256 IS NOT NULL")]

    async def capture_meta(self, digest: str) -> dict[str, Any] | None:
        meta = await self.fetchone("SELECT sha256, kind, url, size, first_fetched FROM raw_captures WHERE sha256=?",
                                   (digest,))
        return dict(meta) if meta is not None else None

    async def cluster_files(self, cluster: str) -> set[str]:
        return {r[0] for r in await self.fetchall("SELECT sha256 FROM media WHERE cluster=?", (cluster,))}

    async def media_file(self, digest: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT sha256, md5, size, mime, width, height, path, pdq, pdq_quality, phash, "
                                  "cluster, first_seen FROM media WHERE sha256=?", (digest,))
        return dict(row) if row is not None else None

    async def custody_entries(self, digests: list[str]) -> list[dict[str, Any]]:
        custody = []
        for start in range(0, len(digests), 500):
            part = digests[start:start + 500]
            custody += [dict(r) for r in await self.fetchall(
                f"SELECT seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash FROM custody_log "
                f"WHERE sha256 IN ({marks(part)}) ORDER BY seq", part)]
        return custody

    async def custody_head(self) -> dict[str, Any]:
        head = await self.fetchone("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")
        return dict(head) if head else {}

    async def file_bank_matches(self, digest: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.fetchall(
            "SELECT sha256, bank, hash_type, hash, label, distance, tier, via, matched_at FROM bank_matches "
            "WHERE sha256=? ORDER BY bank, hash_type, hash", (digest,))]

    async def first_seen(self, kind: str, name: str) -> str | None:
        table = "bots" if kind == "bot" else "channels"
        row = await self.fetchone(f"SELECT first_seen FROM {table} WHERE username=?", (name,))
        return row[0] if row else None
