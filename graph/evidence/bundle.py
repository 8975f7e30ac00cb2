"""Evidence bundles: what the store holds about one subject, as one zip a court can check.

Pure assembly: the caller (graph/evidence/gather.py) reads rows and bytes from the store; this
module lays them out, writes the human summary and the SHA-256 manifest, and packs a
deterministic zip (fixed timestamps, sorted names, fixed permissions), so the same store
gives the same bundle, byte for byte, and the bundle's own hash can be quoted in a report.

Layout of a bundle (every path is relative to the zip's root):

    summary.md            what, when first/last seen, why escalated, counts (no content: media by hash)
    subject.json          the subject, its profile row, escalation and the store's custody head
    posts.jsonl           the posts, as `tgsweep export messages` writes them
    captures.jsonl        one line per raw capture: sha256, kind, url, size, first_fetched, file
    captures/<sha256>.<html|json|bin>   the raw captures, byte for byte as fetched
    media.jsonl           one line per media file: hashes, size, mime, cluster, included or why not
    media/<sha256>        the media bytes (absent in hash-only mode, or when the file is gone)
    custody.jsonl         the custody-log entries of these captures and media, with their chain hashes
    bots.jsonl            verdicts of the bots involved (label, score, reasons, analyst override)
    escalations.jsonl     escalation scores and reasons of the subject and the nodes around it
    bank_matches.jsonl    hash-bank matches of the media
    manifest.sha256       `sha256sum -c` format: the SHA-256 of every other file
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

from crawler.web.tme_parse import parse_channel_page
from store.custody import GENESIS, entry_hash
from store.custody import sha256 as bytes_sha256

MANIFEST = "manifest.sha256"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bundle
_EXTENSIONS = {"channel_page": "html", "entity_page": "html", "embed_page": "html", "telethon_json": "json"}
CHUNK = 1 << 20
Content = Union[bytes, Path]  # bytes in memory, or a file streamed into the zip (media can be large)


@dataclass
class EvidenceInput:
    """Everything one bundle holds, as read from the store (rows as dicts, bytes as bytes)."""

    subject: str  # graph node id: channel:<u>, bot:<u>, media:<cluster>
    kind: str  # channel, bot, media
    profile: dict[str, Any] = field(default_factory=dict)  # the channels/bots row, or the cluster row
    posts: list[dict[str, Any]] = field(default_factory=list)  # exported messages
    captures: list[dict[str, Any]] = field(default_factory=list)  # raw_captures rows + "content": bytes
    media: list[dict[str, Any]] = field(default_factory=list)  # media rows + "content": Content | None, "absent"
    custody: list[dict[str, Any]] = field(default_factory=list)  # custody_log rows
    bots: list[dict[str, Any]] = field(default_factory=list)  # detectors.bots.stage.list_bots entries
    escalations: list[dict[str, Any]] = field(default_factory=list)  # escalations rows, reasons decoded
    bank_matches: list[dict[str, Any]] = field(default_factory=list)
    hash_only: bool = False  # [media] keep = "none": no media bytes in the bundle
    custody_head: dict[str, Any] = field(default_factory=dict)  # the store's last entry: seq, entry_hash


def _stream_sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256(data: Content) -> str:
    """SHA-256 of bytes, or of a file read in chunks."""
    if isinstance(data, Path):
        with data.open("rb") as handle:
            return _stream_sha256(handle)
    return bytes_sha256(data)


def capture_name(capture: dict[str, Any]) -> str:
    return f"captures/{capture['sha256']}.{_EXTENSIONS.get(capture['kind'], 'bin')}"


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def bundle_files(ev: EvidenceInput) -> dict[str, Content]:
    """Every file of the bundle by its path, the manifest last over all the others."""
    files: dict[str, Content] = {}
    posts = sorted(ev.posts, key=lambda p: (p["channel"], p["id"]))
    files["posts.jsonl"] = b"".join(json.dumps(p, ensure_ascii=False).encode() + b"\n" for p in posts)
    capture_rows = []
    for c in sorted(ev.captures, key=lambda c: c["sha256"]):
        name = capture_name(c)
        files[name] = bytes(c["content"])
        capture_rows.append({k: c.get(k) for k in ("sha256", "kind", "url", "size", "first_fetched")} | {"file": name})
    files["captures.jsonl"] = _jsonl(capture_rows)
    media_rows = []
    for m in sorted(ev.media, key=lambda m: m["sha256"]):
        row = {k: v for k, v in m.items() if k not in ("content", "absent", "path")}
        if m.get("content") is not None and not ev.hash_only:
            row["file"] = f"media/{m['sha256']}"
            files[row["file"]] = m["content"] if isinstance(m["content"], Path) else bytes(m["content"])
        else:
            row["file"] = None
            row["not_included"] = "hash-only mode ([media] keep = \"none\")" if ev.hash_only else (
                m.get("absent") or "no file kept")
        media_rows.append(row)
    files["media.jsonl"] = _jsonl(media_rows)
    files["custody.jsonl"] = _jsonl(sorted(ev.custody, key=lambda e: e["seq"]))
    files["bots.jsonl"] = _jsonl(sorted(ev.bots, key=lambda b: b["username"]))
    files["escalations.jsonl"] = _jsonl(sorted(ev.escalations, key=lambda e: (-(e.get("score") or 0), e["subject"])))
    files["bank_matches.jsonl"] = _jsonl(sorted(ev.bank_matches, key=lambda m: (
        m["sha256"], m["bank"], m["hash_type"], m["hash"])))
    files["subject.json"] = _json({"subject": ev.subject, "kind": ev.kind, "profile": ev.profile,
                                   "escalation": _own_escalation(ev), "hash_only": ev.hash_only,
                                   "custody_head": ev.custody_head})
    files["summary.md"] = summary_markdown(ev).encode()
    files[MANIFEST] = manifest(files)
    return dict(sorted(files.items()))


def manifest(files: dict[str, Content]) -> bytes:
    """`<sha256>  <path>` per file, sorted by path: checkable with `sha256sum -c manifest.sha256`."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items()) if name != MANIFEST).encode()


