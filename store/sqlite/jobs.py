"""SQL of the service's job database: `job_runs` beside APScheduler's own job table, a file apart
from the store (`[schedule] jobs_database`), written by the service and read by `tgsweep status`."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from store.records import now

JOBS_TABLE = "apscheduler_jobs"  # APScheduler's SQLAlchemyJobStore table: id, next_run_time (epoch), job_state
RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_runs (   -- one row per job run, written by the service
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,          -- job id, e.g. sweep_web
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,          -- running, ok, problems, interrupted, timeout, failed, killed, lost
    pid         INTEGER,                -- the child process
    exit_code   INTEGER,
    sweep_id    INTEGER,                -- the sweeps row the child reported
    detail      TEXT                    -- the child's summary line, or what went wrong
);
CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs(job, id);
"""
# How a finished run is named: the child's exit code and the sweep's own status.
FINISHED = ("ok", "problems", "interrupted", "timeout", "failed", "killed", "lost")


class JobHistory:
    """`job_runs` in the jobs database: written by the service, read by `tgsweep status`."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(RUNS_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def mark_lost(self) -> int:
        """Runs a previous service left 'running' (it was killed): what they committed is in the store."""
        return self.db.execute(
            "UPDATE job_runs SET status='lost', finished_at=?, detail=? WHERE status='running'",
            (now(), "the service stopped before this run ended (killed?); what the run committed is kept"),
        ).rowcount

    def start(self, job: str) -> int:
        run = self.db.execute("INSERT INTO job_runs(job, started_at, status) VALUES (?, ?, 'running')",
                              (job, now())).lastrowid
        assert run is not None  # an INSERT sets it
        return run

    def update(self, run: int, **fields: Any) -> None:
        if fields.get("status") in FINISHED:
            fields.setdefault("finished_at", now())
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE job_runs SET {sets} WHERE id=?", (*fields.values(), run))


def read_jobs(jobs_database: Path) -> tuple[dict[str, float | None], dict[str, dict[str, Any]]]:
    """(next run time as epoch per job id, last run per job id) from the jobs database; empty if none."""
    if not jobs_database.exists():
        return {}, {}
    db = sqlite3.connect(jobs_database, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        next_runs = ({r[0]: r[1] for r in db.execute(f"SELECT id, next_run_time FROM {JOBS_TABLE}")}
                     if JOBS_TABLE in tables else {})
        last_runs = ({r["job"]: dict(r) for r in db.execute(
            "SELECT * FROM job_runs WHERE id IN (SELECT max(id) FROM job_runs GROUP BY job)")}
            if "job_runs" in tables else {})
    finally:
        db.close()
    return next_runs, last_runs
