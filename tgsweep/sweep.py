"""One sweep, start to end: collect, then each later stage, with progress and a summary."""
from __future__ import annotations

import functools
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from crawler.web.spider import SweepStats
from crawler.web.stage import run_async, sweep_web
from detectors.automation.stage import detect_automation
from detectors.bots.stage import detect_bots
from detectors.media.stage import enrich_media, fingerprint_fetched
from graph.alerts.delivery import deliver_alerts
from graph.stage import run_graph_stage
from store import open_store
from store.sqlite import Store  # the type; open_store may give the PostgreSQL one (same interfaces)
from tgsweep.config import Config
from tgsweep.summaries import alerts_line, automation_line, graph_lines, media_line

log = logging.getLogger(__name__)

# The pipeline after collection, in data-flow order: each stage is `(store, config) -> counts`.
# enrich before detect (a bank match names its cluster), graph after detect (it reads the verdicts),
# deliver last (after every stage that raises alerts).
PIPELINE: tuple[tuple[str, Callable[[Any, Config], Awaitable[dict]]], ...] = (
    ("enrich", enrich_media),
    ("detect", detect_bots),
    ("automation", detect_automation),
    ("graph", run_graph_stage),
    ("deliver", deliver_alerts),
)
STAGES = tuple(name for name, _ in PIPELINE)


@dataclass
class SweepResult:
    sweep_id: int
    status: str
    seconds: float
    stats: SweepStats
    database: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    bots: dict[str, int] = field(default_factory=dict)  # detect stage counts (detectors.bots.stage.detect_bots)
    media: dict[str, Any] = field(default_factory=dict)  # enrich stage counts (detectors.media.stage.enrich_media)
    automation: dict[str, Any] = field(default_factory=dict)  # detectors.automation.stage.detect_automation
    alerts: dict[str, Any] = field(default_factory=dict)  # deliver stage counts (graph.alerts.delivery.deliver_alerts)
    graph: dict[str, Any] = field(default_factory=dict)  # graph stage counts (graph.stage.run_graph_stage)
    telethon: Any = None  # `--source all`: the Telethon sweep's (sweep id, stats, seconds) beside the web one


async def sweep_once(config: Config, channels: list[str] | None = None, progress: bool = False,
                     source: str = "web", telethon_client: Any = None, group: str | None = None,
                     discovered: bool = False, stages: tuple[str, ...] = STAGES) -> SweepResult:
    """Collect (web previews, Telethon or both, into one store) and read back what the sweep recorded.

    With Telethon, the login is checked before anything is collected (NotLoggedIn: `tgsweep login`).
    `group`: one `[[watch.groups]]` group's channels; `discovered`: the channels discovery found
    (`tgsweep sweep --discovered`). With `[discovery] interval_minutes` > 0 other sweeps only note
    the references they see: sweeping them is the `discover` job's (crawler.web.stage.sweep_web).
    `stages`: the later stages to run (distributed mode runs the store-wide ones as jobs of their own).
    """
    store = await open_store(config.storage.database, config.storage.url_value)
    tg_sweep = client = None
    try:
        if source in ("telethon", "all"):
            from crawler.telethon.client import build_client, ensure_authorised

            client = telethon_client or build_client(config)
            await ensure_authorised(client, config)
        fingerprint = functools.partial(fingerprint_fetched, store, config)  # hash-only mode, before bytes go
        with _progress(progress) as show:
            if source in ("web", "all"):
                sweep_id, stats, seconds = await sweep_web(config, store, channels, show, group, discovered,
                                                           fingerprint)
            if client is not None:
                from crawler.telethon.collect import sweep_telethon

                tg_sweep = await sweep_telethon(config, store, client, channels, show, group=group,
                                                discovered=discovered, fingerprint=fingerprint)
                if source == "telethon":
                    sweep_id, stats, seconds = tg_sweep
                    tg_sweep = None
            stage = getattr(show, "stage", None)
            counts = {name: await run_stage(name, run, store, config, sweep_id, stage) if name in stages else {}
                      for name, run in PIPELINE}
        ids = [sweep_id] + ([tg_sweep[0]] if tg_sweep is not None else [])  # --source all: both sweeps count
        statuses, errors = await store.sweep_outcome(ids)
        status = next((s for s in statuses if s != "ok"), statuses[-1])  # the Telethon sweep's, unless ok
    finally:
        if client is not None:
            await client.disconnect()
        await store.close()
    return SweepResult(sweep_id, status, seconds, stats, str(config.storage.database), errors, counts["detect"],
                       counts["enrich"], automation=counts["automation"], alerts=counts["deliver"],
                       graph=counts["graph"], telethon=tg_sweep)


async def run_stage(name: str, work: Callable[[Store, Config], Awaitable[dict]], store: Store, config: Config,
                 sweep_id: int, show: Callable[[str], None] | None = None) -> dict:
    """Run one stage after collection; a failure is recorded on the sweep, what was collected stays.
    Its wall seconds are logged ("<stage> stage: S s"): a unit sees which stage a long sweep spends on."""
    if show is not None:
        show(name)
    started = time.monotonic()
    try:
        return await work(store, config)
    except Exception as exc:  # noqa: BLE001 - one stage failing must not lose the sweep's summary
        log.exception("%s stage failed", name)
        await store.record_error(sweep_id, name, f"{name} stage failed: {exc!r}")
        return {}
    finally:
        log.info("%s stage: %.1f s", name, time.monotonic() - started)


def run_sweep(config: Config, channels: list[str] | None = None, progress: bool = True, source: str = "web",
              telethon_client: Any = None, group: str | None = None, discovered: bool = False,
              stages: tuple[str, ...] = STAGES) -> SweepResult:
    return run_async(lambda: sweep_once(config, channels, progress, source, telethon_client, group, discovered,
                                        stages))




