"""The explorer interface: the read models of `tgsweep serve`'s pages (tgsweep/explorer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from store.audit import AuditLog
from store.automation import AutomationStore
from store.bots import BotsStore
from store.deliveries import DeliveriesStore
from store.graph import GraphSource


@dataclass(frozen=True)
class QueueFilter:
    """Which scored subjects the queue shows."""

    kind: str | None = None  # channel, bot, media
    min_score: float = 0.0
    community: int | None = None
    since: str | None = None  # first escalated on or after (ISO 8601)
    label: str | None = None  # a bot's label: deepfake_generator, unknown, benign
    bank: str | None = None  # a match in this bank: a media cluster's files, a channel's posted files


POST_SORTS = ("date", "views", "forwards")  # what a table of posts sorts by
CHANNEL_SORTS = ("escalation", "posts", "last_post", "subscribers", "username", "first_seen")


class ExplorerReadModel(GraphSource, BotsStore, AutomationStore, DeliveriesStore, AuditLog, Protocol):
    """What the explorer's pages read (and the bot decisions, alert retries, notes and audit entries they make)."""

    async def escalation_row(self, subject: str) -> Any:
        """A node's escalations row, if scored."""

    async def channel_row(self, username: str) -> Any:
        """A channel's stored profile row."""

    async def channel_post_count(self, username: str) -> int:
        """How many posts of the channel are stored."""

    async def channel_posts_page(self, username: str, offset: int, limit: int, sort: str = "date",
                                 descending: bool = True) -> tuple[int, list[Any]]:
        """(total, page) of the channel's posts, newest first or by `sort` (one of POST_SORTS): id, date, text,
        views, edited, forward source, `bots` (comma-separated bots it references), `forwards` (posts that
        forwarded it)."""

    async def bot_posts_page(self, username: str, offset: int, limit: int, sort: str = "date",
                             descending: bool = True) -> tuple[int, list[Any]]:
        """(total, page) of the posts referencing the bot, newest first or by `sort`, with the same fields."""

    async def channel_list_page(self, sort: str, descending: bool, offset: int, limit: int,
                                watched: bool | None = None) -> tuple[int, list[Any]]:
        """(total, page) of the channels (not bots), by `sort` (one of CHANNEL_SORTS): username, title,
        kind, watched, depth, first_seen, subscribers, posts, last_post, escalation score."""

    async def bot_activity(self, username: str) -> list[Any]:
        """(day, posts) of the posts referencing the bot, by day."""

    async def queue_page(self, wanted: QueueFilter, sort: str, offset: int, limit: int) -> tuple[int, list[Any]]:
        """(total, page) of scored subjects (escalations) as `wanted` filters them; sorted by `score`, `escalated`
        or `pagerank`; with the bot's label, bank matches and last review."""

    async def changes_since(self, since: str, who: str, limit: int) -> dict[str, Any]:
        """What happened after `since` (ISO time): `escalated` (subjects first escalated, most escalated first,
        at most `limit`, and `escalated_total`), `alerts` (count per severity), `bank_matches` (files and banks),
        `others` (decisions, notes and reviews by analysts other than `who`, newest first, at most `limit`),
        `discovered` (channels first seen, not watched)."""

    async def known_content_rows(self, bank: str | None, limit: int) -> list[Any]:
        """Bank matches grouped by (bank, label, repost cluster): best tier (`tier_rank` 0 near-certain, 1 match,
        2 weak lead), files, a sample file, the cluster's origin, channels and appearances; best first."""

    async def search(self, text: str, limit: int) -> dict[str, list[Any]]:
        """Channels and bots by name or title, repost clusters by bank or label (or a hash prefix of 6+ hex
        digits: SHA-256, MD5 or PDQ), posts by text; at most `limit` of each."""

    async def channel_activity(self, username: str) -> list[Any]:
        """(day, posts) of the channel, by day."""

    async def channel_forwards_out(self, username: str, limit: int) -> list[Any]:
        """Channels this one forwards from, most posts first."""

    async def channel_forwards_in(self, username: str, limit: int) -> list[Any]:
        """Channels forwarding from this one, most posts first."""

    async def channel_links_out(self, username: str, limit: int) -> list[Any]:
        """Channels this one links to or mentions, most posts first."""

    async def channel_links_in(self, username: str, limit: int) -> list[Any]:
        """Channels linking to or mentioning this one, most posts first."""

    async def channel_promoted_bots(self, username: str) -> list[Any]:
        """Bots the channel references: posts, how, referral codes, dates, verdict."""

    async def channel_media_page(self, username: str, limit: int) -> tuple[int, list[Any]]:
        """How many files the channel posted, and the first `limit` (bank matches and reposts first)."""

    async def bank_match_rows(self, shas: list[str]) -> list[Any]:
        """Bank matches of these files, closest first."""

    async def bot_row(self, username: str) -> Any:
        """A bot's stored row."""

    async def bot_override_rows(self, username: str) -> list[Any]:
        """Every analyst decision on the bot, newest first."""

    async def bot_mirror_rows(self, username: str) -> list[Any]:
        """Mirror links from or to the bot."""

    async def bot_promoter_rows(self, username: str, limit: int) -> list[Any]:
        """Channels referencing the bot: posts, how, referral codes, dates, post ids."""

    async def media_detail_row(self, sha256: str) -> Any:
        """A file's hashes, type, cluster and whether its bytes are kept."""

    async def cluster_row(self, cluster: str) -> Any:
        """A repost cluster's row."""

    async def media_appearance_rows(self, sha256: str, limit: int) -> list[Any]:
        """Where a file (or its thumbnail) appeared."""

    async def cluster_file_rows(self, cluster: str, limit: int) -> list[Any]:
        """The files of a repost cluster."""

    async def generation(self) -> int:
        """How many write transactions the store has committed, by any process (the graph cache's key;
        persistent, so a saved graph is known to be current after a restart)."""

    async def kept_media(self, sha256: str) -> Any:
        """A file's kept path and type, for serving its preview."""
