"""A subject's evidence as WACZ (Webrecorder's packaging of WARCs: what ReplayWeb.page opens).

The WARC records of the subject's captures (its channel pages, entity pages, embed re-checks,
media, Telethon answers: every record whose bytes have one of the bundle's SHA-256s) are copied
as they are, byte for byte, from the store's WARC files (crawler/warc.py; each record is its own
gzip member, so a copy is a valid WARC) into one WARC; py-wacz then writes the CDXJ index, the
pages list and the datapackage with every file's hash. Pages are the channel pages captured, so
a reader browses the channel as it was. In hash-only mode no media bytes were ever written to a
WARC, and the package's description says so.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from crawler.warc import closed_files, file_sha256
from graph.evidence.bundle import EvidenceInput


def subject_records(folder: Path, digests: set[str]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(file, index entry) of every record in the closed WARC files about bytes in `digests`, in file order."""
    for path in closed_files(folder):
        index = Path(f"{path}.idx")
        if not index.exists():
            continue
        for line in index.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("sha256") in digests:
                yield path, entry


def _pages(ev: EvidenceInput, copied: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, pages = set(), []
    for entry in copied:
        if entry["type"] == "response" and entry.get("kind") in ("channel_page", "entity_page") \
                and entry["uri"] not in seen:
            seen.add(entry["uri"])
            pages.append({"url": entry["uri"], "ts": entry.get("date") or "", "title": f"{ev.subject}: {entry['uri']}"})
    return pages


def write_wacz(ev: EvidenceInput, warc_dir: Path, target: Path) -> dict[str, Any]:
    """The WACZ of `ev` at `target` (written beside it, then renamed); what went in, and its SHA-256."""
    from wacz.main import main as wacz_main

    digests = {c["sha256"] for c in ev.captures} | {m["sha256"] for m in ev.media}
    work = Path(tempfile.mkdtemp(prefix="tgsweep-wacz-"))
    try:
        warc = work / "evidence.warc.gz"
        copied = []
        with warc.open("wb") as out:
            handles: dict[Path, Any] = {}
            try:
                for path, entry in subject_records(warc_dir, digests):
                    if path not in handles:
                        handles[path] = path.open("rb")
                    handles[path].seek(entry["offset"])
                    out.write(handles[path].read(entry["length"]))
                    copied.append(entry)
            finally:
                for handle in handles.values():
                    handle.close()
        if not copied:
            raise LookupError(f"{ev.subject}: no WARC records of its captures (collected before WARC capture was "
                              "on, or with [storage] warc = false): export the ZIP bundle instead")
        pages = work / "pages.jsonl"
        pages.write_text("".join(json.dumps(p) + "\n" for p in [{"format": "json-pages-1.0", "id": "pages",
                                                                   "title": "All Pages"}] + _pages(ev, copied)),
                         encoding="utf-8")
        description = (f"tgsweep evidence of {ev.subject}: {len(copied)} WARC records copied unaltered from the "
                       "store's WARC files, whose SHA-256s are in the store's custody chain.")
        if ev.hash_only:
            description += " Hash-only mode ([media] keep = \"none\"): no media bytes were kept, so none are here."
        part = target.with_name(target.name + ".partial")
        code = wacz_main(["create", "-o", str(part), "-p", str(pages), "--title", f"tgsweep: {ev.subject}",
                          "--desc", description, str(warc)])
        if code not in (0, None) or not part.exists():
            raise RuntimeError(f"py-wacz could not write the package (exit {code})")
        os.chmod(part, 0o600)
        os.replace(part, target)
        return {"records": len(copied), "pages": len(_pages(ev, copied)), "sha256": file_sha256(target)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
