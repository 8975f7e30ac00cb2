"""Re-visiting known pages with Scrapy: bot profiles (`tgsweep bots refresh`) and post embeds
(`tgsweep takedown check`).

Both run one short crawl in the CLI's process, on the asyncio reactor (crawler.web.stage.
run_async), with the same Scrapy settings as a sweep: `[web] request_delay` per host, the
back-off middleware for 429/5xx, `[web] timeout`. Bot profiles go through the sweep spider's
own entity path (TmeSpider._entity -> parse_entity -> Store.record_entity, raw capture and
custody entry included), then every bot is re-scored (detectors.bots.stage.detect_bots).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import scrapy
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.web.spider import SweepStats, TmeSpider
from store.collection import CollectionStore
from crawler.web.stage import close_warcs, scrapy_settings
from tgsweep.config import Config

log = logging.getLogger(__name__)


async def crawl(settings_from: Config, custody: CollectionStore, spider: type[scrapy.Spider], **kwargs: Any) -> None:
    """One crawl of `spider(**kwargs)` with the sweep's Scrapy settings, to the end; its WARC files then
    entered in `custody`'s chain."""
    runner = AsyncCrawlerRunner(scrapy_settings(settings_from))
    try:
        await runner.crawl(runner.create_crawler(spider), **kwargs)
    finally:
        await close_warcs(settings_from, custody, None)


# -- bot profiles ------------------------------------------------------------------------------------

class ProfileSpider(TmeSpider):
    """The sweep spider, started on entity pages only: t.me/<bot> for each name given."""

    name = "tme_profiles"

    def __init__(self, store: CollectionStore, config: Config, names: list[str], stats: SweepStats | None = None,
                 **kwargs: Any):
        super().__init__(store=store, config=config, sweep_id=None, channels=[], stats=stats, **kwargs)
        self.names = names

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for name in self.names:
            request = self._entity(name, "profile refresh")
            if request:
                yield request


async def stale_bots(store: CollectionStore, config: Config, at: datetime | None = None) -> list[str]:
    """Bots whose public profile was read longer ago than `[bots] refresh_after_days` (or never), oldest first."""
    at = at or datetime.now(timezone.utc)
    cutoff = (at - timedelta(days=config.bots.refresh_after_days)).isoformat(timespec="seconds")
    return await store.bots_profiled_before(cutoff, config.bots.refresh_limit)


async def refresh_profiles(store: CollectionStore, config: Config) -> dict[str, Any]:
    """Re-read stale bot profiles; counts for the summary (`tgsweep bots refresh` then re-scores every bot)."""
    names = await stale_bots(store, config)
    stats = SweepStats()
    if names:
        log.info("refreshing %d bot profiles", len(names))
        await crawl(config, store, ProfileSpider, store=store, config=config, names=names, stats=stats)
    errors = len(names) - stats.profiles  # each one is recorded in sweep_errors (kind entity)
    gone = await store.count_unknown(names) if names else 0
    return {"due": len(names), "refreshed": stats.profiles, "errors": errors, "gone": gone, "retries": stats.retries}


# -- post embeds -------------------------------------------------------------------------------------

class EmbedSpider(scrapy.Spider):
    """Fetch `<base>/<channel>/<id>?embed=1&mode=tme` for each target; hand every answer to `on_answer`."""

    name = "tme_embeds"

    def __init__(self, base: str, targets: list[tuple[str, int]],
                 on_answer: Callable[[str, int, int | None, bytes, str, str], Awaitable[None]], **kwargs: Any):
        super().__init__(**kwargs)
        self.base = base
        self.targets = targets
        self.on_answer = on_answer
        self.stats_ = SweepStats()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for channel, post_id in self.targets:
            yield scrapy.Request(f"{self.base}/{channel}/{post_id}?embed=1&mode=tme", callback=self.parse_embed,
                                 errback=self.embed_failed, dont_filter=True,
                                 meta={"target": (channel, post_id), "handle_httpstatus_all": True,
                                       "dont_redirect": True, "tgsweep_stats": self.stats_})

    async def parse_embed(self, response: Response) -> None:
        channel, post_id = response.meta["target"]
        await self.on_answer(channel, post_id, response.status, response.body, response.url, "")

    async def embed_failed(self, failure: Failure) -> None:
        request = failure.request
        channel, post_id = request.meta["target"]
        reason = request.meta.get("tgsweep_last_failure") or failure.getErrorMessage()
        await self.on_answer(channel, post_id, None, b"", request.url, reason)
