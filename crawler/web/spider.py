"""The web collector: a Scrapy spider over t.me/s/<channel> pages, no account needed.

Per channel it pages back from the newest page with `?before=` until it reaches the cursor
of the last sweep; each page is stored with its raw capture and the new cursor in one
transaction (store.sqlite), so a crash or a stop loses nothing and repeats nothing.
Media are fetched straight after their page (their URLs expire) and checked off the event
loop. Referenced bots get their public entity page read; discovery follows references to
other channels up to `[discovery] max_depth`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from store.refs import channel_refs
from crawler.media import FingerprintHook, keep_fetched
from crawler.paging import Cursor, Position, next_step
from crawler.retry import CancelledError, DownloadCancelledError
from store.records import Capture, Ingested, PostLimits
from store.collection import CollectionStore
from crawler.web.tme_parse import nesting_depth, parse_channel_page, parse_entity_page
from tgsweep.config import Config

log = logging.getLogger(__name__)
REDIRECTS = [301, 302, 303, 307, 308]


@dataclass
class SweepStats:
    """What a sweep did, for the progress display and the summary."""

    channels: set[str] = field(default_factory=set)
    channels_done: int = 0
    total: int = 0  # channels this sweep set out to do (known at the start, for progress)
    pages: int = 0
    new_posts: int = 0
    media_stored: int = 0
    media_errors: int = 0
    errors: int = 0
    retries: int = 0
    no_preview: list[str] = field(default_factory=list)
    discovered: list[tuple[str, str]] = field(default_factory=list)  # (channel, from what)
    profiles: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "channels": sorted(self.channels), "pages": self.pages, "new_posts": self.new_posts,
            "media_stored": self.media_stored, "media_errors": self.media_errors, "errors": self.errors,
            "retries": self.retries, "no_preview": self.no_preview,
            "discovered": [{"channel": c, "from": f} for c, f in self.discovered], "profiles": self.profiles,
        }


class TmeSpider(scrapy.Spider):
    name = "tme"

    def __init__(self, store: CollectionStore, config: Config, sweep_id: int, channels: list[str],
                 stats: SweepStats | None = None, follow_discovered: bool = True,
                 fingerprint: FingerprintHook | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.fingerprint = fingerprint
        self.store = store
        self.config = config
        self.sweep_id = sweep_id
        self.base = config.web.base_url
        self.start_channels = channels
        self.sweep = stats or SweepStats()
        self.depth: dict[str, int] = {}
        self.profiled: set[str] = set()
        self.open_channels = 0
        # False ([discovery] interval_minutes > 0, a watchlist sweep): references are recorded as
        # discovered, not swept; the `discover` job sweeps them
        self.follow_discovered = follow_discovered
        self.noted: set[str] = set()
        self.watching: set[str] = set()
        self.pages_done: dict[str, int] = {}
        self.raised: list[tuple[str | None, str | None, str]] = []  # (channel, url, error) a callback raised
        web = config.web
        self.limits = PostLimits(web.max_bot_lookups_per_post, web.max_media_per_post)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "TmeSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._callback_raised, signal=signals.spider_error)
        return spider

    def _callback_raised(self, failure: Failure, response: Response | Failure, spider: Any) -> None:
        """A callback raised (a store error such as a deadlock, a bug): Scrapy only logs it, and that
        channel's paging ends there. Kept here; the stage records it once the crawl ends (crawler/web/stage.py)."""
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        meta = request.meta if request is not None else {}  # an errback's: the download's Failure, its request
        url = request.url if request is not None else None
        channel = meta.get("channel") or meta.get("name") or (meta.get("item") or {}).get("channel")
        self.raised.append((channel, url, f"{failure.type.__name__}: {failure.getErrorMessage()[:300]}"))

    # -- requests -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # watchlist channels (every group's) are swept by their own group's sweeps, never as discovered ones
        self.watching = set(self.config.watch.configured) | set(await self.store.watched_channels())
        for name in self.start_channels:
            # a channel found by an earlier sweep keeps its hops from the watchlist (max_depth holds)
            depth = await self.store.channel_depth(name)
            request = self._schedule(name, depth or 0)
            if request:
                yield request
        # bots an earlier sweep referenced but never profiled (it was killed first): read them now
        for name in await self.store.pending_bot_profiles(self.config.bots.refresh_limit):
            request = self._entity(name, "referenced by an earlier sweep, never profiled")
            if request:
                yield request

    def _schedule(self, channel: str, depth: int) -> scrapy.Request | None:
        if channel in self.depth:
            return None
        self.depth[channel] = depth
        self.sweep.channels.add(channel)
        self.open_channels += 1
        return self._page(channel, None, None)

    def _page(self, channel: str, before: int | None, position: Position | None,
              cursor: Cursor | None = None) -> scrapy.Request:
        url = f"{self.base}/s/{channel}" + (f"?before={before}" if before else "")
        return scrapy.Request(
            url, callback=self.parse_page, errback=self.page_failed, dont_filter=True,
            meta={"channel": channel, "before": before, "position": position, "cursor": cursor, "tgsweep_page": True,
                  "tgsweep_stats": self.sweep, "dont_redirect": True, "handle_httpstatus_list": REDIRECTS},
        )

    def _entity(self, name: str, why: str) -> scrapy.Request | None:
        if name in self.profiled:
            return None
        self.profiled.add(name)
        return scrapy.Request(f"{self.base}/{name}", callback=self.parse_entity, errback=self.entity_failed,
                              dont_filter=True, meta={"name": name, "why": why, "tgsweep_stats": self.sweep,
                                                      "dont_redirect": True, "handle_httpstatus_list": REDIRECTS})

    def _media(self, row: Any, role: str) -> scrapy.Request:
        url = row["thumb_url"] if role == "thumb" else row["url"]
        return scrapy.Request(url, callback=self.parse_media, errback=self.media_failed, dont_filter=True,
                              priority=10,  # before the next page: URLs expire
                              meta={"item": dict(row), "role": role, "tgsweep_stats": self.sweep,
                                    "download_maxsize": self.config.media.max_bytes})

    def _channel_finished(self) -> None:
        self.open_channels -= 1
        self.sweep.channels_done += 1

    # -- channel pages ---------------------------------------------------------------------------

    async def parse_page(self, response: Response) -> AsyncIterator[scrapy.Request]:
        channel = response.meta["channel"]
        capture = Capture("channel_page", response.url, response.body)
        if response.status in REDIRECTS:
            # t.me sends /s/<name> to /<name> when there is no public preview: not an error.
            self.sweep.no_preview.append(channel)
            await self.store.mark_channel_done(channel)
            self._channel_finished()
            request = self._entity(channel, "no public preview")
            if request:
                yield request
            return
        limit = self.config.web.max_nesting_depth
        if nesting_depth(response.body, limit) > limit:
            await self._give_up(channel, response.url, "parse", f"page nests elements more than {limit} deep "
                                "([web] max_nesting_depth): not parsed; cursor kept")
            return
        page = parse_channel_page(response.body, channel)
        for problem in page.problems:
            await self._error("parse", problem, channel, response.url)
        foreign = sorted({p.channel for p in page.posts if p.channel != channel})
        if foreign:
            # a page speaks for its own channel only: a post claiming another one is not stored
            await self._error("parse", f"page of {channel} carries posts claiming {', '.join(foreign[:5])}: "
                              "those posts were not stored", channel, response.url)
        posts = [p for p in page.posts if p.channel == channel]
        if not posts:
            if not page.no_posts and not foreign:
                await self._error("parse", "page shows no posts and no 'No posts found' marker (layout changed "
                                  "or not a channel page)", channel, response.url)
            elif page.no_posts and response.meta["before"] is not None:
                # older pages of a channel with posts cannot be empty: the soft rate limit outlasted the retries
                await self._error("empty_feed", "'No posts found' in the middle of the channel after every retry "
                                  "(soft rate limit); the next sweep resumes here", channel, response.url)
            elif page.no_posts:
                await self.store.mark_channel_done(channel)
            self._channel_finished()
            return
        # the cursor this sweep committed with the previous page, or the stored one for the first page
        cursor = response.meta.get("cursor") or await self.store.get_cursor(channel)
        ids = sorted({p.id for p in posts} | {m.post_id for p in posts for m in p.media if m.post_id})
        step = next_step(cursor, ids, page.before, response.meta["position"])
        if response.meta["before"] is not None and step.next_before is not None \
                and step.next_before >= response.meta["before"]:
            await self._error("paging", f"?before={response.meta['before']} returned no older posts; stopping "
                              "this channel", channel, response.url)
            step = type(step)(cursor, None, step.position)
        first_page = response.meta["position"] is None
        ingested = await self.store.ingest_page(
            self.sweep_id, channel, page.channel, posts, capture, step.cursor, done=step.next_before is None,
            pending_too=first_page and self.config.media.download, limits=self.limits)
        self.sweep.pages += 1
        self.sweep.new_posts += len(ingested.new_ids)
        self.sweep.errors += len(ingested.limited)
        new = set(ingested.new_ids)
        for request in await self._follow(channel, [p for p in posts if p.id in new], ingested):
            yield request
        self.pages_done[channel] = self.pages_done.get(channel, 0) + 1
        if step.next_before is None:
            self._channel_finished()
        elif self.pages_done[channel] >= self.config.web.max_pages_per_channel:
            await self._give_up(channel, response.url, "limit", f"{self.pages_done[channel]} pages this sweep "
                                "([web] max_pages_per_channel); the next sweep resumes here")
        else:
            yield self._page(channel, step.next_before, step.position, step.cursor)

    async def _error(self, kind: str, message: str, channel: str | None = None, url: str | None = None) -> None:
        """A recorded failure of this sweep, counted in its summary."""
        await self.store.record_error(self.sweep_id, kind, message, channel, url)
        self.sweep.errors += 1

    async def _give_up(self, channel: str, url: str, kind: str, message: str) -> None:
        """Stop this channel for this sweep with a recorded error; its cursor resumes it next time."""
        await self._error(kind, message, channel, url)
        self._channel_finished()

    async def _follow(self, channel: str, posts: list, ingested: Ingested) -> list[scrapy.Request]:
        """Media the page's own transaction said to fetch, bots with no profile yet, discovered channels."""
        out: list[scrapy.Request] = []
        if self.config.media.download:
            for row in ingested.media:
                if (row["url"] or "").startswith("tg://") or (row["thumb_url"] or "").startswith("tg://"):
                    continue  # the Telethon collector's items: fetched through the API, never over HTTP
                if row["status"] == "pending" and row["url"]:
                    out.append(self._media(row, "main"))
                if row["thumb_url"]:
                    out.append(self._media(row, "thumb"))
        for name in ingested.bots:
            request = self._entity(name, f"referenced by {channel}")
            if request:
                out.append(request)
        discovery = self.config.discovery
        depth = self.depth.get(channel, 0)
        if discovery.enabled and depth < discovery.max_depth:
            for post in posts:
                for ref in channel_refs(post):
                    found = len(self.sweep.discovered)
                    if (ref.username in self.depth or ref.username in self.noted or ref.username in self.watching
                            or found >= discovery.max_channels):
                        continue
                    # both branches claim the name before any await
                    if self.follow_discovered:
                        out.append(self._schedule(ref.username, depth + 1))
                    else:
                        self.noted.add(ref.username)
                    why = f"{ref.how} in {channel}/{post.id}"
                    self.sweep.discovered.append((ref.username, why))
                    await self.store.discovered(ref.username, depth + 1, why)
        return out

    async def page_failed(self, failure: Failure) -> None:
        request = failure.request
        channel = request.meta["channel"]
        reason = request.meta.get("tgsweep_last_failure") or failure.getErrorMessage()
        await self._error("http", f"page failed after retries ({reason}); cursor kept, the next sweep resumes "
                          "here", channel, request.url)
        self._channel_finished()

    # -- entity pages ----------------------------------------------------------------------------

    async def parse_entity(self, response: Response) -> None:
        name = response.meta["name"]
        if response.status in REDIRECTS:
            await self._error("entity", f"entity page redirected to {response.headers.get('Location', b'').decode()}",
                              name, response.url)
            return
        entity = parse_entity_page(response.body, name)
        await self.store.record_entity(self.sweep_id, entity, Capture("entity_page", response.url, response.body))
        self.sweep.profiles += 1
        if response.meta["why"] == "no public preview" and entity.kind == "unknown" and not entity.title:
            # t.me's generic page: nobody holds the name (a typo, or a channel deleted)
            await self._error("not_found", f"t.me knows no channel named {name}", name, response.url)

    async def entity_failed(self, failure: Failure) -> None:
        request = failure.request
        await self._error("entity", failure.getErrorMessage(), request.meta["name"], request.url)

    # -- media -------------------------------------------------------------------------------------

    async def parse_media(self, response: Response) -> None:
        item, role = response.meta["item"], response.meta["role"]
        error = await keep_fetched(self.store, self.config, self.sweep_id, item["channel"], item["post_id"],
                                   item["position"], response.url, response.body, item["kind"], role,
                                   self.fingerprint)
        if error:
            self.sweep.media_errors += 1
        else:
            self.sweep.media_stored += 1

    async def media_failed(self, failure: Failure) -> None:
        request = failure.request
        item, role = request.meta["item"], request.meta["role"]
        message = failure.getErrorMessage()
        reason = request.meta.get("tgsweep_last_failure") or message
        if "max size" in message:
            # recorded as an error, so no later sweep downloads it again
            reason = f"larger than [media] max_bytes ({self.config.media.max_bytes} bytes): not downloaded"
        elif failure.check(DownloadCancelledError, CancelledError):
            # the sweep is stopping: left pending, and the next sweep's first page asks for it again
            await self.store.record_error(self.sweep_id, "media", "download cancelled (the sweep was stopping); "
                                          "retried next sweep", item["channel"], request.url)
            self.sweep.media_errors += 1
            return
        await self.store.store_media(self.sweep_id, item["channel"], item["post_id"], item["position"],
                                     request.url, None, f"download failed: {reason}", role)
        self.sweep.media_errors += 1
