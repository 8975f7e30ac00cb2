"""Hash banks: imported hash lists, and matching media fingerprints against them.

A bank is a named list of hashes (a victim's request, a case list, a StopNCII-style list:
PDQ for images, MD5 for videos), imported from CSV with the header `hash_type,hash[,label]`.
`parse_hash_csv` is pure and reports every bad row with its line number; the good rows load.

`BankMatcher` matches one item's hashes against every bank: MD5 and SHA-256 exactly, PDQ by
Hamming distance (the item's whole-picture hash, its rotations/flips and its trimmed/centre
alternates, so the smallest distance wins; through `hash_index.PdqIndex`), pHash by Hamming
distance on the whole picture. Each match has a distance and a tier: near-certain, match or
weak lead (the `[fingerprints]` settings).

A picture of good quality (`crop_min_quality`) is also looked up as a crop: its crop hypotheses
(detectors/media/crops.py) against the PDQ hashes, compared on the bits each hypothesis trusts.
The distance is the trusted bits that differ scaled to 256; padding brings unrelated pictures
closer than plain PDQ does, so a crop match is at best a `match` (`crop_match`), a weak lead up
to `crop_review`, never near-certain; its `via` names the hypothesis ("cropped: original = this
picture + about 8 % at the top").
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import numpy as np

from detectors.media.crops import CropHashes, describe
from detectors.media.fingerprints import MIN_QUALITY, lookup_names
from detectors.media.hash_index import PdqIndex
from detectors.media.video import frame_names
from store.alerts import AlertSettings
from store.banks import BanksStore
from store.records import now
from tgsweep.config import Fingerprints, default

HASH_TYPES = {"pdq": 64, "md5": 32, "sha256": 64, "phash": 16}
_HEX = re.compile(r"^[0-9a-f]+$")
TIERS = ("near-certain", "match", "weak lead")


@dataclass(slots=True)
class MatchSettings:
    """The `[fingerprints]` settings this module needs (tgsweep.config.Fingerprints has them all)."""

    pdq_threshold: int = default(Fingerprints, "pdq_threshold")
    phash_threshold: int = default(Fingerprints, "phash_threshold")
    pdq_near_certain: int = default(Fingerprints, "pdq_near_certain")
    pdq_match: int = default(Fingerprints, "pdq_match")
    phash_near_certain: int = default(Fingerprints, "phash_near_certain")
    phash_match: int = default(Fingerprints, "phash_match")
    min_pdq_quality: int = MIN_QUALITY
    crop_matching: bool = default(Fingerprints, "crop_matching")
    crop_match: int = default(Fingerprints, "crop_match")
    crop_review: int = default(Fingerprints, "crop_review")
    crop_min_quality: int = default(Fingerprints, "crop_min_quality")


def settings_from(config: Any) -> MatchSettings:
    section = getattr(config, "fingerprints", config)
    if section is None:
        return MatchSettings()
    return MatchSettings(**{k: getattr(section, k) for k in MatchSettings.__dataclass_fields__
                            if hasattr(section, k)})


def tier(hash_type: str, distance: int, s: MatchSettings) -> str:
    if hash_type in ("md5", "sha256"):
        return "near-certain"
    near, match = (s.pdq_near_certain, s.pdq_match) if hash_type == "pdq" else (s.phash_near_certain, s.phash_match)
    return "near-certain" if distance <= near else "match" if distance <= match else "weak lead"


# -- import ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class BankHash:
    hash_type: str
    hash: str
    label: str
    line: int


@dataclass(slots=True)
class ParsedList:
    hashes: list[BankHash] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    duplicates: int = 0


def _add(out: ParsedList, seen: set[tuple[str, str]], kind: str, value: str, label: str, line: int) -> None:
    """One row of a list: checked, then kept (or counted as a duplicate, or reported with its line)."""
    value = value.lower().removeprefix("0x")
    if kind not in HASH_TYPES:
        out.problems.append((line, f"hash_type {kind!r} is not one of {', '.join(HASH_TYPES)}"))
    elif not value:
        out.problems.append((line, "hash is empty"))
    elif not _HEX.match(value):
        out.problems.append((line, f"{kind} hash is not hexadecimal: {value[:80]!r}"))
    elif len(value) != HASH_TYPES[kind]:
        out.problems.append((line, f"{kind} hash has {len(value)} hex digits, expected {HASH_TYPES[kind]}"))
    elif (kind, value) in seen:
        out.duplicates += 1
    else:
        seen.add((kind, value))
        out.hashes.append(BankHash(kind, value, label, line))


def parse_hash_rows(rows: Iterable[tuple[str, str, str]]) -> ParsedList:
    """(hash type, hex, label) rows read from elsewhere (a STIX bundle, a MISP event), checked as a list's rows."""
    out, seen = ParsedList(), set()
    for line, (kind, value, label) in enumerate(rows, 1):
        _add(out, seen, kind, value, label, line)
    return out


