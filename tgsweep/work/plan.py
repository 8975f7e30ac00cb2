"""What the dispatcher decides, from records: which channels are due, in which batch. No I/O here."""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta


def bucket_of(channel: str, buckets: int) -> int:
    """The batch a channel belongs to: stable across processes and runs (not Python's salted hash)."""
    return zlib.crc32(channel.encode()) % buckets


def _older(at: str | None, than: datetime) -> bool:
    return at is None or datetime.fromisoformat(at) <= than


def due(channels: dict[str, float], last_success: dict[str, str], marks: dict[str, str],
        now: datetime) -> list[str]:
    """The channels to queue now. `channels`: each watched channel with its interval in minutes.

    Due: never swept to the end, or last longer ago than its interval, and not queued within its
    interval either (a channel that keeps failing is tried once per interval, not at every tick).
    """
    return [name for name, minutes in sorted(channels.items())
            if _older(last_success.get(name), now - timedelta(minutes=minutes))
            and _older(marks.get(name), now - timedelta(minutes=minutes))]


def batches(names: list[str], buckets: int) -> dict[int, list[str]]:
    """The channels grouped by batch: one collect job per batch."""
    out: dict[int, list[str]] = {}
    for name in names:
        out.setdefault(bucket_of(name, buckets), []).append(name)
    return out
