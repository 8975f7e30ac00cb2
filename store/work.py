"""The interface of distributed mode's dispatcher (tgsweep/work/): when it last queued each channel."""
from __future__ import annotations

from typing import Any, Protocol


class LeaseLost(Exception):
    """The process no longer holds the account it collects with (its lease connection is gone): stop at once."""


class DispatchStore(Protocol):
    """What the dispatcher reads and writes beside the cursors (CollectionStore.last_successes)."""

    async def dispatch_marks(self, source: str) -> dict[str, str]:
        """When each channel was last queued for `source` (ISO 8601, UTC)."""

    async def lease_states(self) -> list[dict[str, Any]]:
        """Each Telethon account's newest lease event: account, holder, event, at."""
        ...

    async def mark_dispatched(self, source: str, channels: list[str], at: str) -> None:
        """Note that these channels were queued at `at`."""

    async def forget_dispatched(self, source: str, channels: list[str]) -> None:
        """These channels' job ended unrun: due at the next dispatch, whenever they were queued."""


class WorkQueue(Protocol):
    """The queue of distributed mode, as the dispatcher, the workers and `tgsweep status` use it."""

    async def ensure_schema(self) -> bool:
        """Create the queue's tables if they are not there; whether it did."""

    async def defer_collect(self, bucket: int, channels: list[str]) -> bool:
        """Queue a collect job for this batch of channels; False when one is pending already."""

    async def defer_analysis(self) -> bool:
        """Queue the store-wide analysis; False when one is pending already."""

    async def retry_stalled(self, seconds: float) -> tuple[int, list[str]]:
        """Run again the jobs of workers silent for `seconds`: how many there were, and the channels of those
        that could not be queued again (a newer job of their batch waits already) for the dispatcher."""

    async def overview(self, stalled_seconds: float) -> dict[str, Any]:
        """Workers, queues, running jobs with their locks, stalled jobs (`tgsweep status`)."""