def parse_hash_csv(text: str) -> ParsedList:
    """CSV `hash_type,hash[,label]` (header required, any column order, extra columns ignored)."""
    out = ParsedList()
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    seen: set[tuple[str, str]] = set()
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if "hash_type" not in header or "hash" not in header:
                out.problems.append((line, f"header must name the columns hash_type,hash[,label] (got {','.join(row)!r})"))
                return out
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        _add(out, seen, cells.get("hash_type", "").lower(), cells.get("hash", ""), cells.get("label", "") or "", line)
    if header is None:
        out.problems.append((1, "empty file: expected a header hash_type,hash[,label]"))
    return out


# ThreatExchange's signal type names (python-threatexchange, the file exchange HMA also reads) -> ours
SIGNAL_TYPES = {"pdq": "pdq", "video_md5": "md5", "photo_md5": "md5", "md5": "md5", "sha256": "sha256"}


def parse_signal_lines(text: str) -> ParsedList:
    """ThreatExchange's file exchange format: one `signal_type signal` per line (`pdq <64 hex>`,
    `video_md5 <32 hex>`); the rest of a line, if any, is its label. Blank and `#` lines skipped."""
    out = ParsedList()
    seen: set[tuple[str, str]] = set()
    for line, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        parts = raw.strip().split(None, 2)
        if not parts or parts[0].startswith("#"):
            continue
        name = parts[0].lower()
        if name not in SIGNAL_TYPES:
            out.problems.append((line, f"signal type {parts[0]!r} is not one of {', '.join(SIGNAL_TYPES)}"))
            continue
        _add(out, seen, SIGNAL_TYPES[name], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "", line)
    return out


PARSERS = {"csv": parse_hash_csv, "threatexchange": parse_signal_lines}


# -- matching ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class BankMatch:
    bank: str
    label: str
    hash_type: str
    hash: str
    distance: int
    tier: str
    via: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Hashes:
    """What matching needs of one item (a Fingerprints or a media row)."""

    sha256: str | None = None
    md5: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    phash: str | None = None
    pdq_lookup: list[str] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)  # a video's keyframes (detectors/media/video.py)
    pdq_crops: bytes | None = None  # crop hypotheses (detectors/media/crops.py)

    @classmethod
    def of(cls, item: Any) -> "Hashes":
        get = item.get if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
        lookup = get("pdq_lookup") or []
        if isinstance(lookup, str):
            lookup = json.loads(lookup)
        frames = get("frames") or []
        if isinstance(frames, str):
            frames = json.loads(frames)
        return cls(get("sha256"), get("md5"), get("pdq"), get("pdq_quality"), get("phash"), list(lookup),
                   list(frames), get("pdq_crops"))


