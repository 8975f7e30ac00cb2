"""SQL of the store, media: fingerprints of collected files and repost clusters (store/media.py)."""
from __future__ import annotations

from typing import Any

from store.sqlite.database import Database


_CLUSTER_FIELDS = ("id", "origin_sha256", "origin_channel", "origin_post", "origin_date", "files", "appearances",
                   "channels", "max_distance", "updated_at")


class MediaSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def save_fingerprint_rows(self, rows: list[tuple]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                """UPDATE media SET pdq=?, pdq_quality=?, phash=?, pdq_alt=?, pdq_lookup=?, frames=?, pdq_crops=?,
                     fingerprint_error=?,
                     fingerprinted_at=? WHERE sha256=?""", rows)

    async def media_without_crops(self, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT sha256, path FROM media WHERE pdq_crops IS NULL AND path IS NOT NULL AND pdq IS NOT NULL
                 AND frames IS NULL AND fingerprint_error IS NULL ORDER BY first_seen, sha256 LIMIT ?""", (limit,))

    async def save_crops(self, rows: list[tuple[bytes, str]]) -> None:
        async with self.transaction() as db:
            await db.executemany("UPDATE media SET pdq_crops=? WHERE sha256=?", rows)

    async def pair_checks(self) -> dict[tuple[str, str], bool]:
        return {(r[0], r[1]): bool(r[2]) for r in await self.fetchall("SELECT a, b, same FROM media_pair_checks")}

    async def save_pair_checks(self, rows: list[tuple[str, str, int, str, str]]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO media_pair_checks(a, b, same, reason, checked_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(a, b) DO UPDATE SET same=excluded.same, reason=excluded.reason, checked_at=excluded.checked_at",
                rows)

    async def media_to_fingerprint(self) -> list[Any]:
        return await self.fetchall(
            "SELECT sha256, path, mime FROM media WHERE fingerprinted_at IS NULL ORDER BY first_seen, sha256")

    async def fingerprinted_media(self) -> list[Any]:
        return await self.fetchall(
            """SELECT sha256, pdq, pdq_quality, pdq_alt, pdq_lookup, pdq_crops, path, cluster FROM media
               WHERE fingerprint_error IS NULL AND fingerprinted_at IS NOT NULL ORDER BY first_seen, sha256""")

    async def media_appearances(self) -> list[tuple[str, str, int, str | None]]:
        return [tuple(r) for r in await self.fetchall(
            """SELECT x.sha, x.channel, x.post_id, p.date FROM (
                   SELECT sha256 AS sha, channel, post_id FROM media_items WHERE sha256 IS NOT NULL
                   UNION SELECT thumb_sha256, channel, post_id FROM media_items WHERE thumb_sha256 IS NOT NULL) x
               LEFT JOIN posts p ON p.channel = x.channel AND p.id = x.post_id""")]

    async def replace_clusters(self, members: list[tuple[str, str]], clusters: list[tuple]) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE media SET cluster=NULL WHERE cluster IS NOT NULL")
            await db.executemany("UPDATE media SET cluster=? WHERE sha256=?", members)
            await db.execute("DELETE FROM media_clusters")
            await db.executemany(
                f"INSERT INTO media_clusters({', '.join(_CLUSTER_FIELDS)}) VALUES ({', '.join('?' * len(_CLUSTER_FIELDS))}) "
                f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{f}=excluded.{f}' for f in _CLUSTER_FIELDS[1:])}", clusters)
