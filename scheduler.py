"""The scheduled service (`tgsweep run`): APScheduler in the running asyncio loop, thin jobs.

One `AsyncIOScheduler`, started inside the service's asyncio loop, with its job store in its
own SQLite file (`[schedule] jobs_database`, table `apscheduler_jobs`). Every job has a fixed
id and is re-registered at each start with `replace_existing=True`; the run time stored by
the previous start is kept (capped at one interval from now), so a restart neither loses a
due run (`misfire_grace_time`: a run missed by less than that still happens once, `coalesce`)
nor runs everything again. `max_instances=1`: a job never overlaps itself.

Jobs are thin and take ids, not clients: a config path, a source name. The sweep job runs
`tgsweep sweep` in a child process, which gives crash isolation (a sweep that raises, hangs
or is killed does not take the service down) and a fresh Twisted reactor per sweep (no
ReactorNotRestartable). A child still running after `sweep_timeout_minutes` gets SIGTERM
(it commits what it has and marks itself interrupted), then SIGKILL after
`stop_grace_seconds`. Children die with the service (PR_SET_PDEATHSIG: SIGTERM), so a
`kill -9` of the service leaves no orphan sweep behind.

The service records each job run in `job_runs`, beside the job store (started, finished,
status, child pid and exit code, the sweep id), which `tgsweep status` reads.
"""
from __future__ import annotations

import asyncio
import ctypes
import fcntl
import logging
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from store.sqlite.jobs import JobHistory, read_jobs
from tgsweep.config import Config
from tgsweep.logs import RUN_ENV, bind_task

log = logging.getLogger("tgsweep.scheduler")



def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def lock_path(jobs_database: Path) -> Path:
    return jobs_database.with_name(jobs_database.name + ".lock")


# -- jobs: what is scheduled -----------------------------------------------------------------------