class BankMatcher:
    """Every bank's hashes in memory, ready to match items against."""

    def __init__(self, entries: Iterable[tuple[str, str, str, str]], settings: MatchSettings | None = None):
        self.settings = settings or MatchSettings()
        self.exact: dict[tuple[str, str], list[tuple[str, str]]] = {}
        pdq: list[tuple[str, str, str]] = []
        phash: list[tuple[str, str, str]] = []
        for bank, kind, value, label in entries:
            if kind in ("md5", "sha256"):
                self.exact.setdefault((kind, value), []).append((bank, label))
            elif kind == "pdq":
                pdq.append((bank, value, label))
            elif kind == "phash":
                phash.append((bank, value, label))
        self.pdq_entries = pdq
        self.pdq_index = PdqIndex.from_hex([v for _, v, _ in pdq]) if pdq else None
        self.phash_entries = phash
        self.phash_words = np.array([int(v, 16) for _, v, _ in phash], dtype=np.uint64)
        self.size = sum(len(v) for v in self.exact.values()) + len(pdq) + len(phash)

    def match(self, item: Any) -> list[BankMatch]:
        h = item if isinstance(item, Hashes) else Hashes.of(item)
        s = self.settings
        found: dict[tuple[str, str, str], BankMatch] = {}

        def add(m: BankMatch) -> None:
            key = (m.bank, m.hash_type, m.hash)
            old = found.get(key)
            if old is None or (TIERS.index(m.tier), m.distance) < (TIERS.index(old.tier), old.distance):
                found[key] = m

        for kind in ("sha256", "md5"):
            value = getattr(h, kind)
            for bank, label in self.exact.get((kind, value), []) if value else []:
                add(BankMatch(bank, label, kind, value, 0, "near-certain", kind))
        if self.pdq_index is not None and h.frames:  # a video: every usable keyframe, named by its time
            queries = frame_names([f for f in h.frames if (f.get("pdq_quality") or 0) >= s.min_pdq_quality])
        elif self.pdq_index is not None and h.pdq and (h.pdq_quality or 0) >= s.min_pdq_quality:
            lookup = h.pdq_lookup or [h.pdq]
            names = lookup_names(len(lookup)) if h.pdq_lookup else ["whole"]
            queries = list(zip(lookup, names + ["whole"] * (len(lookup) - len(names))))
        else:
            queries = []
        if queries:
            for query, via in queries:
                ids, d = self.pdq_index.search_hex(query, s.pdq_threshold)
                for i, dist in zip(ids.tolist(), d.tolist()):
                    bank, value, label = self.pdq_entries[i]
                    add(BankMatch(bank, label, "pdq", value, dist, tier("pdq", dist, s), via))
        if self.pdq_index is not None and s.crop_matching and h.pdq_crops and not h.frames \
                and (h.pdq_quality or 0) >= max(s.crop_min_quality, s.min_pdq_quality):
            for m in self._crop_matches(CropHashes.unpack(h.pdq_crops)):
                add(m)
        phashes = [(f["phash"], f"keyframe at {f['t']:.0f} s") for f in h.frames if f.get("phash")] if h.frames \
            else [(h.phash, "whole")] if h.phash else []
        for value_, via in phashes if len(self.phash_words) else []:
            d = np.bitwise_count(self.phash_words ^ np.uint64(int(value_, 16)))
            for i in np.nonzero(d <= s.phash_threshold)[0].tolist():
                bank, value, label = self.phash_entries[i]
                dist = int(d[i])
                add(BankMatch(bank, label, "phash", value, dist, tier("phash", dist, s), via))
        return sorted(found.values(), key=lambda m: (TIERS.index(m.tier), m.distance, m.bank, m.hash))

    def _crop_matches(self, crops: CropHashes) -> list[BankMatch]:
        s = self.settings
        assert self.pdq_index is not None
        hits = self.pdq_index.search_masked(crops.bits, crops.masks, s.crop_review / 256)
        out = []
        for i, q, wrong, trusted, d in zip(hits.ids.tolist(), hits.query.tolist(), hits.wrong.tolist(),
                                           hits.trusted.tolist(), hits.distance().tolist()):
            if d > s.crop_review:
                continue
            bank, value, label = self.pdq_entries[i]
            via = f"{describe(q)} ({wrong} of the {trusted} bits it can trust differ)"
            out.append(BankMatch(bank, label, "pdq", value, d, "match" if d <= s.crop_match else "weak lead", via))
        return out


# -- store -------------------------------------------------------------------------------------------

async def import_bank(store: BanksStore, name: str, parsed: ParsedList, source: str | None = None) -> int:
    """Add the parsed hashes to bank `name` (created if new); returns how many were new."""
    return await store.add_bank_hashes(name, source, [(h.hash_type, h.hash, h.label, h.line) for h in parsed.hashes])


async def sync_bank(store: BanksStore, name: str, parsed: ParsedList, source: str | None, version: str,
                    etag: str | None = None) -> dict[str, int]:
    """Make the bank equal to the list (a newer version of a list kept elsewhere): hashes it no longer
    holds stop matching, and their alerts not yet sent are withdrawn."""
    added, withdrawn, alerts = await store.sync_bank(
        name, source, version, [(h.hash_type, h.hash, h.label, h.line) for h in parsed.hashes], etag)
    return {"added": added, "withdrawn": withdrawn, "alerts_withdrawn": alerts}


async def list_banks(store: BanksStore) -> list[dict[str, Any]]:
    return [{"name": row["name"], "hashes": row["hashes"], "by_type": kinds, "matched_media": row["matched"],
             "source": row["source"], "imported_at": row["imported_at"], "version": row["version"],
             "synced_at": row["synced_at"]} for row, kinds in await store.bank_rows()]


async def remove_bank(store: BanksStore, name: str) -> bool:
    return await store.remove_bank(name)


async def load_matcher(store: BanksStore, settings: MatchSettings) -> BankMatcher:
    return BankMatcher(await store.bank_hashes(), settings)


async def match_all_media(store: BanksStore, settings: MatchSettings, alerts: AlertSettings | None = None) -> dict[str, int]:
    """Match every collected media file against every bank; bank_matches is rewritten in one go.

    New matches raise `bank_match` alerts in the same transaction (store/alerts.py);
    `alerts` is an AlertSettings (None: the defaults). counts["alerts"] = alerts written.
    """
    matcher = await load_matcher(store, settings)
    rows = await store.media_hashes() if matcher.size else []
    t = now()
    records = []
    counts = {tier_: 0 for tier_ in TIERS}
    for row in rows:
        for m in matcher.match(dict(row)):
            records.append((row["sha256"], m.bank, m.hash_type, m.hash, m.label, m.distance, m.tier, m.via, t))
            counts[m.tier] += 1
    raised = await store.replace_bank_matches(records, alerts or AlertSettings())
    counts["media_matched"] = len({r[0] for r in records})
    counts["alerts"] = raised
    return counts
