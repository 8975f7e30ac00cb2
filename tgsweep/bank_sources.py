"""Hash lists kept elsewhere, read from where `[[media.bank_sources]]` says: a file, a folder, an HTTPS URL.

One function, `read_source`: the list's bytes (an HTTP 304 or an unchanged SHA-256 says the bank
is already equal to it), parsed by its format (detectors/media/banks.py), with its version (the
SHA-256 of what was read) and provenance (the path, or the URL without its query). A URL is
fetched with the source's token as `Authorization: Bearer`, `If-None-Match` with the ETag of the
last sync, no redirects (a list that moved is an error to look at, not a place to follow) and at
most `max_bytes`. The token is never printed (tgsweep/redact.py knows it as a secret).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from detectors.media.banks import PARSERS, ParsedList
from tgsweep.config import BankSource

LIST_SUFFIXES = (".csv", ".txt")
TIMEOUT = 120.0


class ListError(Exception):
    """A list that could not be read, and why (the bank is left as it was)."""


@dataclass(slots=True)
class ListRead:
    bank: str
    source: str  # provenance: the path, or the URL without query or credentials
    version: str  # SHA-256 of what was read ("" when the server said 304)
    parsed: ParsedList | None  # None: unchanged since the last sync
    etag: str | None = None


def display(url: str) -> str:
    """The URL as provenance: no user, password, query or fragment (where tokens hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _files(path: Path) -> list[tuple[str, bytes]]:
    if path.is_dir():
        names = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in LIST_SUFFIXES)
        if not names:
            raise ListError(f"{path}: no list in the folder (files ending {', '.join(LIST_SUFFIXES)})")
        return [(str(p), p.read_bytes()) for p in names]
    return [(str(path), path.read_bytes())]


def _download(source: BankSource, etag: str | None) -> tuple[list[tuple[str, bytes]], str | None] | None:
    """The list's bytes and ETag, or None on 304 Not Modified."""
    import httpx

    assert source.url is not None
    headers = {"Accept": "text/csv, text/plain, */*"}
    if source.token is not None:
        headers["Authorization"] = f"Bearer {source.token.get_secret_value()}"
    if etag:
        headers["If-None-Match"] = etag
    where = display(source.url)
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client, \
                client.stream("GET", source.url, headers=headers) as response:
            if response.status_code == 304:
                return None
            if response.status_code != 200:
                hint = " (check the token)" if response.status_code in (401, 403) else \
                    " (the list moved: update url)" if response.is_redirect else ""
                raise ListError(f"{where}: HTTP {response.status_code}{hint}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > source.max_bytes:
                    raise ListError(f"{where}: larger than max_bytes ({source.max_bytes}); not read")
                chunks.append(chunk)
            return [(where, b"".join(chunks))], response.headers.get("etag")
    except httpx.HTTPError as exc:
        said = str(exc)
        if source.token is not None:  # never echo the request's headers
            said = said.replace(source.token.get_secret_value(), "***")
        raise ListError(f"{where}: {type(exc).__name__}: {said}") from None


def read_source(source: BankSource, last_version: str | None = None, last_etag: str | None = None) -> ListRead:
    """Read and parse one list; `parsed` is None when it has not changed since the last sync."""
    if source.url is not None:
        got = _download(source, last_etag)
        if got is None:
            return ListRead(source.name, display(source.url), last_version or "", None, last_etag)
        parts, etag = got
        where = display(source.url)
    else:
        assert source.path is not None
        try:
            parts = _files(source.path)
        except OSError as exc:
            raise ListError(f"{source.path}: cannot read: {exc.strerror or exc}") from None
        etag, where = None, str(source.path.resolve())
    if len(parts) == 1:
        version = hashlib.sha256(parts[0][1]).hexdigest()
    else:
        digest = hashlib.sha256()
        for name, data in parts:
            digest.update(Path(name).name.encode() + b"\0" + hashlib.sha256(data).digest())
        version = digest.hexdigest()
    if version == last_version:
        return ListRead(source.name, where, version, None, etag)
    return ListRead(source.name, where, version, parse_parts(parts, source.format), etag)


def parse_parts(parts: list[tuple[str, bytes]], fmt: str) -> ParsedList:
    """Every part parsed and merged into one list (problems name their file and line)."""
    merged = ParsedList()
    seen: set[tuple[str, str]] = set()
    for name, data in parts:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            merged.problems.append((0, f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"))
            continue
        parsed = PARSERS[fmt](text)
        merged.duplicates += parsed.duplicates
        merged.problems += [(line, f"{name}: {why}" if len(parts) > 1 else why) for line, why in parsed.problems]
        for h in parsed.hashes:
            if (h.hash_type, h.hash) in seen:
                merged.duplicates += 1
                continue
            seen.add((h.hash_type, h.hash))
            merged.hashes.append(h)
    return merged
