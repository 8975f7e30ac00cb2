"""A Scrapy extension: every response a crawl receives (pages, entity pages, embed re-checks, media),
written as WARC records by crawler/warc.py, with the sweep, the channel and the body's SHA-256 (the
one its custody entry holds). Media bodies are left out in hash-only mode, as everywhere else."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.warc import WarcLog
from store.custody import sha256


def _kind(meta: dict[str, Any]) -> str:
    if "target" in meta:
        return "embed_recheck"
    if meta.get("tgsweep_page"):
        return "channel_page"
    if "item" in meta:
        return "media"
    if "name" in meta:
        return "entity_page"
    return meta.get("tgsweep_kind", "page")


def _pairs(headers: Any) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, values in headers.items() for v in values]


class WarcCapture:
    """Connected to `response_received`; the files are closed when the spider closes."""

    def __init__(self, log: WarcLog, keep_media: bool) -> None:
        self.log = log
        self.keep_media = keep_media

    @classmethod
    def from_crawler(cls, crawler: Any) -> "WarcCapture":
        folder = crawler.settings.get("TGSWEEP_WARC_DIR")
        if not folder:
            raise NotConfigured("WARC capture off ([storage] warc = false)")
        ext = cls(WarcLog(Path(folder), crawler.settings.getint("TGSWEEP_WARC_MAX_BYTES", 1 << 30)),
                  crawler.settings.getbool("TGSWEEP_WARC_MEDIA", True))
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_received(self, response: Any, request: Any, spider: Any) -> None:
        meta = request.meta
        kind = _kind(meta)
        item = meta.get("item") or {}
        channel = meta.get("channel") or meta.get("name") or item.get("channel") or (meta.get("target") or [None])[0]
        body = response.body if kind != "media" or self.keep_media else None
        info = {"kind": kind, "channel": channel, "sweep": getattr(spider, "sweep_id", None),
                "sha256": sha256(response.body), "custody": "the custody chain's entry for these bytes holds this sha256"}
        if item:
            info["post"] = f"{item.get('channel')}/{item.get('post_id')}"
        self.log.exchange(response.url, response.status, _pairs(response.headers), body, _pairs(request.headers),
                          request.method, getattr(response, "protocol", None) or "HTTP/1.1", info)

    def spider_closed(self, spider: Any) -> None:
        self.log.close()
