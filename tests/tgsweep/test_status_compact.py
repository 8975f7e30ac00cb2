"""`tgsweep status` on a large watchlist: problems first, totals, channels only when asked."""
from __future__ import annotations

from tgsweep.status import format_status


def _status(n: int) -> dict:
    chans = [{"channel": f"chan_{i:05d}", "source": "web", "watched": True, "last_id": i, "pending_top": None,
              "pending_bottom": None, "last_success": "2026-12-01T00:00:00+00:00", "flood_wait": False,
              "not_before": None, "last_error": "http: HTTP 502" if i % 1000 == 0 else None} for i in range(n)]
    return {"service": {"running": False, "pid": None, "jobs_database": "jobs.sqlite"}, "jobs": [], "sweeps": [],
            "channels": chans, "flood_waits": [], "takedowns": {},
            "alerts": {"pending": 3, "oldest_pending": "2026-12-01T00:00:00+00:00", "dead": 1, "delivered": 9},
            "errors_last_day": {"count": 20, "by_kind": {"http": 20}, "recent": [
                {"at": "2026-12-01T00:00:00+00:00", "kind": "http", "channel": "chan_01000", "message": "HTTP 502"}]}}


def test_twenty_thousand_channels_fit_on_a_screen_with_the_problems_first():
    lines = format_status(_status(20_000))
    assert len(lines) < 60
    assert lines[0].startswith("errors in the last day: 20") and lines[2].startswith("alert backlog: 3 pending")
    assert any(line.startswith("channels: 20000 (20000 watched), 20 with a last error") for line in lines)
    assert sum(1 for line in lines if line.startswith("  chan_")) == 20  # only the failing ones
    everything = format_status(_status(20_000), channels=True)
    assert sum(1 for line in everything if line.startswith("  chan_")) == 20_000
