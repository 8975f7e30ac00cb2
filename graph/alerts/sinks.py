"""Alert sinks: a Standard Webhooks receiver over HTTP, a MISP instance, and a JSON Lines file.

A sink takes alerts (id, JSON body) and says what became of each: delivered, retry (later,
perhaps after a Retry-After) or dead (will never work: dead-lettered with the reason). The
schedule of retries and the bookkeeping live in graph/alerts/delivery.py; here is only the I/O.

Webhooks follow https://www.standardwebhooks.com: headers `webhook-id` (the alert id, the
same on every retry, so the receiver can drop duplicates), `webhook-timestamp` (this
attempt, Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`
with the `whsec_` secret), signed by the `standardwebhooks` library itself.

Secrets never leave this module: a sink is named by its `identity` (webhook: the URL without
credentials or query; jsonl: the path), and error texts are scrubbed by value (tgsweep/redact.py) of
the secret and of every token-like part of the URL, since receivers echo what they were asked
("Cannot POST /hooks/<token>?key=<secret>").
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import tgsweep.redact as redact

USER_AGENT = "tgsweep/0.1 (alerts; Standard Webhooks)"
# httpx logs every request's full URL at INFO (a query string may hold a receiver's token):
# its loggers stay at WARNING unless a deployment sets them explicitly.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
ERROR_BODY_CHARS = 200  # of a receiver's answer kept in last_error


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did: state delivered, retry or dead, with the HTTP status and why."""

    state: str
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait


Report = Callable[[list[tuple[str, Outcome]]], Awaitable[None]]  # commits outcomes, (alert id, outcome)


def classify(status: int, retry_after: str | None = None, body: str = "") -> Outcome:
    """An HTTP answer -> Outcome. 2xx delivered; 408, 429, 5xx retry (Retry-After kept); other 4xx
    (and 3xx, 1xx: not followed) dead, with the status and the start of the body as the reason."""
    text = " ".join(body.split())[:ERROR_BODY_CHARS]
    reason = f"HTTP {status}" + (f": {text}" if text else "")
    if 200 <= status < 300:
        return Outcome("delivered", status)
    if status in (408, 429) or status >= 500:
        if not retry_after:
            return Outcome("retry", status, reason)
        from crawler.retry import retry_after_seconds  # (imports Scrapy: only when there is a header to read)

        return Outcome("retry", status, reason, retry_after_seconds(retry_after))
    if 300 <= status < 400:
        reason = f"HTTP {status}: redirects are not followed (configure the final URL)"
    return Outcome("dead", status, reason)


