"""The work queue of distributed mode: Procrastinate, kept in the store's own PostgreSQL (store/work.py: WorkQueue).

Why Procrastinate: a queue kept in PostgreSQL (no other server), asyncio-native, with what distributed
collection needs: a `lock` (no two jobs of one batch run at once), a `queueing_lock` (one pending job
per batch), periodic jobs deferred once per period whatever the number of workers, and worker
heartbeats (a dead worker's jobs are found and run again). Should it fall short, Dramatiq with a
Redis mutex is the documented fallback: only this module knows which queue runs. What the jobs do
is the shell's (tgsweep/work/tasks.py), handed in as a Procrastinate blueprint.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from store.postgres.database import conninfo

SCHEMA_LOCK = 7_413_009  # advisory lock: one process creates Procrastinate's tables
DISPATCH_LOCK = 7_413_010  # advisory lock: one dispatcher pass at a time


def build_app(url: str, blueprint: Any, tick_seconds: float) -> Any:
    """The Procrastinate app on the store's database, with the blueprint's tasks and its `tick` made periodic."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url), min_size=1,
                                                                     max_size=4))
    app.add_tasks_from(blueprint, namespace="tgsweep")
    tick = int(tick_seconds)
    # croniter: a sixth column is the seconds
    cron = f"* * * * * */{tick}" if tick < 60 else f"*/{max(1, tick // 60)} * * * *"
    app.periodic(cron=cron, periodic_id="tick")(app.tasks["tgsweep:tick"])
    return app


class ProcrastinateQueue:
    """WorkQueue on an open Procrastinate app."""

    @staticmethod
    @asynccontextmanager
    async def exclusive(url: str) -> AsyncIterator[bool]:
        """True while this process alone dispatches (a session advisory lock: released by PostgreSQL when a
        killed dispatcher's connection ends). Not Procrastinate's job `lock`: a tick killed while running keeps
        that lock until its job is retried, and retrying stalled jobs is the tick's own work: it would wait forever."""
        import psycopg

        async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as conn:
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (DISPATCH_LOCK,))).fetchone()
            yield bool(row and row[0])

    def __init__(self, app: Any):
        self.app = app

    async def ensure_schema(self) -> bool:
        """Procrastinate's tables in the store's database, created once (by whichever process comes first)."""
        connector = self.app.connector
        await connector.execute_query_async(f"SELECT pg_advisory_lock({SCHEMA_LOCK})")
        try:
            rows = await connector.execute_query_all_async("SELECT to_regclass('procrastinate_jobs') IS NOT NULL "
                                                           "AS present")
            if rows[0]["present"]:
                return False
            await self.app.schema_manager.apply_schema_async()
            return True
        finally:
            await connector.execute_query_async(f"SELECT pg_advisory_unlock({SCHEMA_LOCK})")

    async def defer_collect(self, bucket: int, channels: list[str]) -> bool:
        import procrastinate.exceptions

        key = f"collect_web:{bucket}"
        try:
            await self.app.tasks["tgsweep:collect_web"].configure(lock=key, queueing_lock=key).defer_async(
                bucket=bucket, channels=channels)
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        return True

    async def defer_analysis(self) -> bool:
        import procrastinate.exceptions

        try:
            await self.app.tasks["tgsweep:analyse"].configure(lock="analysis", queueing_lock="analysis").defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        return True

    async def retry_stalled(self, seconds: float) -> tuple[int, list[str]]:
        import procrastinate.exceptions
        from procrastinate.jobs import Status

        manager = self.app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
        given_back: list[str] = []
        for job in stalled:
            try:
                await manager.retry_job(job)
            except procrastinate.exceptions.UniqueViolation:
                # a newer job of the same batch waits already (one pending job per queueing lock): this one
                # ends as failed and its channels go back to the dispatcher, for the next tick
                await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
                given_back += list(job.task_kwargs.get("channels", []))
        await manager.prune_stalled_workers(seconds)
        return len(stalled), given_back

    async def overview(self, stalled_seconds: float) -> dict[str, Any]:
        connector, manager = self.app.connector, self.app.job_manager
        workers = [dict(r) for r in await connector.execute_query_all_async(
            "SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")]
        running = [{"id": j.id, "task": j.task_name, "lock": j.lock, "worker": j.worker_id, "queue": j.queue}
                   for j in await manager.list_jobs_async(status="doing")]
        stalled = [j.id for j in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds)]
        return {"workers": workers, "queues": list(await manager.list_queues_async()), "running": running,
                "stalled": stalled}
