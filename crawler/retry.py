"""Back-off and retry for t.me: 429 with Retry-After, 5xx, timeouts, and the soft rate limit.

Telegram answers a busy client either with 429 (Retry-After says how long to wait: the
whole host waits, not just that request), with 5xx, or with a 200 page that says "No posts
found" for a channel that has posts. All three are retried with exponential back-off and
jitter; after the last try the failure reaches the spider, which records it.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from twisted.internet.defer import CancelledError

try:
    from scrapy.exceptions import DownloadCancelledError
except ImportError:  # Scrapy before 2.14 raised Twisted's CancelledError
    DownloadCancelledError = CancelledError

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 429, 500, 502, 503, 504, 520, 521, 522, 524}
NO_POSTS_MARK = b"tme_no_messages_found"


def retry_after_seconds(value: str | bytes | None, now: float | None = None,
                        maximum: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when it is neither.

    Never raises and never infinite, whatever a server sends (a receiver once sent 99999999999999):
    `maximum` caps it, and a date in the past is 0.
    """
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isascii() and text.isdigit():
        seconds = min(float(text), 1e18)  # 400 nines are float("inf"): finite, capped below
    else:
        try:
            seconds = max(0.0, parsedate_to_datetime(text).timestamp() - (time.time() if now is None else now))
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return seconds if maximum is None else min(seconds, maximum)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential back-off with full jitter (attempt 1 waits up to base, then 2x, 4x ...)."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2 ** (attempt - 1))


class BackoffRetryMiddleware:
    """Downloader middleware; replaces Scrapy's RetryMiddleware for this spider."""

    def __init__(self, max_retries: int, empty_retries: int, base: float, cap: float):
        self.max_retries = max_retries
        self.empty_retries = empty_retries
        self.base = base
        self.cap = cap
        self.host_blocked_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(s.getint("TGSWEEP_MAX_RETRIES"), s.getint("TGSWEEP_EMPTY_FEED_RETRIES"),
                   s.getfloat("TGSWEEP_BACKOFF"), s.getfloat("TGSWEEP_MAX_RETRY_AFTER"))

    async def process_request(self, request: Request):
        wait = self.host_blocked_until.get(urlsplit(request.url).netloc, 0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    async def process_response(self, request: Request, response: Response):
        if response.status in RETRY_STATUSES:
            delay = None
            if response.status == 429:
                delay = retry_after_seconds(response.headers.get(b"Retry-After"))
                if delay is not None:
                    delay = min(delay, self.cap)
                    host = urlsplit(request.url).netloc
                    self.host_blocked_until[host] = time.monotonic() + delay
            return await self._retry(request, f"HTTP {response.status}", delay, self.max_retries) or response
        if request.meta.get("tgsweep_page") and response.status == 200 and NO_POSTS_MARK in response.body \
                and b"data-post=" not in response.body:
            return await self._retry(request, "empty feed (soft rate limit)", None, self.empty_retries) or response
        return response

    async def process_exception(self, request: Request, exception: Exception):
        if isinstance(exception, (DownloadCancelledError, CancelledError)):
            return None  # cancelled on purpose (over the size limit, or shutting down): trying again cannot help
        return await self._retry(request, f"{type(exception).__name__}: {exception}", None, self.max_retries)

    async def _retry(self, request: Request, reason: str, delay: float | None, limit: int) -> Request | None:
        attempt = request.meta.get("tgsweep_retries", 0) + 1
        stats = request.meta.get("tgsweep_stats")
        if attempt > limit:
            log.warning("giving up on %s after %d tries: %s", request.url, attempt, reason)
            return None
        wait = delay if delay is not None else backoff_seconds(attempt, self.base, self.cap)
        log.info("retry %d/%d of %s in %.1fs: %s", attempt, limit, request.url, wait, reason)
        if stats is not None:
            stats.retries += 1
        await asyncio.sleep(wait)
        retry = request.replace(dont_filter=True, priority=request.priority + 1)
        retry.meta["tgsweep_retries"] = attempt
        retry.meta["tgsweep_last_failure"] = reason
        return retry
