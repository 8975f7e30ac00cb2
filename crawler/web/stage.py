"""Running one web sweep: Scrapy settings from our config, the crawl, the sweep record."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any, Awaitable, Callable, TypeVar

from scrapy.crawler import AsyncCrawlerRunner
from scrapy.settings import Settings

from crawler.media import FingerprintHook, require_fingerprint
from crawler.warc import reconcile
from crawler.web.spider import SweepStats, TmeSpider
from store.collection import CollectionStore
from tgsweep.config import Config
from tgsweep.logs import bind

log = logging.getLogger(__name__)
T = TypeVar("T")
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def scrapy_settings(config: Config) -> Settings:
    """Scrapy components from our settings (Scrapy's own model: components built from settings)."""
    web = config.web
    return Settings({
        "TWISTED_REACTOR": REACTOR,
        "ROBOTSTXT_OBEY": False,  # t.me/s previews are public pages; we keep a polite per-host delay instead
        "USER_AGENT": web.user_agent,
        "DOWNLOAD_DELAY": web.request_delay,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": web.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": web.concurrent_requests,
        "DOWNLOAD_TIMEOUT": web.timeout,
        "DOWNLOAD_MAXSIZE": max(config.media.max_bytes, 50 * 1024 * 1024),
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": False,
        "REDIRECT_ENABLED": True,
        "RETRY_ENABLED": False,  # replaced by BackoffRetryMiddleware (Retry-After, soft rate limit)
        # every request meets the egress policy first, and again after each redirect
        "DOWNLOADER_MIDDLEWARES": {"crawler.egress.EgressMiddleware": 50, "crawler.retry.BackoffRetryMiddleware": 550},
        "DOWNLOAD_HANDLERS": {"file": None, "ftp": None, "s3": None, "data": None},
        "TGSWEEP_BASE_URL": web.base_url,
        "TGSWEEP_EGRESS_HOSTS": list(web.egress_hosts),
        "TGSWEEP_MAX_RETRIES": web.max_retries,
        "TGSWEEP_EMPTY_FEED_RETRIES": web.empty_feed_retries,
        "TGSWEEP_BACKOFF": web.backoff,
        "TGSWEEP_MAX_RETRY_AFTER": web.max_retry_after,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        # every response also written as WARC records (crawler/web/warc_capture.py)
        "EXTENSIONS": {"crawler.web.warc_capture.WarcCapture": 500},
        "TGSWEEP_WARC_DIR": str(config.storage.warc_dir) if config.storage.warc else "",
        "TGSWEEP_WARC_MAX_BYTES": config.storage.warc_max_bytes,
        "TGSWEEP_WARC_MEDIA": config.media.keep != "none",
    })


async def channels_to_sweep(store: CollectionStore, config: Config, only: list[str] | None, group: str | None = None,
                            discovered: bool = False) -> list[str]:
    """The watchlist (or the names given), plus channels discovery found before, when enabled.

    Read from the database at every sweep, so `tgsweep watch add|remove` takes effect without a
    restart: [watch] channels plus channels.watched = 1, minus channels removed with
    `tgsweep watch remove` (channels.unwatched_at set), which are not swept at all.
    Named groups (`[[watch.groups]]`, `group=NAME`) are swept apart: the default group (None) leaves
    their channels out. `discovered=True`: only the channels discovery found that are on no
    watchlist (the `discover` job, `[discovery] interval_minutes` > 0); discovered channels join a
    watchlist sweep only while that is 0.
    """
    if only:
        return only
    removed = await store.removed_channels()
    if group is not None:
        chosen = config.watch.group(group)
        return [name for name in (chosen.channels if chosen else []) if name not in removed]
    found = await store.discovered_channels(config.discovery.max_depth) if config.discovery.enabled else []
    if discovered:
        watching = set(config.watch.configured)
        return [name for name in found if name not in watching]
    names = [name for name in config.watch.channels if name not in removed]
    names += await store.watched_channels()
    if config.discovery.interval_minutes == 0:
        names += found
    grouped = config.watch.grouped
    return [name for name in dict.fromkeys(names) if name not in grouped]


async def sweep_web(config: Config, store: CollectionStore, channels: list[str] | None = None,
                    on_progress: Callable[[SweepStats], None] | None = None, group: str | None = None,
                    discovered: bool = False, fingerprint: FingerprintHook | None = None) -> tuple[int, SweepStats, float]:
    """Collect from the web previews into the store; returns (sweep id, stats, seconds).
    `fingerprint`: hash-only mode's hook (crawler/media.py)."""
    require_fingerprint(config, fingerprint)
    await store.watch(config.watch.configured)
    names = await channels_to_sweep(store, config, channels, group, discovered)
    sweep_id = await store.start_sweep("web")
    bind(sweep_id=sweep_id)  # every later log line of this sweep names it
    log.info("sweep %d started: %d channels", sweep_id, len(names))
    stats = SweepStats(total=len(names))
    runner = AsyncCrawlerRunner(scrapy_settings(config))
    crawler = runner.create_crawler(TmeSpider)
    started = time.monotonic()
    ticker = asyncio.create_task(_tick(stats, on_progress)) if on_progress else None
    status = "failed"
    stopping: list[asyncio.Future] = []
    stop = _on_signals(lambda: stopping or stopping.append(asyncio.ensure_future(_stop_when_running(runner, crawler))))
    try:
        # [discovery] interval_minutes > 0: only the `discover` job (--discovered) follows references
        follow = discovered or config.discovery.interval_minutes == 0
        await runner.crawl(crawler, store=store, config=config, sweep_id=sweep_id, channels=names, stats=stats,
                           follow_discovered=follow, fingerprint=fingerprint)
        reason = getattr(crawler.stats, "get_value", lambda *_: None)("finish_reason")
        status = "ok" if reason in (None, "finished") else "interrupted"
    finally:
        stop()
        for waiting in stopping:
            waiting.cancel()
        if ticker:
            ticker.cancel()
            on_progress(stats)
        elapsed = time.monotonic() - started
        await asyncio.shield(_record_raised(store, sweep_id, getattr(crawler, "spider", None), stats))
        summary = stats.as_dict() | {"seconds": round(elapsed, 2)}
        await asyncio.shield(close_warcs(config, store, sweep_id))
        await asyncio.shield(store.finish_sweep(sweep_id, status, summary))
        log.info("sweep %d %s in %.1f s: %d pages, %d new posts, %d errors", sweep_id, status, elapsed,
                 stats.pages, stats.new_posts, stats.errors + stats.media_errors)
    return sweep_id, stats, elapsed


async def _record_raised(store: CollectionStore, sweep_id: int, spider: Any, stats: SweepStats) -> None:
    """What a spider callback raised, as an `internal` error of the sweep: nothing ends silently. When
    the store itself fails (the usual cause), logged, and the sweep is still closed."""
    for channel, url, message in getattr(spider, "raised", []):
        stats.errors += 1
        try:
            await store.record_error(sweep_id, "internal", f"{message} while handling this response; what "
                                     "depended on it waits for the next sweep (a channel's paging resumes "
                                     "there)", channel, url)
        except Exception as exc:  # noqa: BLE001 - the store is failing: say so, close the sweep anyway
            log.error("sweep %d: %s (%s) could not be recorded: %s", sweep_id, message, url, exc)


async def close_warcs(config: Config, store: CollectionStore, sweep_id: int | None) -> None:
    """The crawl's WARC files are closed: enter them (and any a killed process left) in the custody chain."""
    if config.storage.warc:
        await reconcile(store, config.storage.warc_dir, sweep_id)


async def _stop_when_running(runner: AsyncCrawlerRunner, crawler: Any) -> None:
    """Stop the crawl once its engine runs. Scrapy loses a stop asked while the crawl is still
    starting (the crawler is marked stopped, the engine starts anyway and the crawl never ends),
    so a signal that arrives early waits for the engine."""
    while not (crawler._engine is not None and crawler._engine.running):
        await asyncio.sleep(0.02)
    await runner.stop()


async def _tick(stats: SweepStats, on_progress: Callable[[SweepStats], None]) -> None:
    while True:
        on_progress(stats)
        await asyncio.sleep(0.25)


def _on_signals(handler: Callable[[], Any]) -> Callable[[], None]:
    """SIGINT/SIGTERM stop the crawl cleanly (pages in flight are committed or not at all); the returned
    function puts back the handlers it replaced (`tgsweep collector`'s own, which releases the lease)."""
    loop = asyncio.get_running_loop()
    replaced: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        before = getattr(loop, "_signal_handlers", {}).get(sig)  # asyncio keeps no public accessor
        try:
            loop.add_signal_handler(sig, handler)
            replaced[sig] = before
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        for sig, before in replaced.items():
            loop.remove_signal_handler(sig)
            if before is not None:
                loop.add_signal_handler(sig, before._callback, *before._args)
    return restore


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on the asyncio loop that Scrapy's asyncio reactor drives (once per process)."""
    from scrapy.utils.reactor import install_reactor

    install_reactor(REACTOR)
    from twisted.internet import reactor

    result: dict[str, Any] = {}

    async def wrapper() -> None:
        try:
            result["value"] = await main()
        except BaseException as exc:  # re-raised below, outside the reactor
            result["error"] = exc
        finally:
            reactor.callLater(0, reactor.stop)

    reactor.callWhenRunning(lambda: asyncio.ensure_future(wrapper()))
    reactor.run(installSignalHandlers=False)
    if "error" in result:
        raise result["error"]
    return result["value"]
