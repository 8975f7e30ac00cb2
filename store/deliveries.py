"""The deliveries interface: the alert outbox as delivery (graph/alerts) reads and updates it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol


ALERT_SORTS = ("created", "severity", "type", "subject", "state", "attempts")  # what an alerts table sorts by


class DeliveriesStore(Protocol):
    """Alerts waiting in the outbox, their delivery to each sink, and retries."""

    path: Path

    async def known_alert_ids(self, ids: list[str]) -> set[str]:
        """Which of these ids name an alert in the outbox."""

    async def pending_alert_count(self) -> int:
        """Alerts not yet delivered to every sink."""

    async def prepare_deliveries(self, sinks: list[str], start: str) -> None:
        """Every pending alert gets a delivery row per sink (its retry window starting at `start`); alerts
        only a removed sink held up get their final state; one transaction."""

    async def due_deliveries(self, sink: str, at: str) -> list[str]:
        """Alert ids whose delivery to the sink is due at `at`, oldest first."""

    async def due_payloads(self, sink: str, alert_ids: list[str], at: str) -> list[tuple[str, str]]:
        """(alert id, JSON body) of these alerts still due to the sink, oldest first."""

    async def record_deliveries(self, sink: str, sinks: list[str], outcomes: list[tuple[str, Any]],
                                step: Callable[[str, Any, int, str | None], tuple],
                                pause_after: Callable[[], str | None]) -> list[tuple[str, str, str]]:
        """In one transaction: each (alert id, outcome)'s new delivery state from `step` (given the attempt
        number and the retry window's start; returns state, next attempt, status, error, delivered_at),
        each alert's overall state refreshed, and the sink paused until `pause_after()` if it names a
        time; returns (alert id, delivery state, alert state)."""

    async def alert_rows(self, state: str | None = None, offset: int = 0, limit: int | None = None,
                         sort: str = "created", descending: bool = True) -> tuple[list[Any], list[Any]]:
        """Alerts, newest first or by `sort` (one of ALERT_SORTS; in `state` if given; a page of `limit` from
        `offset` if given), and their delivery rows (by sink)."""

    async def alert_count(self, state: str | None = None) -> int:
        """How many alerts there are (in `state` if given)."""

    async def retry_deliveries(self, at: str, ids: list[str] | None = None) -> int:
        """Dead and waiting deliveries (of these alerts, or all) due again at `at` with a fresh window;
        returns the alerts affected."""
