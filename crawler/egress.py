"""One egress policy for every fetch a page asked for (media, entity pages, embeds, discovery).

A page is input from outside: a hostile mirror, proxy or test server can name `file:///proc/...`,
a service on another loopback port, 169.254.169.254 or an `ftp://` URL. Every request the
crawler makes passes `EgressMiddleware` first, and again after every redirect (Scrapy sends a
redirect's new request through the downloader middlewares anew). The rules:

- the scheme is `https`, or the request goes to `[web] base_url`'s own origin (scheme, host, port);
- the host is one Telegram serves pages and media from (`[web] egress_hosts`, `*.` for subdomains),
  or `base_url`'s host;
- after DNS resolution no address is private, loopback, link-local, multicast or reserved, unless
  the request goes to `base_url`'s own origin (tests and the demo serve t.me from loopback).

A refusal raises IgnoreRequest with a message naming the rule; the spider's errback records it
on the item. Sizes are capped while streaming by Scrapy (`download_maxsize`), and the schemes
nobody needs (file, ftp, s3, data) have no download handler at all.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

log = logging.getLogger(__name__)

REFUSED = "egress refused"


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    base_origin: tuple[str, str, int]  # (scheme, host, port) of [web] base_url
    hosts: tuple[str, ...]  # [web] egress_hosts

    @classmethod
    def for_base(cls, base_url: str, hosts: Iterable[str]) -> "EgressPolicy":
        return cls(origin(base_url), tuple(h.lower().strip() for h in hosts))


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme, 0)


def _host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def check_url(policy: EgressPolicy, url: str) -> str | None:
    """Why this URL may not be fetched (scheme and host rules), or None. Pure: no DNS."""
    scheme, host, port = origin(url)
    if (scheme, host, port) == policy.base_origin:
        return None
    if port == -1:
        return f"{REFUSED}: malformed port in {url[:200]!r}"
    if scheme != "https":
        return f"{REFUSED}: scheme {scheme or '(none)'!r} is not allowed (https only, or [web] base_url's origin)"
    if not host:
        return f"{REFUSED}: no host in the URL"
    if not _host_allowed(host, policy.hosts) and host != policy.base_origin[1]:
        return f"{REFUSED}: host {host!r} is not one Telegram serves from ([web] egress_hosts) nor base_url's"
    return None


def check_addresses(policy: EgressPolicy, url: str, addresses: Iterable[str]) -> str | None:
    """Why the resolved addresses may not be reached, or None. Pure."""
    if origin(url) == policy.base_origin:
        return None
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return f"{REFUSED}: {origin(url)[1]!r} resolved to an unreadable address {text!r}"
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return (f"{REFUSED}: {origin(url)[1]!r} resolves to {address} (private, loopback, link-local or "
                    f"reserved addresses are reached only when [web] base_url is one)")
    return None


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


class EgressMiddleware:
    """Scrapy downloader middleware: every request, and every redirect's, meets the policy."""

    def __init__(self, policy: EgressPolicy):
        self.policy = policy
        self.resolved: dict[tuple[str, int], list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler) -> "EgressMiddleware":
        s = crawler.settings
        return cls(EgressPolicy.for_base(s.get("TGSWEEP_BASE_URL"), s.getlist("TGSWEEP_EGRESS_HOSTS")))

    async def process_request(self, request) -> None:
        reason = check_url(self.policy, request.url)
        if reason is None and origin(request.url) != self.policy.base_origin:
            _, host, port = origin(request.url)
            try:
                addresses = self.resolved.get((host, port)) or await resolve(host, port)
            except OSError as exc:
                addresses, reason = [], f"{REFUSED}: {host!r} does not resolve ({exc})"
            self.resolved[(host, port)] = addresses
            reason = reason or check_addresses(self.policy, request.url, addresses)
        if reason is not None:
            log.warning("%s", reason)
            request.meta["tgsweep_last_failure"] = reason
            raise IgnoreRequest(reason)
        return None
