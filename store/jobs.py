"""The job history interface: the scheduled service's record of each job run (`job_runs`)."""
from __future__ import annotations

from typing import Any, Protocol


class JobRuns(Protocol):
    """Written by the service (scheduler.py), read by `tgsweep status`; implemented by
    store.sqlite.jobs.JobHistory on the jobs database beside APScheduler's job store."""

    def mark_lost(self) -> int:
        """Runs a previous service left running (it was killed) are marked lost; returns how many."""

    def start(self, job: str) -> int:
        """A new run of `job`, running; returns its id."""

    def update(self, run: int, **fields: Any) -> None:
        """Set fields of a run (status, pid, exit_code, sweep_id, detail); a finished status stamps finished_at."""

    def close(self) -> None:
        """Close the jobs database."""