class _progress:
    """Progress to the end of the sweep, on stderr: on a terminal one live display (channels with
    rate and time left, then each later stage), log lines printed above it; elsewhere a plain line
    a minute. `update(stats)` for collection, `stage(name)` when a later stage starts."""

    PLAIN_EVERY = 60.0

    def __init__(self, enabled: bool):
        console = Console(stderr=True)
        self.requested = enabled
        self.enabled = enabled and console.is_terminal
        self.bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), TimeElapsedColumn(),
                            console=console, transient=True)
        self.task = self.stage_task = None
        self.started = time.monotonic()
        self.last_plain = self.started
        self.streams: list[tuple[logging.StreamHandler, Any]] = []

    def __enter__(self):
        if not self.requested:
            return None
        if self.enabled:
            self.bar.start()  # Live redirects sys.stderr: log handlers are pointed at it, so lines print above
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stderr__, sys.stderr):
                    self.streams.append((handler, handler.setStream(sys.stderr)))
            self.task = self.bar.add_task("sweeping", total=None, detail="")
        return self

    def __call__(self, stats: SweepStats) -> None:
        self.update(stats)

    def update(self, stats: SweepStats) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        total = stats.total or len(stats.channels) or None
        rate = f"{stats.pages / elapsed:.1f} pages/s"
        detail = (f"{stats.pages} pages ({rate}), {stats.new_posts} new posts, {stats.media_stored} media, "
                  f"{stats.errors + stats.media_errors} errors")
        if self.enabled:
            self.bar.update(self.task, total=total, completed=stats.channels_done, detail=detail)
        elif time.monotonic() - self.last_plain >= self.PLAIN_EVERY:
            self.last_plain = time.monotonic()
            print(f"sweeping: {stats.channels_done}/{total or '?'} channels, {detail}", file=sys.stderr, flush=True)

    def stage(self, name: str) -> None:
        number = STAGES.index(name) + 1 if name in STAGES else 0
        if self.enabled:
            if self.stage_task is None:
                self.stage_task = self.bar.add_task("stages", total=len(STAGES), detail="")
            self.bar.update(self.stage_task, completed=number - 1, detail=f"{name} ({number}/{len(STAGES)})")
        else:
            print(f"stage {name} ({number}/{len(STAGES)})", file=sys.stderr, flush=True)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            for handler, stream in self.streams:
                handler.setStream(stream)
            self.bar.stop()


def outcome(result: SweepResult) -> str:
    """What the summary line says and the exit status means: ok (exit 0), problems (done with recorded
    errors, exit 1), or the sweep's own status (interrupted, failed: exit 1)."""
    tg_errors = result.telethon[1].errors if result.telethon else 0
    if result.status != "ok":
        return result.status
    return "problems" if result.stats.errors or tg_errors else "ok"  # media errors are on their items


def print_summary(result: SweepResult, console: Console) -> None:
    s = result.stats
    planned = max(s.total, len(s.channels))
    channels = (f"{s.channels_done} of {planned} channels" if s.channels_done < planned
                else f"{planned} channels")
    console.print(f"sweep {result.sweep_id} {outcome(result)} in {result.seconds:.1f} s: "
                  f"{channels}, {s.pages} pages, {s.new_posts} new posts, "
                  f"{s.media_stored} media stored, {s.media_errors} media errors, {s.errors} other errors, "
                  f"{s.retries} retries")
    if s.no_preview:
        console.print(f"  no public preview: {', '.join(sorted(s.no_preview))}")
    _print_telethon(result, console)
    for channel, why in s.discovered:
        console.print(f"  discovered {channel} ({why})")
    if result.media:
        console.print(f"  {media_line(result.media)}")
    if result.bots:
        b = result.bots
        console.print(f"  bots: {b['bots_scored']} scored: {b['deepfake_generator']} deepfake_generator, "
                      f"{b['benign']} benign, {b['unknown']} unknown ({b['overridden']} by analysts); "
                      f"{b['mirrors']} mirror links")
    if result.automation:
        console.print(f"  {automation_line(result.automation)}")
    if result.graph:
        console.print("  " + graph_lines(result.graph, top=0)[0])
    if result.alerts:
        console.print(f"  {alerts_line(result.alerts)}")
    for e in result.errors[:20]:
        console.print(f"  error [{e['kind']}] {e['channel'] or ''} {e['message']}")
    if len(result.errors) > 20:
        console.print(f"  ... {len(result.errors) - 20} more errors (table sweep_errors)")
    console.print(f"  database: {result.database}")


def _print_telethon(result: SweepResult, console: Console) -> None:
    """What only the Telethon collector reports: requests, flood waits, skipped channels; the `all` sweep's line."""
    if result.telethon:
        sweep_id, s, seconds = result.telethon
        console.print(f"  telethon sweep {sweep_id} in {seconds:.1f} s: {len(s.channels)} channels, {s.pages} pages, "
                      f"{s.new_posts} new posts, {s.media_stored} media stored, {s.media_errors} media errors, "
                      f"{s.errors} other errors")
    stats = result.telethon[1] if result.telethon else result.stats
    if hasattr(stats, "requests"):
        requests = ", ".join(f"{n} {k}" for k, n in sorted(stats.requests.items())) or "none"
        console.print(f"  telethon requests: {requests}; {stats.bots_profiled} bot profiles, {stats.profiles} channel profiles")
        for wait in stats.flood_waits:
            console.print(f"  flood wait recorded: {wait}")
        for skipped in stats.skipped:
            console.print(f"  skipped {skipped}")
