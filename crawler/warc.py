"""Captures as WARC (ISO 28500), the web-archiving world's format: what Webrecorder, pywb, Heritrix
and ReplayWeb.page read.

Every fetch collection makes (channel pages, entity pages, embed re-checks, media downloads) is
written as a `request`, a `response` (the real HTTP status and headers) and a `metadata` record (the
sweep, the channel, the SHA-256 the custody chain holds for the bytes); a Telethon answer as a
`resource` record with a `urn:` target. Records go, one gzip member each (warcio), into a rolling
file `<folder>/tgsweep-<time>-<pid>-<n>-<random>.warc.gz.open`, renamed without `.open` when it is closed (at the
end of a crawl or past `max_bytes`); the custody chain then enters the closed file's SHA-256
(`reconcile`). A file left open by a killed process is cut after its last whole record and closed
at the next start. Beside each file, `<file>.idx` lists its records (one JSON line each: offset,
length, type, URI, channel), what the WACZ export reads to copy a subject's records without
scanning every file. Files are created readable by their owner only.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, Iterable

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from store.collection import CollectionStore

SOFTWARE = "tgsweep (warcio)"
OPEN = ".open"
FACTORY = WARCWriter(io.BytesIO(), gzip=False)  # makes records (digests, ids); _write writes them
# Headers that describe the bytes as sent, not as kept: Scrapy hands the body over decoded.
DECODED = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Closed:
    """A WARC file closed: its name (in the folder) and SHA-256."""

    name: str
    sha256: str
    records: int


def _private_file(path: Path) -> Any:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class WarcLog:
    """Rolling WARC files in `folder`; `closed` lists the files closed since it was made."""

    def __init__(self, folder: Path, max_bytes: int = 1 << 30, prefix: str = "tgsweep") -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.closed: list[Closed] = []
        self._file: Any = None
        self._path: Path | None = None
        self._index: Any = None
        self._records = 0
        self._serial = 0

    # -- writing ----------------------------------------------------------------------------------

    def exchange(self, url: str, status: int, headers: Iterable[tuple[str, str]], body: bytes | None,
                 request_headers: Iterable[tuple[str, str]] = (), method: str = "GET", protocol: str = "HTTP/1.1",
                 meta: dict[str, Any] | None = None) -> None:
        """One HTTP fetch: request, response (status and headers as received; `body` None: left out, as in
        hash-only mode, the metadata record says so) and metadata, linked by WARC-Concurrent-To."""
        writer = self._writer()
        kept = [(k, v) for k, v in headers if k.lower() not in DECODED]
        if body is not None:
            kept.append(("Content-Length", str(len(body))))
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body or b""),
            http_headers=StatusAndHeaders(f"{status} {reason}", kept, protocol=protocol))
        rid = response.rec_headers.get_header("WARC-Record-ID")
        target = url.split("://", 1)[-1]
        path = "/" + target.split("/", 1)[1] if "/" in target else "/"
        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"{method} {path} {protocol}", list(request_headers), is_http_request=True),
            warc_headers_dict={"WARC-Concurrent-To": rid, "WARC-Date": response.rec_headers.get_header("WARC-Date")})
        info = dict(meta or {})
        if body is None:
            info["body"] = "left out (hash-only mode: media bytes are never kept)"
        self._write(response, url, meta)
        self._write(request, url, meta)
        self._write(self._metadata(writer, url, rid, info), url, meta)

    def resource(self, urn: str, body: bytes, content_type: str = "application/json",
                 meta: dict[str, Any] | None = None) -> None:
        """An answer that is not an HTTP exchange (a Telethon call), kept as a `resource` record."""
        writer = self._writer()
        record = writer.create_warc_record(urn, "resource", payload=io.BytesIO(body), warc_content_type=content_type)
        self._write(record, urn, meta)
        self._write(self._metadata(writer, urn, record.rec_headers.get_header("WARC-Record-ID"), dict(meta or {})),
                    urn, meta)

    def close(self) -> list[Closed]:
        """Close the open file (if any); every file closed so far."""
        if self._file is not None:
            self._file.close()
            self._index.close()
            assert self._path is not None
            final = self._path.with_name(self._path.name[: -len(OPEN)])
            os.replace(self._path, final)
            os.replace(Path(f"{self._path}.idx"), Path(f"{final}.idx"))
            self.closed.append(Closed(final.name, file_sha256(final), self._records))
            self._file = self._index = self._path = None
        return self.closed

    # -- inside ---------------------------------------------------------------------------------------

    @staticmethod
    def _metadata(writer: WARCWriter, uri: str, concurrent: str, info: dict[str, Any]) -> Any:
        body = json.dumps(info, sort_keys=True, ensure_ascii=False).encode()
        # its own target (linked by WARC-Concurrent-To): replay tools index metadata records by target,
        # and one sharing the page's URI is served in the page's place
        return writer.create_warc_record(
            f"urn:tgsweep:metadata:{uri}", "metadata", payload=io.BytesIO(body), warc_content_type="application/json",
            warc_headers_dict={"WARC-Concurrent-To": concurrent})

    def _writer(self) -> WARCWriter:
        """The open file's writer; a new file when none is open or the open one is full (between fetches only,
        so a fetch's records never straddle two files)."""
        if self._file is not None and self._file.tell() >= self.max_bytes:
            self.close()
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._serial += 1
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
            # the pid third (recover() reads it); a random tail: two logs of one process never share a name
            name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._serial}-{secrets.token_hex(3)}.warc.gz"
            self._path = self.folder / (name + OPEN)
            self._file = _private_file(self._path)
            self._index = _private_file(Path(f"{self._path}.idx"))
            self._records = 0
            info = FACTORY.create_warcinfo_record(name, {"software": SOFTWARE, "format": "WARC File Format 1.1",
                                                         "description": "captures of public Telegram pages"})
            self._write(info, "", None)
        return FACTORY

    def _write(self, record: Any, uri: str, meta: dict[str, Any] | None) -> None:
        """One record as its own gzip member, compressed at level 1: warcio's own writer uses level 9, which
        made a sweep 8-11 % slower (benchmarks/bench_sweep.py); the store keeps its captures at level 1 too."""
        plain = io.BytesIO()
        WARCWriter(plain, gzip=False).write_record(record)
        packer = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        start = self._file.tell()
        self._file.write(packer.compress(plain.getvalue()) + packer.flush())
        self._file.flush()
        self._records += 1
        line = {"offset": start, "length": self._file.tell() - start, "type": record.rec_type, "uri": uri,
                "channel": (meta or {}).get("channel"), "kind": (meta or {}).get("kind"),
                "sha256": (meta or {}).get("sha256"), "date": record.rec_headers.get_header("WARC-Date")}
        self._index.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
        self._index.flush()