@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: a fixed id, a module-level coroutine function and its id arguments."""

    id: str
    func: Callable[..., Awaitable[None]]
    kwargs: dict[str, Any]
    every: timedelta
    timeout: float  # seconds before a run is stopped
    about: str


def job_specs(config: Config) -> list[JobSpec]:
    """The jobs this configuration schedules. Only stages that exist are registered.

    Hook points for the stages other issues build: each adds one JobSpec here when it lands,
    calling `cli_job` with its command (a child process, like the sweep) or its own thin job
    function, with an interval setting of its own:

    - media enrichment: runs inside every sweep now (tgsweep/sweep.py); its own job
      (`enrich_media`) only if it needs a schedule of its own
    - graph rebuild and escalation                                   `rebuild_graph`
    - alert delivery from the outbox                                 `deliver_alerts`
    - bot profile refresh                                            `refresh_profiles`
    - re-check of escalated URLs, takedown latency                   `recheck_takedowns`
    - the Telethon sweep, on its own interval                        `sweep_telethon`
    - per watchlist group and source (sweep_specs)                   `sweep_web_<group>`, `sweep_telethon_<group>`
    - discovery, with `[discovery] interval_minutes` > 0             `discover`
    """
    path = str(Path(config.source).resolve()) if config.source else "config.toml"
    schedule = config.schedule
    specs = [
        *sweep_specs(config, path),
        JobSpec("refresh_profiles", cli_job,
                {"config_path": path, "job_id": "refresh_profiles", "argv": ["bots", "refresh"]},
                timedelta(minutes=schedule.bot_refresh_minutes), schedule.sweep_timeout_minutes * 60,
                "re-read stale bot profiles and re-score every bot (`tgsweep bots refresh`)"),
        JobSpec("recheck_takedowns", cli_job,
                {"config_path": path, "job_id": "recheck_takedowns", "argv": ["takedown", "check"]},
                timedelta(minutes=schedule.takedown_check_minutes), schedule.sweep_timeout_minutes * 60,
                "re-check escalated posts, record takedowns and their latency (`tgsweep takedown check`)"),
        *([JobSpec("deliver_alerts", cli_job,  # only with somewhere to deliver to ([[alerts.sinks]])
                   {"config_path": path, "job_id": "deliver_alerts", "argv": ["alerts", "deliver"]},
                   timedelta(minutes=config.alerts.deliver_interval_minutes), schedule.sweep_timeout_minutes * 60,
                   "deliver due alerts from the outbox to the sinks, retrying failed ones (`tgsweep alerts deliver`)")]
          if config.alerts.sinks else []),
        JobSpec("rebuild_graph", cli_job,
                {"config_path": path, "job_id": "rebuild_graph", "argv": ["graph", "build"]},
                timedelta(minutes=config.graph.interval_minutes), schedule.sweep_timeout_minutes * 60,
                "build the graph, analyse it, score escalations and queue their alerts (`tgsweep graph build`)"),
    ]
    if config.media.bank_sources:  # hash lists kept elsewhere follow their files
        specs.append(JobSpec("sync_banks", cli_job, {"config_path": path, "job_id": "sync_banks", "argv": ["media", "sync"]},
                             timedelta(minutes=schedule.bank_sync_minutes), schedule.sweep_timeout_minutes * 60,
                             "sync every [media] bank_sources list into its bank (`tgsweep media sync`)"))
    if config.discovery.enabled and config.discovery.interval_minutes > 0:  # else inside every sweep
        specs.append(JobSpec("discover", cli_job,
                             {"config_path": path, "job_id": "discover",
                              "argv": ["sweep", "--no-progress", "--source", "web", "--discovered"]},
                             timedelta(minutes=config.discovery.interval_minutes), schedule.sweep_timeout_minutes * 60,
                             "sweep the channels discovery found, following references up to max_depth "
                             "(`tgsweep sweep --discovered`)"))
    return specs


def sweep_specs(config: Config, path: str) -> list[JobSpec]:
    """One sweep job per watchlist group and source, each on its own interval (jitter: [schedule]).

    The default group ([watch] channels and `tgsweep watch add`, less the grouped channels) keeps
    the ids `sweep_web` and `sweep_telethon`; a `[[watch.groups]]` group NAME gets `sweep_web_NAME`
    and `sweep_telethon_NAME`. Telethon jobs only with api_id and api_hash configured.
    """
    timeout = config.schedule.sweep_timeout_minutes * 60
    specs = [JobSpec("sweep_web", sweep_job, {"config_path": path, "source": "web"},
                     timedelta(minutes=config.watch.interval_minutes), timeout,
                     "web sweep of the watchlist: collect, then every later stage (`tgsweep sweep`)")]
    if config.telethon.configured:  # only with api_id and api_hash: the unit's account collects too
        specs.append(JobSpec("sweep_telethon", sweep_job, {"config_path": path, "source": "telethon"},
                             timedelta(minutes=config.telethon.interval_minutes), timeout,
                             "Telethon sweep of the watchlist with the unit's account, then every later stage "
                             "(`tgsweep sweep --source telethon`)"))
    for group in config.watch.groups:
        for source in group.sources:
            if source == "telethon" and not config.telethon.configured:
                continue
            specs.append(JobSpec(f"sweep_{source}_{group.name}", sweep_job,
                                 {"config_path": path, "source": source, "group": group.name},
                                 timedelta(minutes=group.interval_minutes), timeout,
                                 f"{source} sweep of watchlist group {group.name}, then every later stage "
                                 f"(`tgsweep sweep --source {source} --group {group.name}`)"))
    return specs


async def sweep_job(config_path: str, source: str = "web", group: str | None = None) -> None:
    """Scheduled sweep: `tgsweep sweep --source SOURCE [--group NAME]` in a child process."""
    job_id = f"sweep_{source}" + (f"_{group}" if group else "")
    await cli_job(config_path, job_id, ["sweep", "--no-progress", "--source", source,
                                        *(["--group", group] if group else [])])


async def cli_job(config_path: str, job_id: str, argv: list[str]) -> None:
    """Any stage as a child process: `python -m tgsweep.cli --config PATH ARGV...`."""
    await current_service().run_child(job_id, config_path, argv)


def service_pid(jobs_database: Path) -> int | None:
    """The pid of the service running on this jobs database, or None when none is."""
    path = lock_path(jobs_database)
    if not path.exists():
        return None
    with open(path, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


# -- the service ---------------------------------------------------------------------------------

_service: "Service | None" = None


def current_service() -> "Service":
    if _service is None:
        raise RuntimeError("scheduled jobs run inside `tgsweep run` (no service in this process)")
    return _service


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the service dies, even by kill -9 (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: children may outlive a killed service
        pass


_SUMMARY = re.compile(r"^sweep (\d+) (\w+) in ", re.M)


@dataclass
class Service:
    config: Config
    children: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)  # run id -> child
    tasks: set[asyncio.Task] = field(default_factory=set)
    stopping: bool = False
    timeouts: dict[str, float] = field(default_factory=dict)

    async def run(self) -> int:
        global _service
        schedule = self.config.schedule
        lock = self._lock()
        if lock is None:
            return 2
        self.history = JobHistory(schedule.jobs_database)
        lost = self.history.mark_lost()
        if lost:
            log.warning("%d job run(s) of a previous service never finished (it was killed); "
                        "the next runs resume from the cursors", lost)
        _service = self
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda s=sig: (log.info("%s: stopping", signal.Signals(s).name),
                                                        stop.set()))
        scheduler = self._scheduler()
        try:
            scheduler.start(paused=True)
            self._register(scheduler)
            scheduler.resume()
            await stop.wait()
            self.stopping = True
            scheduler.pause()  # nothing new starts
            await self._stop_children()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            self.history.close()
            _service = None
            lock.close()
        log.info("service stopped")
        return 0

    def _lock(self):
        """One service per jobs database: an exclusive lock on <jobs_database>.lock, with our pid."""
        path = lock_path(self.config.schedule.jobs_database)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
        deadline = time.monotonic() + 2  # `tgsweep status` may hold a shared lock for a moment
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.seek(0)
                    other = handle.read().strip() or "?"
                    handle.close()
                    log.error("another service runs on %s (pid %s); not starting a second one",
                              self.config.schedule.jobs_database, other)
                    return None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def _scheduler(self):
        from apscheduler.executors.asyncio import AsyncIOExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        schedule = self.config.schedule
        return AsyncIOScheduler(
            timezone=timezone.utc,
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{schedule.jobs_database}")},
            executors={"default": AsyncIOExecutor()},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": max(1, round(schedule.misfire_grace_minutes * 60))},
        )

    def _register(self, scheduler) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        schedule = self.config.schedule
        stored, _ = read_jobs(schedule.jobs_database)
        specs = job_specs(self.config)
        at = datetime.now(timezone.utc)
        for spec in specs:
            self.timeouts[spec.id] = spec.timeout
            first = at  # a new job runs at once
            if stored.get(spec.id):  # keep the schedule across restarts, within one interval from now
                first = min(datetime.fromtimestamp(stored[spec.id], timezone.utc), at + spec.every)
            scheduler.add_job(
                spec.func, IntervalTrigger(seconds=spec.every.total_seconds(), jitter=schedule.jitter_seconds or None,
                                           timezone=timezone.utc),
                id=spec.id, name=spec.id, kwargs=spec.kwargs, replace_existing=True, next_run_time=first,
                coalesce=True, max_instances=1,
                misfire_grace_time=max(1, round(schedule.misfire_grace_minutes * 60)),
            )
            log.info("job %s: every %g min, next run %s: %s", spec.id, spec.every.total_seconds() / 60,
                     first.isoformat(timespec="seconds"), spec.about)
        for job in scheduler.get_jobs():
            if job.id not in {s.id for s in specs}:
                log.info("job %s is no longer configured: removed", job.id)
                job.remove()

    async def run_child(self, job_id: str, config_path: str, argv: list[str]) -> None:
        """Run `tgsweep ARGV` as a child; record it; stop it after the job's timeout."""
        if self.stopping:
            return
        run = self.history.start(job_id)
        bind_task(job=job_id, run=run)
        task = asyncio.current_task()
        self.tasks.add(task)
        timeout = self.timeouts.get(job_id, self.config.schedule.sweep_timeout_minutes * 60)
        started = time.monotonic()
        timed_out = False
        status, code, sweep_id, detail = "failed", None, None, None
        try:
            env = dict(os.environ, **{RUN_ENV: f"{job_id}:{run}"})
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tgsweep.cli", "--config", config_path, *argv,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=None, env=env,
                preexec_fn=die_with_parent)
            self.children[run] = child
            self.history.update(run, pid=child.pid)
            log.info("job %s run %d: started child %d: tgsweep %s", job_id, run, child.pid, " ".join(argv))
            if self.stopping:  # the service was told to stop while this child was starting
                child.send_signal(signal.SIGTERM)
            output = asyncio.ensure_future(child.stdout.read())
            try:
                await asyncio.wait_for(asyncio.shield(child.wait()), timeout)
            except asyncio.TimeoutError:
                timed_out = True
                log.error("job %s run %d: still running after %.0f s: stopping it", job_id, run, timeout)
                await self._stop_child(child)
            code = child.returncode
            out = (await output).decode("utf-8", "replace")
            summary = _SUMMARY.search(out)
            sweep_id = int(summary.group(1)) if summary else None
            detail = (summary.group(0) + out[summary.end():].split("\n", 1)[0]) if summary else out.strip()[-500:]
            if timed_out:
                status = "timeout"
            elif summary and summary.group(2) == "interrupted":
                status = "interrupted"
            elif code == 0:
                status = "ok"
            elif code is not None and code < 0:
                status = "interrupted" if self.stopping and code == -signal.SIGTERM else "killed"
            elif code == 1 and summary and summary.group(2) == "ok":
                status = "problems"  # done, with errors recorded in sweep_errors
        except Exception as exc:  # noqa: BLE001 - a job failing must not take the service down
            log.exception("job %s run %d failed", job_id, run)
            detail = f"{type(exc).__name__}: {exc}"
        finally:
            self.children.pop(run, None)
            self.history.update(run, status=status, exit_code=code, sweep_id=sweep_id, detail=(detail or "")[:1000])
            self.tasks.discard(task)
        level = logging.INFO if status == "ok" else logging.WARNING
        log.log(level, "job %s run %d: %s in %.1f s (exit %s, sweep %s): %s", job_id, run, status,
                time.monotonic() - started, code, sweep_id, detail)

    async def _stop_child(self, child: asyncio.subprocess.Process) -> None:
        """SIGTERM (the sweep commits what it has, marks itself interrupted), SIGKILL after the grace."""
        if child.returncode is not None:
            return
        try:
            child.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.shield(child.wait()), self.config.schedule.stop_grace_seconds)
        except asyncio.TimeoutError:
            log.error("child %d did not stop within %.0f s of SIGTERM: killed", child.pid,
                      self.config.schedule.stop_grace_seconds)
            child.kill()
            await child.wait()
        except ProcessLookupError:
            pass

    async def _stop_children(self) -> None:
        children = list(self.children.values())
        if children:
            log.info("stopping %d running job(s)", len(children))
        await asyncio.gather(*(self._stop_child(c) for c in children))
        if self.tasks:  # let the jobs record how their runs ended
            await asyncio.wait(set(self.tasks), timeout=10)


def run_service(config: Config) -> int:
    """`tgsweep run`: the service, until SIGINT or SIGTERM; 0 after a clean stop."""
    return asyncio.run(Service(config).run())
