"""The bots interface: what the detect stage (detectors/bots), the analysts' decisions and the bot
lists read and write."""
from __future__ import annotations

from typing import Any, AsyncIterator, Protocol

from store.alerts import AlertSettings


class BotsStore(Protocol):
    """Bot profiles, the references read for promotions and mirrors, verdicts and analyst decisions."""

    async def bot_overrides(self) -> dict[str, dict[str, Any]]:
        """The newest analyst decision per bot (username -> label, note, decided_by, decided_at)."""

    async def bots_to_score(self) -> list[Any]:
        """Every bot not known to be something else: username, confirmed, title, description, profile."""

    async def mirror_links(self) -> list[tuple[str, str, str, str]]:
        """Every (bot, predecessor, kind, evidence) mirror link found so far."""

    async def co_promoted_bots(self, max_bots_per_post: int) -> list[tuple[str, str]]:
        """Pairs of bots named in one post that names at most max_bots_per_post bots."""

    async def promotion_texts(self, bots: list[str], per_bot: int) -> list[tuple[str, str, str | None]]:
        """(bot, post text, the bots that post names) of the newest per_bot posts naming each bot."""

    def bot_reference_rows(self, fetch_rows: int) -> AsyncIterator[tuple[Any, ...]]:
        """Every bot reference with its post (channel, post id, date, text, bot, how, param, forwarded),
        streamed in (channel, post id) order, fetch_rows at a time: memory stays bounded."""

    async def add_references(self, refs: list[tuple[str, int, str, str]]) -> None:
        """(channel, post id, bot, how) references the detectors found (ad_text); idempotent."""

    async def add_mirror_links(self, links: list[tuple[str, str, str, str]]) -> None:
        """New (bot, predecessor, kind, evidence) mirror links; idempotent."""

    async def save_verdicts(self, updates: list[tuple], alerts: AlertSettings) -> int:
        """(label, auto_label, score, reasons, scored_at, username) verdicts and the deepfake_bot and
        mirror alerts they raise, in one transaction; returns the alerts raised."""

    async def known_bot(self, username: str) -> bool:
        """Whether the name is among the store's bots, bot references or channels."""

    async def bot_names(self) -> list[str]:
        """Every bot name the store knows (for "did you mean")."""

    async def record_override(self, username: str, label: str, note: str, by: str, at: str,
                              alerts: AlertSettings) -> int:
        """An analyst's decision, kept forever and applied to the bot's label now, with the alerts it
        raises, in one transaction; returns the alerts raised."""

    async def bot_listing(self) -> tuple[list[Any], list[Any]]:
        """Every bot with its verdicts and reference counts (highest score first), and every mirror link."""