def recover(folder: Path) -> list[Closed]:
    """Close the files a killed process left open (its pid, in the name, no longer runs): cut each after
    its last whole record (and its index after the same record), then close it as WarcLog.close would."""
    out = []
    for path in sorted(Path(folder).glob(f"*.warc.gz{OPEN}")):
        if _running(path.name):
            continue
        good, records = 0, 0
        with path.open("rb") as f:
            try:
                iterator = ArchiveIterator(f)
                for record in iterator:
                    record.content_stream().read()
                    iterator.read_to_end()
                    start, length = iterator.get_record_offset(), iterator.get_record_length()
                    if not _whole_member(path, start, length):
                        break
                    good, records = start + length, records + 1
            except Exception:  # a torn last record: keep what came before it
                pass
        with path.open("r+b") as f:
            f.truncate(good)
        index = Path(f"{path}.idx")
        if index.exists():
            lines = [line for line in index.read_text(encoding="utf-8").splitlines()
                     if line.strip() and _ends_within(line, good)]
            index.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        final = path.with_name(path.name[: -len(OPEN)])
        os.replace(path, final)
        if index.exists():
            os.replace(index, Path(f"{final}.idx"))
        out.append(Closed(final.name, file_sha256(final), records))
    return out


def _whole_member(path: Path, start: int, length: int) -> bool:
    """Whether the bytes at [start, start + length) are one whole gzip member (a record written to its end)."""
    with path.open("rb") as f:
        f.seek(start)
        data = f.read(length)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflate.decompress(data)
    except zlib.error:
        return False
    return inflate.eof and len(data) == length


def _running(name: str) -> bool:
    """Whether the process that named the file (tgsweep-<time>-<pid>-<n>-<random>.warc.gz.open) still runs."""
    try:
        pid = int(name.split("-")[2])
        os.kill(pid, 0)
    except (IndexError, ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's live process
        return True
    return True


async def reconcile(store: CollectionStore, folder: Path, sweep_id: int | None) -> list[Closed]:
    """Close what killed processes left open, then enter in the custody chain every closed file it lacks
    (files closed by this process, by one killed before it could, or recovered now)."""
    recovered = recover(folder)
    known = await store.warc_files_recorded()
    missing = [(p.name, file_sha256(p), 0) for p in closed_files(folder) if p.name not in known]
    if missing:
        await store.record_warc_files(missing, sweep_id)
    return recovered


def _ends_within(line: str, size: int) -> bool:
    try:
        entry = json.loads(line)
        return entry["offset"] + entry["length"] <= size
    except (ValueError, KeyError, TypeError):
        return False


def closed_files(folder: Path) -> list[Path]:
    """The closed WARC files in the folder, oldest first."""
    return sorted(Path(folder).glob("*.warc.gz")) if Path(folder).is_dir() else []


def telethon_urn(url: str) -> str:
    """A Telethon call's capture URL (tg://name?history...) as the `urn:` a resource record targets."""
    return "urn:tgsweep:telethon:" + url.replace("tg://", "", 1)