def write_zip(files: dict[str, Content], target: IO[bytes]) -> None:
    """A deterministic zip: sorted names, one fixed timestamp, fixed permissions; files streamed.
    Text is deflated; media are stored as they are (pictures and videos are compressed already)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name.startswith("media/") else zipfile.ZIP_DEFLATED
            # ZipFile.open(info, "w") takes the level from the ZipInfo: compress_level from 3.13, before that private
            setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 6)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine wrote it
            content = files[name]
            if isinstance(content, Path):
                info.file_size = content.stat().st_size
                with content.open("rb") as source, archive.open(info, "w", force_zip64=True) as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
            else:
                archive.writestr(info, content)


def zip_bytes(files: dict[str, Content]) -> bytes:
    buffer = io.BytesIO()
    write_zip(files, buffer)
    return buffer.getvalue()


def build_bundle(ev: EvidenceInput) -> bytes:
    """The bundle in memory (small subjects, tests); `write_bundle` streams to a file."""
    return zip_bytes(bundle_files(ev))


def write_bundle(ev: EvidenceInput, target: Path) -> str:
    """Write the bundle to `target` (via `<target>.partial`, then renamed); returns its SHA-256."""
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as handle:
        write_zip(bundle_files(ev), handle)
    partial.replace(target)
    return sha256(target)


def _own_escalation(ev: EvidenceInput) -> dict[str, Any] | None:
    return next((e for e in ev.escalations if e["subject"] == ev.subject), None)


def _span(values: list[str | None]) -> tuple[str, str]:
    present = sorted(v for v in values if v)
    return (present[0], present[-1]) if present else ("unknown", "unknown")


def summary_markdown(ev: EvidenceInput) -> str:
    """The human summary: what, when, why, how much; media named by hash only, no post texts."""
    p = ev.profile
    name = ev.subject.split(":", 1)[1]
    lines = [f"# Evidence bundle: {ev.subject}", ""]
    if ev.kind in ("bot", "channel"):
        lines.append(f"Telegram {ev.kind} @{name} (https://t.me/{name})"
                     + (f", title {p['title']!r}" if p.get("title") else ""))
    else:
        lines.append(f"Repost cluster {name}: the same picture in {p.get('appearances', len(ev.posts))} "
                     f"appearances; origin candidate {p.get('origin_channel') or '?'}/{p.get('origin_post') or '?'}")
    first, last = _span([p.get("first_seen"), p.get("last_seen")] + [x.get("first_seen") for x in ev.posts])
    post_first, post_last = _span([x.get("date") for x in ev.posts])
    lines += ["", "## When", "",
              f"- first collected: {first}; last collected: {last}",
              f"- posts dated from {post_first} to {post_last}"]
    own = _own_escalation(ev)
    lines += ["", "## Why it is escalated", ""]
    if own:
        lines.append(f"Escalation score {own.get('score', 0):.2f} (computed {own.get('computed_at') or '?'}):")
        lines += [f"- {r}" for r in own.get("reasons") or []] or ["- (no reasons recorded)"]
    else:
        lines.append("No escalation score is recorded for this subject (exported on request).")
    for bot in ev.bots:
        if bot.get("label") == "deepfake_generator" or bot["username"] == name:
            score = "-" if bot.get("score") is None else f"{bot['score']:.2f}"
            lines.append(f"- bot @{bot['username']}: {bot.get('label') or 'unknown'} (score {score})"
                         + (f", analyst override by {bot['override']['by']}" if bot.get("override") else ""))
            lines += [f"    - {r}" for r in (bot.get("reasons") or [])[:6]]
    if ev.bank_matches:
        lines += ["", "## Hash-bank matches", ""]
        for m in sorted(ev.bank_matches, key=lambda m: (m["sha256"], m["bank"])):
            lines.append(f"- media {m['sha256']}: bank {m['bank']}" + (f" ({m['label']})" if m.get("label") else "")
                         + f", {m['hash_type']} distance {m['distance']}, {m['tier']}")
    included = sum(1 for m in ev.media if m.get("content") is not None and not ev.hash_only)
    channels = sorted({x["channel"] for x in ev.posts})
    lines += ["", "## Counts", "",
              f"- posts: {len(ev.posts)} in {len(channels)} channel(s)" + (f": {', '.join(channels[:20])}"
                                                                          if channels else ""),
              f"- raw captures: {len(ev.captures)}",
              f"- media files: {len(ev.media)} ({included} included"
              + (", hash-only mode: no media bytes" if ev.hash_only else "") + ")",
              f"- bank matches: {len(ev.bank_matches)}; bots: {len(ev.bots)}; custody entries: {len(ev.custody)}",
              "", "## Posts", ""]
    for x in sorted(ev.posts, key=lambda x: (x["channel"], x["id"]))[:200]:
        hashes = [m["sha256"] for m in x.get("media") or [] if m.get("sha256")]
        lines.append(f"- https://t.me/{x['channel']}/{x['id']} ({x.get('date') or 'no date'})"
                     + (f", bots {', '.join('@' + b for b in x.get('bot_refs') or [])}" if x.get("bot_refs") else "")
                     + (f", media {', '.join(hashes)}" if hashes else ""))
    if len(ev.posts) > 200:
        lines.append(f"- ... {len(ev.posts) - 200} more in posts.jsonl")
    head = ev.custody_head
    lines += ["", "## How to check this bundle", "",
              "- `sha256sum -c manifest.sha256` (or `tgsweep evidence verify BUNDLE.zip`): every file matches.",
              "- Each file under captures/ and media/ is named by the SHA-256 of its bytes.",
              "- custody.jsonl: each entry's `entry_hash` is SHA-256 of the compact JSON list "
              "`[prev_hash, seq, at, action, sha256, url, sweep_id]`; consecutive entries link by `prev_hash`.",
              f"- The store's custody log ended at entry {head.get('seq', 0)} with hash "
              f"{head.get('entry_hash', GENESIS)} when this bundle was made; `tgsweep verify` on the store "
              "checks the whole chain.",
              "", "Post texts and pictures are not shown here: see posts.jsonl and media/ (by hash).", ""]
    return "\n".join(lines)


def check_custody(entries: list[dict[str, Any]]) -> list[str]:
    """Problems with custody entries: a hash that does not recompute, or consecutive entries that do not link."""
    problems = []
    previous: dict[str, Any] | None = None
    for e in sorted(entries, key=lambda e: e["seq"]):
        if entry_hash(e["prev_hash"], e["seq"], e["at"], e["action"], e["sha256"], e["url"],
                      e["sweep_id"]) != e["entry_hash"]:
            problems.append(f"custody entry {e['seq']}: entry_hash does not recompute (altered)")
        if previous is not None and previous["seq"] + 1 == e["seq"] and e["prev_hash"] != previous["entry_hash"]:
            problems.append(f"custody entry {e['seq']}: prev_hash does not link to entry {previous['seq']}")
        previous = e
    return problems


def verify_bundle(bundle: Content) -> list[str]:
    """Problems found in a bundle (bytes or a zip file): manifest sums, unlisted or missing files,
    names vs hashes, custody hashes. Members are hashed in chunks: a large bundle is never read whole."""
    try:
        archive = zipfile.ZipFile(bundle if isinstance(bundle, Path) else io.BytesIO(bundle))
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a zip file: {exc}"]
    with archive:
        names = archive.namelist()
        digests = {}
        for name in names:
            try:
                with archive.open(name) as member:
                    digests[name] = _stream_sha256(member)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a damaged member (bad CRC, truncated)
                return [f"{name}: unreadable ({exc})"]
        text = {n: archive.read(n) for n in (MANIFEST, "custody.jsonl", "captures.jsonl", "media.jsonl",
                                              "posts.jsonl", "subject.json") if n in names}
        pages = {n: archive.read(n) for n in names if n.startswith("captures/") and n.endswith(".html")}
    if MANIFEST not in text:
        return [f"no {MANIFEST} in the bundle"]
    problems = []
    listed: dict[str, str] = {}
    for number, line in enumerate(text[MANIFEST].decode("utf-8", "replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            problems.append(f"{MANIFEST} line {number}: not `<sha256>  <path>`")
            continue
        listed[name] = digest
    for name, digest in sorted(listed.items()):
        if name not in digests:
            problems.append(f"{name}: listed in the manifest but missing")
        elif digests[name] != digest:
            problems.append(f"{name}: SHA-256 does not match the manifest (altered)")
    for name in sorted(set(digests) - set(listed) - {MANIFEST}):
        problems.append(f"{name}: not in the manifest")
    for name, digest in sorted(digests.items()):
        if name.startswith(("captures/", "media/")):
            stem = name.split("/", 1)[1].split(".", 1)[0]
            if digest != stem:
                problems.append(f"{name}: bytes do not match the SHA-256 in its name")
    try:
        entries = _rows(text.get("custody.jsonl", b""))
        problems += check_custody(entries)
        problems += check_contents(entries, _rows(text.get("captures.jsonl", b"")), _rows(text.get("media.jsonl", b"")),
                                   _rows(text.get("posts.jsonl", b"")), set(digests), pages,
                                   json.loads(text.get("subject.json", b"{}")))
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"bundle index files unreadable ({exc})")
    return problems


def _rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def check_contents(custody: list[dict[str, Any]], captures: list[dict[str, Any]], media: list[dict[str, Any]],
                   posts: list[dict[str, Any]], members: set[str], pages: dict[str, bytes],
                   subject: dict[str, Any]) -> list[str]:
    """The bundle's content against the custody entries inside it, not only against its manifest.

    A manifest can be regenerated after an edit; custody entries cannot be forged without breaking
    their hashes. So every capture and media file must have its custody entry, every listed file
    must be there, and every post must read the same from the capture it cites.
    """
    problems = []
    logged = {(e["action"], e["sha256"]) for e in custody}
    head = (subject.get("custody_head") or {}).get("seq")
    if head is not None:
        problems += [f"custody entry {e['seq']}: after the bundle's custody head {head}" for e in custody
                     if e["seq"] > head]
    by_digest = {}
    for c in captures:
        by_digest[c["sha256"]] = c
        if ("capture", c["sha256"]) not in logged:
            problems.append(f"{c.get('file')}: capture has no custody entry in the bundle (swapped or entry removed)")
        if c.get("file") not in members:
            problems.append(f"{c.get('file')}: listed in captures.jsonl but missing")
    for m in media:
        if ("media", m["sha256"]) not in logged:
            problems.append(f"media {m['sha256'][:16]}: has no custody entry in the bundle")
        if m.get("file") and m["file"] not in members:
            problems.append(f"{m['file']}: listed in media.jsonl but missing")
        if not m.get("file") and not m.get("not_included"):
            problems.append(f"media {m['sha256'][:16]}: neither included nor said why not")
    parsed: dict[str, dict[tuple[str, int], str]] = {}
    for post in posts:
        digest = post.get("capture_sha256")
        capture = by_digest.get(digest)
        if capture is None:
            problems.append(f"post {post['channel']}/{post['id']}: cites capture {str(digest)[:16]}, not in the bundle")
            continue
        if capture.get("file") not in pages:
            continue  # API captures: their hash and custody entry are checked above
        if digest not in parsed:
            page = parse_channel_page(pages[capture["file"]], post["channel"])
            parsed[digest] = {(p.channel, p.id): p.text for p in page.posts}
        text = parsed[digest].get((post["channel"], post["id"]))
        if text is None:
            problems.append(f"post {post['channel']}/{post['id']}: not in the capture it cites")
        elif text != post.get("text"):
            problems.append(f"post {post['channel']}/{post['id']}: text differs from the capture it cites")
    return problems
