"""SQL of the store, read models of the explorer's pages (store/readmodels.py)."""
from __future__ import annotations

from typing import Any

from store.readmodels import QueueFilter
from store.sqlite.database import Database, marks


_POST_PAGE = """SELECT p.channel, p.id, p.date, p.text, p.views, p.edited, p.forwarded_channel, p.forwarded_post,
       (SELECT group_concat(DISTINCT r.bot) FROM bot_refs r WHERE r.channel = p.channel AND r.post_id = p.id) AS bots,
       (SELECT count(*) FROM channel_refs f WHERE f.target = p.channel AND f.target_post = p.id AND f.how = 'forward')
           AS forwards
FROM posts p"""  # a page of posts: what the explorer's post tables show
_POST_ORDER = {"date": "p.date", "views": "p.views", "forwards": "forwards"}
_CHANNEL_ORDER = {"escalation": "e.score", "posts": "posts", "last_post": "p.last_post", "subscribers": "subscribers",
                  "username": "c.username", "first_seen": "c.first_seen"}


def _post_order(sort: str, descending: bool) -> str:
    way = "DESC" if descending else "ASC"
    return f"{_POST_ORDER[sort]} {way} NULLS LAST, p.date {way}, p.channel, p.id {way}"


class ReadModelsSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def escalation_row(self, subject: str) -> Any:
        return await self.fetchone("SELECT * FROM escalations WHERE subject=?", (subject,))

    async def channel_row(self, username: str) -> Any:
        return await self.fetchone("SELECT * FROM channels WHERE username=?", (username,))

    async def channel_post_count(self, username: str) -> int:
        return await self.scalar("SELECT count(*) FROM posts WHERE channel=?", (username,))

    async def channel_activity(self, username: str) -> list[Any]:
        return await self.fetchall(
            """SELECT substr(date, 1, 10) AS day, count(*) FROM posts WHERE channel=? AND date IS NOT NULL
               GROUP BY day ORDER BY day""", (username,))

    async def channel_forwards_out(self, username: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT forwarded_channel AS channel, count(*) AS posts, min(date) AS first, max(date) AS last
               FROM posts WHERE channel=? AND forwarded_channel IS NOT NULL GROUP BY forwarded_channel
               ORDER BY posts DESC, channel LIMIT ?""", (username, limit))

    async def channel_forwards_in(self, username: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT channel, count(*) AS posts, min(date) AS first, max(date) AS last FROM posts
               WHERE forwarded_channel=? AND channel != ? GROUP BY channel ORDER BY posts DESC, channel LIMIT ?""",
            (username, username, limit))

    async def channel_links_out(self, username: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT target AS channel, how, count(*) AS posts FROM channel_refs WHERE channel=? AND how != 'forward'
               GROUP BY target, how ORDER BY posts DESC LIMIT ?""", (username, limit))

    async def channel_links_in(self, username: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT channel, how, count(*) AS posts FROM channel_refs WHERE target=? AND how != 'forward'
               AND channel != ? GROUP BY channel, how ORDER BY posts DESC LIMIT ?""", (username, username, limit))

    async def channel_promoted_bots(self, username: str) -> list[Any]:
        return await self.fetchall(
            """SELECT r.bot, count(DISTINCT r.post_id) AS posts, group_concat(DISTINCT r.how) AS how,
                      group_concat(DISTINCT nullif(r.param, '')) AS codes, min(p.date) AS first, max(p.date) AS last,
                      b.label, b.score FROM bot_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
               LEFT JOIN bots b ON b.username = r.bot WHERE r.channel=? GROUP BY r.bot, b.label, b.score
               ORDER BY posts DESC, r.bot""",
            (username,))

    async def channel_posts_page(self, username: str, offset: int, limit: int, sort: str = "date",
                                 descending: bool = True) -> tuple[int, list[Any]]:
        total = await self.scalar("SELECT count(*) FROM posts WHERE channel=?", (username,))
        rows = await self.fetchall(
            _POST_PAGE + f" WHERE p.channel=? ORDER BY {_post_order(sort, descending)} LIMIT ? OFFSET ?",
            (username, limit, offset))
        return total, rows

    async def bot_posts_page(self, username: str, offset: int, limit: int, sort: str = "date",
                             descending: bool = True) -> tuple[int, list[Any]]:
        total = await self.scalar("SELECT count(*) FROM (SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?) refs",
                                  (username,))
        rows = await self.fetchall(
            _POST_PAGE + f""" JOIN (SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?) b
                 ON p.channel = b.channel AND p.id = b.post_id
               ORDER BY {_post_order(sort, descending)} LIMIT ? OFFSET ?""", (username, limit, offset))
        return total, rows

    async def channel_list_page(self, sort: str, descending: bool, offset: int, limit: int,
                                watched: bool | None = None) -> tuple[int, list[Any]]:
        where = "WHERE coalesce(c.kind, '') != 'bot' AND (? IS NULL OR c.watched = ?)"
        params = (None if watched is None else int(watched),) * 2
        total = await self.scalar(f"SELECT count(*) FROM channels c {where}", params)
        way = "DESC" if descending else "ASC"
        rows = await self.fetchall(
            f"""SELECT c.username, c.title, c.kind, c.watched, c.depth, c.first_seen,
                       CAST(json_extract(c.counters, '$.subscribers') AS BIGINT) AS subscribers,
                       coalesce(p.posts, 0) AS posts, p.last_post, e.score AS escalation
                FROM channels c
                LEFT JOIN (SELECT channel, count(*) AS posts, max(date) AS last_post FROM posts GROUP BY channel) p
                  ON p.channel = c.username
                LEFT JOIN escalations e ON e.subject = 'channel:' || c.username
                {where} ORDER BY {_CHANNEL_ORDER[sort]} {way} NULLS LAST, c.username LIMIT ? OFFSET ?""",
            (*params, limit, offset))
        return total, rows

    async def bot_activity(self, username: str) -> list[Any]:
        return await self.fetchall(
            """SELECT substr(p.date, 1, 10) AS day, count(*) FROM posts p
               JOIN (SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?) b
                 ON p.channel = b.channel AND p.id = b.post_id
               WHERE p.date IS NOT NULL GROUP BY day ORDER BY day""", (username,))

    async def queue_page(self, wanted: QueueFilter, sort: str, offset: int, limit: int) -> tuple[int, list[Any]]:
        f = wanted
        where = """WHERE e.score >= ? AND (? IS NULL OR e.kind = ?) AND (? IS NULL OR e.community = ?)
                   AND (? IS NULL OR e.escalated_at >= ?)
                   AND (? IS NULL OR (e.kind = 'bot' AND EXISTS (SELECT 1 FROM bots l
                          WHERE l.username = substr(e.subject, 5) AND l.label = ?)))
                   AND (? IS NULL OR (e.kind = 'media' AND EXISTS (SELECT 1 FROM media m JOIN bank_matches bm
                          ON bm.sha256 = m.sha256 WHERE m.cluster = substr(e.subject, 7) AND bm.bank = ?))
                        OR (e.kind = 'channel' AND EXISTS (SELECT 1 FROM media_items i JOIN bank_matches bm
                          ON bm.sha256 = i.sha256 WHERE i.channel = substr(e.subject, 9) AND bm.bank = ?)))"""
        params = (f.min_score, f.kind, f.kind, f.community, f.community, f.since, f.since, f.label, f.label,
                  f.bank, f.bank, f.bank)
        total = await self.scalar(f"SELECT count(*) FROM escalations e {where}", params)
        order = {"score": "e.score DESC", "escalated": "e.escalated_at DESC", "pagerank": "e.pagerank DESC"}[sort]
        # the page's subjects first (an index walk), then their columns and counts: for these 50 rows only
        rows = await self.fetchall(
            f"""WITH page AS (SELECT e.subject FROM escalations e {where} ORDER BY {order}, e.subject LIMIT ? OFFSET ?)
                SELECT e.subject, e.kind, e.score, e.reasons, e.pagerank, e.community, e.escalated_at, e.computed_at,
                       b.label AS bot_label,
                       (SELECT count(*) FROM bank_matches bm JOIN media m ON m.sha256 = bm.sha256
                          WHERE e.kind = 'media' AND m.cluster = substr(e.subject, 7)) AS media_bank_matches,
                       (SELECT count(DISTINCT i.sha256) FROM media_items i JOIN bank_matches bm ON bm.sha256 = i.sha256
                          WHERE e.kind = 'channel' AND i.channel = substr(e.subject, 9)) AS channel_banked_files,
                       (SELECT max(a.at) FROM audit_log a WHERE a.subject = e.subject AND a.action = 'reviewed')
                          AS reviewed_at
                FROM page JOIN escalations e ON e.subject = page.subject
                LEFT JOIN bots b ON e.kind = 'bot' AND b.username = substr(e.subject, 5)
                ORDER BY {order}, e.subject""", (*params, limit, offset))
        return total, rows

    async def changes_since(self, since: str, who: str, limit: int) -> dict[str, Any]:
        return {
            "escalated_total": await self.scalar("SELECT count(*) FROM escalations WHERE escalated_at > ?", (since,)),
            "escalated": await self.fetchall(
                """SELECT subject, kind, score, escalated_at FROM escalations WHERE escalated_at > ?
                   ORDER BY score DESC, subject LIMIT ?""", (since, limit)),
            "alerts": await self.fetchall("SELECT severity, count(*) AS n FROM alerts WHERE created_at > ? "
                                          "GROUP BY severity", (since,)),
            "bank_matches": await self.fetchone(
                "SELECT count(DISTINCT sha256) AS files, group_concat(DISTINCT bank) AS banks FROM bank_matches "
                "WHERE matched_at > ?", (since,)),
            "others": await self.fetchall(
                """SELECT at, who, action, subject, detail FROM audit_log
                   WHERE at > ? AND who != ? AND action IN ('decision', 'note', 'reviewed') ORDER BY id DESC LIMIT ?""",
                (since, who, limit)),
            "discovered": await self.scalar("SELECT count(*) FROM channels WHERE first_seen > ? AND watched = 0",
                                            (since,)),
        }

    async def known_content_rows(self, bank: str | None, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT b.bank, b.label, m.cluster,
                      min(CASE b.tier WHEN 'near-certain' THEN 0 WHEN 'match' THEN 1 ELSE 2 END) AS tier_rank,
                      count(DISTINCT b.sha256) AS files, min(b.sha256) AS sample_sha256,
                      max(CASE WHEN m.path IS NOT NULL AND m.mime LIKE 'image/%' THEN 1 ELSE 0 END) AS sample_kept,
                      min(b.distance) AS distance,
                      c.origin_channel, c.origin_post, c.origin_date, c.channels, c.appearances
               FROM bank_matches b JOIN media m ON m.sha256 = b.sha256
               LEFT JOIN media_clusters c ON c.id = m.cluster
               WHERE ? IS NULL OR b.bank = ?
               GROUP BY b.bank, b.label, m.cluster, c.id
               ORDER BY tier_rank, coalesce(c.appearances, 0) DESC, b.bank, b.label LIMIT ?""", (bank, bank, limit))

    async def search(self, text: str, limit: int) -> dict[str, list[Any]]:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        prefix = text.lower() + "%" if all(c in "0123456789abcdef" for c in text.lower()) and len(text) >= 6 else None
        return {
            "channels": await self.fetchall(
                """SELECT username, title FROM channels WHERE username LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\'
                   ORDER BY username LIMIT ?""", (like, like, limit)),
            "bots": await self.fetchall(
                """SELECT username, title, label FROM bots WHERE username LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\'
                   ORDER BY username LIMIT ?""", (like, like, limit)),
            "clusters": await self.fetchall(
                """SELECT DISTINCT m.cluster, b.bank, b.label, m.sha256 FROM bank_matches b JOIN media m ON m.sha256 = b.sha256
                   WHERE m.cluster IS NOT NULL AND (b.label LIKE ? ESCAPE '\\' OR b.bank LIKE ? ESCAPE '\\')
                   UNION SELECT DISTINCT cluster, NULL, NULL, sha256 FROM media WHERE cluster IS NOT NULL
                   AND ? IS NOT NULL AND (sha256 LIKE ? OR md5 LIKE ? OR pdq LIKE ?) LIMIT ?""",
                (like, like, prefix, prefix, prefix, prefix, limit)),
            "posts": await self.fetchall(
                """SELECT channel, id, date, text FROM posts WHERE text LIKE ? ESCAPE '\\'
                   ORDER BY date DESC LIMIT ?""", (like, limit)),
        }

    async def channel_media_page(self, username: str, limit: int) -> tuple[int, list[Any]]:
        total = await self.scalar("SELECT count(*) FROM media_items WHERE channel=? AND sha256 IS NOT NULL",
                                     (username,))
        rows = await self.fetchall(
            """SELECT i.post_id, i.position, i.kind, i.sha256, i.thumb_sha256, m.mime, m.md5, m.pdq, m.phash, m.cluster,
                      m.path IS NOT NULL AS kept, c.files AS cluster_files, c.appearances AS cluster_appearances,
                      c.channels AS cluster_channels, c.origin_channel, c.origin_post, p.date
               FROM media_items i JOIN media m ON m.sha256 = i.sha256
               LEFT JOIN media_clusters c ON c.id = m.cluster
               LEFT JOIN posts p ON p.channel = i.channel AND p.id = i.post_id
               WHERE i.channel=? ORDER BY (SELECT count(*) FROM bank_matches b WHERE b.sha256 = i.sha256) DESC,
                     coalesce(c.appearances, 0) DESC, i.post_id DESC, i.position LIMIT ?""", (username, limit))
        return total, rows

    async def bank_match_rows(self, shas: list[str]) -> list[Any]:
        rows = []
        for start in range(0, len(shas), 400):
            chunk = shas[start:start + 400]
            places = marks(chunk)
            rows += await self.fetchall(
                f"""SELECT sha256, bank, label, hash_type, distance, tier, via FROM bank_matches
                    WHERE sha256 IN ({places}) ORDER BY distance, bank""", chunk)
        return rows

    async def bot_row(self, username: str) -> Any:
        return await self.fetchone("SELECT * FROM bots WHERE username=?", (username,))

    async def bot_override_rows(self, username: str) -> list[Any]:
        return await self.fetchall(
            "SELECT label, note, decided_by AS by, decided_at AS at FROM bot_overrides WHERE username=? ORDER BY id DESC",
            (username,))

    async def bot_mirror_rows(self, username: str) -> list[Any]:
        return await self.fetchall(
            "SELECT bot, predecessor, kind, evidence, first_seen FROM bot_mirrors WHERE bot=? OR predecessor=? "
            "ORDER BY first_seen, bot", (username, username))

    async def bot_promoter_rows(self, username: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT r.channel, count(DISTINCT r.post_id) AS posts, group_concat(DISTINCT r.how) AS how,
                      group_concat(DISTINCT nullif(r.param, '')) AS codes, min(p.date) AS first, max(p.date) AS last,
                      group_concat(DISTINCT CAST(r.post_id AS TEXT)) AS post_ids
               FROM bot_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
               WHERE r.bot=? GROUP BY r.channel ORDER BY posts DESC, r.channel LIMIT ?""", (username, limit))

    async def media_detail_row(self, sha256: str) -> Any:
        return await self.fetchone(
            """SELECT sha256, md5, size, mime, width, height, pdq, pdq_quality, phash, cluster, fingerprint_error,
                      first_seen, path IS NOT NULL AS kept FROM media WHERE sha256=?""", (sha256,))

    async def cluster_row(self, cluster: str) -> Any:
        return await self.fetchone("SELECT * FROM media_clusters WHERE id=?", (cluster,))

    async def media_appearance_rows(self, sha256: str, limit: int) -> list[Any]:
        return await self.fetchall(
            """SELECT channel, post_id, kind FROM media_items WHERE sha256=? OR thumb_sha256=?
               ORDER BY channel, post_id LIMIT ?""", (sha256, sha256, limit))

    async def cluster_file_rows(self, cluster: str, limit: int) -> list[Any]:
        return await self.fetchall("SELECT sha256, mime, path IS NOT NULL AS kept FROM media WHERE cluster=? LIMIT ?",
                                   (cluster, limit))


    async def kept_media(self, sha256: str) -> Any:
        return await self.fetchone("SELECT path, mime, cluster FROM media WHERE sha256=?", (sha256,))
