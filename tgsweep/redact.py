"""Secrets scrubbed by value: one list of every configured secret, replaced with *** wherever it shows.

A receiver that echoes "Cannot POST /hooks/<token>?key=<secret>", an exception that prints a URL, a
library that logs a header: none of them knows what is secret, so texts are scrubbed by the values
themselves. Loading a config registers its secrets here (tgsweep/config.py); `tgsweep serve` adds the
explorer token it reads; the logs (tgsweep/logs.py) and the alert sinks (graph/alerts/sinks.py) scrub with it.

Each value is also matched URL-encoded (quote, quote_plus) and base64-encoded, the forms it takes in
URLs, forms and headers. A leaf module: no project imports, so any layer may use it.
"""
from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

MASK = "***"
MIN_CHARS = 6  # shorter values are left alone: they would mask ordinary words and numbers everywhere
_WORD = re.compile(r"[a-z]+(?:[-_.][a-z]+)*")  # `hooks`, `case-system`: path parts that name, not authenticate

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None


def forms(value: str) -> set[str]:
    """The value as written, URL-encoded (either case of hex) and base64-encoded (with and without padding)."""
    found = {value, quote(value), quote(value, safe=""), quote_plus(value)}
    found |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in found}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(value.encode("utf-8")).decode("ascii")
        found |= {text, text.rstrip("=")}
    return {f for f in found if len(f) >= MIN_CHARS}


def _token_like(part: str) -> bool:
    """A URL part that may be a credential: long, or not a plain lower-case word."""
    return len(part) >= 16 or (len(part) >= MIN_CHARS and not _WORD.fullmatch(part))


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may be credentials: user and password, token-like path segments, query values.

    Slack-style hook URLs keep their token in the path, others in the query or the user part.
    """
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return [url] if len(url) >= MIN_CHARS else []
    found = [p for p in (password, unquote(password or "")) if p and len(p) >= MIN_CHARS]
    if username and password:
        found.append(f"{unquote(username)}:{unquote(password)}")  # as Basic authorization carries it, base64
    found += [u for u in (username, unquote(username or "")) if u and _token_like(u)]
    found += [s for raw in parts.path.split("/") for s in (raw, unquote(raw)) if _token_like(s)]
    for pair in parts.query.split("&"):
        value = pair.partition("=")[2]
        found += [v for v in (value, unquote_plus(value)) if _token_like(v)]
    found += [f for f in (parts.fragment,) if _token_like(f)]
    return list(dict.fromkeys(found))


def add(*values: str | None) -> None:
    """Scrub these values (in all their forms) from now on; empty and short ones are ignored."""
    global _pattern
    new = {v for v in values if v and len(v) >= MIN_CHARS} - _values
    if not new:
        return
    with _lock:
        _values.update(new)
        every = sorted({f for v in _values for f in forms(v)}, key=len, reverse=True)  # longest first
        _pattern = re.compile("|".join(re.escape(f) for f in every))


def add_url(url: str | None) -> None:
    """Scrub a URL's credential-like parts (url_secrets) from now on."""
    if url:
        add(*url_secrets(url))


def redact(text: str) -> str:
    """The text with every registered secret replaced by ***."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text


class RedactFilter(logging.Filter):
    """On a handler: the record's message, traceback and stack are scrubbed before they are formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: still written, still scrubbed
            message = f"{record.msg} (arguments: {record.args!r})"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handler: logging.Handler) -> None:
    """Scrub every record this handler writes (once, however often it is called)."""
    if not any(isinstance(f, RedactFilter) for f in handler.filters):
        handler.addFilter(RedactFilter())
