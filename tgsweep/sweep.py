"""One sweep, start to end: collect, then each later stage, with progress and a summary."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crawler.spider import SweepStats
from crawler.store import Store
from crawler.web_sweep import run_async, sweep_web
from tgsweep.config import Config

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    sweep_id: int
    status: str
    seconds: float
    stats: SweepStats
    database: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    bots: dict[str, int] = field(default_factory=dict)  # detect stage counts (detectors.stage.detect_bots)
    media: dict[str, Any] = field(default_factory=dict)  # enrich stage counts (detectors.enrich.enrich_media)


async def sweep_once(config: Config, channels: list[str] | None = None, progress: bool = False) -> SweepResult:
    """Collect from the web previews into the store and read back what the sweep recorded."""
    store = await Store.open(config.storage.database)
    try:
        with _progress(progress) as show:
            sweep_id, stats, seconds = await sweep_web(config, store, channels, show)
        from detectors.enrich import enrich_media
        from detectors.stage import detect_bots

        media = await _stage("enrich", enrich_media, store, config, sweep_id)
        bots = await _stage("detect", detect_bots, store, config, sweep_id)
        row = await store.fetchone("SELECT status FROM sweeps WHERE id=?", (sweep_id,))
        errors = [dict(r) for r in await store.fetchall(
            "SELECT kind, channel, url, message FROM sweep_errors WHERE sweep_id=? ORDER BY id", (sweep_id,))]
    finally:
        await store.close()
    return SweepResult(sweep_id, row[0], seconds, stats, str(config.storage.database), errors, bots, media)


async def _stage(name: str, work: Callable[[Store, Config], Awaitable[dict]], store: Store, config: Config,
                 sweep_id: int) -> dict:
    """Run one stage after collection; a failure is recorded on the sweep, what was collected stays."""
    try:
        return await work(store, config)
    except Exception as exc:  # noqa: BLE001 - one stage failing must not lose the sweep's summary
        log.exception("%s stage failed", name)
        await store.record_error(sweep_id, name, f"{name} stage failed: {exc!r}")
        return {}


def run_sweep(config: Config, channels: list[str] | None = None, progress: bool = True) -> SweepResult:
    return run_async(lambda: sweep_once(config, channels, progress))


class _progress:
    """A live progress line on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, enabled: bool):
        console = Console(stderr=True)
        self.enabled = enabled and console.is_terminal
        self.bar = Progress(TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(), TextColumn("channels"),
                            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console,
                            transient=True)
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=None, detail="")
        return self.update

    def update(self, stats: SweepStats) -> None:
        self.bar.update(self.task, total=len(stats.channels), completed=stats.channels_done,
                        detail=f"{stats.pages} pages, {stats.new_posts} new posts, {stats.media_stored} media, "
                               f"{stats.errors + stats.media_errors} errors")

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.stop()


def print_summary(result: SweepResult, console: Console) -> None:
    s = result.stats
    console.print(f"sweep {result.sweep_id} {result.status} in {result.seconds:.1f} s: "
                  f"{len(s.channels)} channels, {s.pages} pages, {s.new_posts} new posts, "
                  f"{s.media_stored} media stored, {s.media_errors} media errors, {s.errors} other errors, "
                  f"{s.retries} retries")
    if s.no_preview:
        console.print(f"  no public preview: {', '.join(sorted(s.no_preview))}")
    for channel, why in s.discovered:
        console.print(f"  discovered {channel} ({why})")
    if result.media:
        from detectors.enrich import summary_line

        console.print(f"  {summary_line(result.media)}")
    if result.bots:
        b = result.bots
        console.print(f"  bots: {b['bots_scored']} scored: {b['deepfake_generator']} deepfake_generator, "
                      f"{b['benign']} benign, {b['unknown']} unknown ({b['overridden']} by analysts); "
                      f"{b['mirrors']} mirror links")
    for e in result.errors[:20]:
        console.print(f"  error [{e['kind']}] {e['channel'] or ''} {e['message']}")
    if len(result.errors) > 20:
        console.print(f"  ... {len(result.errors) - 20} more errors (table sweep_errors)")
    console.print(f"  database: {result.database}")