def safe_url(url: str) -> str:
    """Scheme, host and port only. A path, query or user part may carry a token (Slack-style hook
    URLs keep theirs in the path), so they become a short hash of the whole URL, which still tells
    sinks apart."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # config validation refuses such URLs; a name is still owed
        return f"invalid-url#{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    hidden = parts.path not in ("", "/") or parts.query or parts.username or parts.fragment
    tail = f"/...#{hashlib.sha256(url.encode()).hexdigest()[:8]}" if hidden else ""
    return f"{parts.scheme}://{netloc}{tail}"


class HttpSink:
    """What the HTTP sinks share: one client, answers classified, errors scrubbed, delivery in order."""

    kind = "http"

    def __init__(self, url: str, timeout: float = 10.0):
        self._url = url
        self.timeout = timeout
        self._client: Any = None
        redact.add_url(url)

    def scrub(self, text: str) -> str:
        """An error text without the URL's secrets or the sink's secret, in any form (tgsweep/redact.py)."""
        return redact.redact(text.replace(self._url, safe_url(self._url)))

    def request(self, alert_id: str, body: str) -> tuple[str, bytes, dict[str, str]]:
        """(url, body, headers) of one attempt at one alert."""
        raise NotImplementedError

    def answered(self, outcome: Outcome, text: str) -> Outcome:
        """A sink's own reading of an answer (the MISP sink's "already exists")."""
        return outcome

    async def send(self, alert_id: str, body: str) -> Outcome:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        url, content, headers = self.request(alert_id, body)
        if not content:  # nothing this sink takes (below its severity): done with it
            return Outcome("delivered", None, "not sent: below this sink's min_severity")
        try:
            response = await self._client.post(url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            return Outcome("retry", None, f"timed out after {self.timeout:g} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Outcome("retry", None, self.scrub(f"connection failed: {type(exc).__name__}: {exc}")[:300])
        except httpx.InvalidURL as exc:  # config validation refuses such URLs: this one can never work
            return Outcome("dead", None, self.scrub(f"invalid URL: {exc}")[:300])
        text = self.scrub(response.text[:4 * ERROR_BODY_CHARS])
        return self.answered(classify(response.status_code, response.headers.get("retry-after"), text), text)

    async def deliver(self, items: list[tuple[str, str]], report: Report) -> None:
        """Send in order; each outcome is reported (committed) at once; a retry stops this pass."""
        for alert_id, body in items:
            outcome = await self.send(alert_id, body)
            await report([(alert_id, outcome)])
            if outcome.state == "retry":
                return  # the receiver is down or busy: the rest waits for the next pass

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class WebhookSink(HttpSink):
    """POSTs each alert's JSON body, signed; stops for this pass at the first failure worth a retry."""

    kind = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 10.0):
        from standardwebhooks import Webhook

        super().__init__(url, timeout)
        self._secret = secret
        self._signer = Webhook(secret)
        self.identity = f"webhook:{safe_url(url)}"
        redact.add(secret, secret.removeprefix("whsec_"))

    def __repr__(self) -> str:  # never the secret, never the full URL
        return f"WebhookSink({self.identity!r})"

    def headers(self, alert_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
        """Standard Webhooks headers for one attempt (`at`: its time, now by default)."""
        at = (at or datetime.now(timezone.utc)).replace(microsecond=0)
        return {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": alert_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": self._signer.sign(alert_id, at, body)}

    def request(self, alert_id: str, body: str) -> tuple[str, bytes, dict[str, str]]:
        return self._url, body.encode("utf-8"), self.headers(alert_id, body)


SEVERITY_RANK = {"medium": 1, "high": 2, "critical": 3}


class MispSink(HttpSink):
    """Each alert at or above `min_severity` as a new MISP event: POST <url>/events/add with the
    automation key in `Authorization` (MISP's REST API). The event's UUID comes from the alert id, so a
    retry after a lost answer meets "already exists" and counts as delivered."""

    kind = "misp"

    def __init__(self, url: str, key: str, min_severity: str = "high", tlp: str = "amber", timeout: float = 10.0):
        super().__init__(url.rstrip("/"), timeout)
        self._key = key
        self.min_severity = min_severity
        self.tlp = tlp
        self.identity = f"misp:{safe_url(url)}"
        redact.add(key)

    def __repr__(self) -> str:  # never the key
        return f"MispSink({self.identity!r})"

    def request(self, alert_id: str, body: str) -> tuple[str, bytes, dict[str, str]]:
        from graph.misp import alert_event

        alert = json.loads(body)
        if SEVERITY_RANK.get(alert.get("severity", ""), 0) < SEVERITY_RANK[self.min_severity]:
            return "", b"", {}
        event = alert_event(alert, self.tlp)
        return (f"{self._url}/events/add", json.dumps({"Event": json.loads(event.to_json())}).encode("utf-8"),
                {"Authorization": self._key, "Accept": "application/json", "Content-Type": "application/json",
                 "User-Agent": USER_AGENT})

    def answered(self, outcome: Outcome, text: str) -> Outcome:
        if outcome.state == "dead" and "already exists" in text.lower():
            return Outcome("delivered", outcome.status, "already in MISP (an earlier attempt's answer was lost)")
        return outcome


class JsonlSink:
    """Appends one alert per line (the webhook body) to a file, fsyncs, then reports them delivered.

    Crash-safe: an id already in the file (written, but the process died before the store
    recorded it) is not written again; a torn last line (died mid-write) is cut off first.
    """

    kind = "jsonl"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.identity = f"jsonl:{self.path}"

    def __repr__(self) -> str:
        return f"JsonlSink({self.identity!r})"

    def written_ids(self) -> set[str]:
        """Alert ids already in the file (whole lines only)."""
        ids: set[str] = set()
        try:
            with self.path.open("rb") as handle:
                for line in handle:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        ids.add(json.loads(line)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue  # not one of ours: left alone
        except FileNotFoundError:
            pass
        return ids

    def _append(self, bodies: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":  # a torn line from a crash mid-write: never recorded, cut it
                    with self.path.open("rb") as handle:
                        data = handle.read()
                    os.ftruncate(fd, data.rfind(b"\n") + 1)
            data = "".join(b + "\n" for b in bodies).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    async def deliver(self, items: list[tuple[str, str]], report: Report) -> None:
        try:
            present = await asyncio.to_thread(self.written_ids)
            new = [(i, b) for i, b in items if i not in present]
            if new:
                await asyncio.to_thread(self._append, [b for _, b in new])
        except OSError as exc:
            await report([(i, Outcome("retry", None, f"cannot write {self.path}: {exc.strerror or exc}"))
                          for i, _ in items])
            return
        await report([(i, Outcome("delivered")) for i, _ in items])

    async def close(self) -> None:
        return None


def build_sinks(config: Any) -> list[HttpSink | JsonlSink]:
    """The configured `[[alerts.sinks]]` as sink objects, in order."""
    alerts = getattr(config, "alerts", None)
    sharing = getattr(config, "sharing", None)
    sinks: list[HttpSink | JsonlSink] = []
    for s in getattr(alerts, "sinks", []) or []:
        if s.type == "webhook":
            sinks.append(WebhookSink(s.url, s.secret.get_secret_value(), alerts.timeout))
        elif s.type == "misp":
            sinks.append(MispSink(s.url, s.key.get_secret_value(), s.min_severity,
                                  sharing.tlp if sharing else "amber", alerts.timeout))
        else:
            sinks.append(JsonlSink(Path(s.path)))
    return sinks
