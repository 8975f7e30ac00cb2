"""The enrich stage: fingerprint new media, match them against the hash banks, build repost clusters.

Reads its input from the store and writes its output there, so it can be re-run at any time:

1. every media file not fingerprinted yet is read from `media_dir` and fingerprinted in a
   process pool (`[fingerprints] workers`), off the event loop (a video: its keyframes at one
   per second, `detectors.media.video`, within `[media] max_video_seconds`); in hash-only mode
   (`[media] keep = "none"`) the spider fingerprints the bytes as they arrive
   (`fingerprint_media`), before discarding them;
2. repost clusters are rebuilt: connected components of files within the PDQ threshold
   (`detectors.media.hash_index`), and of a file and a crop of it (a crop hypothesis close to
   the other file, confirmed by keypoints on both kept files: `detectors.media.geometry`), each
   with its earliest appearance as the origin candidate;
3. every media file is matched against every bank (`detectors.media.banks`); a new match raises a
   `bank_match` alert in the same transaction (store/alerts.py), naming its cluster.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from detectors.media.banks import MatchSettings, match_all_media, settings_from
from detectors.media.fingerprints import DEFAULT_MAX_PIXELS, Fingerprints
from detectors.media.geometry import Confirmation, confirm
from detectors.media.hash_index import Link, clusters, crop_candidates, near_duplicate_links
from detectors.media.video import DEFAULT_DEDUPE_DISTANCE, DEFAULT_MAX_SECONDS, fingerprint_any
from detectors.media.workers import worker_pool
from store.alerts import alert_settings
from store.media import MediaStore
from store.records import now

log = logging.getLogger(__name__)

IMAGE_MIMES = ("image/",)
MAX_CONFIRMATIONS = 500  # crop candidates compared on their pixels per build (each about 30 ms)
BACKFILL = 2000  # pictures given crop hypotheses per enrich after an upgrade (each about 25 ms)
_BATCH = 64
VIDEO_MIMES = ("video/",)
VIDEO_KINDS = ("video", "round_video", "gif")
VideoLimits = tuple[float, int]  # ([media] max_video_seconds, [media] video_dedupe_distance)
DEFAULT_VIDEO: VideoLimits = (DEFAULT_MAX_SECONDS, DEFAULT_DEDUPE_DISTANCE)


def is_image(mime: str | None) -> bool:
    return mime is None or mime.startswith(IMAGE_MIMES)


def video_limits(config: Any) -> VideoLimits:
    media = getattr(config, "media", None)
    return (getattr(media, "max_video_seconds", DEFAULT_MAX_SECONDS),
            getattr(media, "video_dedupe_distance", DEFAULT_DEDUPE_DISTANCE))


def fingerprint_path(path: str, max_pixels: int, video: VideoLimits = DEFAULT_VIDEO) -> Fingerprints:
    """Worker: read one kept media file and fingerprint it (runs in a pool process)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Fingerprints("", "", 0, error=f"could not read the kept file: {exc.strerror or exc}")
    return fingerprint_any(data, max_pixels, *video)


def fingerprint_media(data: bytes, kind: str, max_pixels: int,
                      video: VideoLimits = DEFAULT_VIDEO) -> Fingerprints | None:
    """Hash-only mode: fingerprint bytes at fetch time (the spider calls this before discarding them)."""
    if kind not in ("photo", "sticker", "link_preview_photo", "thumb", *VIDEO_KINDS):
        return None
    return fingerprint_any(data, max_pixels, *video)


async def fingerprint_fetched(store: MediaStore, config: Any, sha256: str, data: bytes, kind: str) -> None:
    """Hash-only mode: fingerprint fetched bytes before the collector drops them (crawler/media.py calls
    this through the hook the shell hands the collectors), saved in one transaction."""
    fp = await asyncio.to_thread(fingerprint_media, data, kind, config.media.max_pixels, video_limits(config))
    if fp is not None:
        await save_fingerprints(store, [(sha256, fp, None)])


async def save_fingerprints(store: MediaStore, items: list[tuple[str, Fingerprints | None, str | None]]) -> None:
    """Write (sha256, fingerprints or None, note) rows to the media table, one transaction."""
    t = now()
    rows = []
    for digest, fp, note in items:
        if fp is None:
            rows.append((None, None, None, None, None, None, None, note, t, digest))
        else:
            # a picture with no crop hypotheses (low quality) gets b"": computed, none (never back-filled again)
            crops = fp.pdq_crops if fp.pdq_crops is not None else b"" if fp.pdq and not fp.frames else None
            rows.append((fp.pdq, fp.pdq_quality, fp.phash, json.dumps(fp.pdq_alt), json.dumps(fp.pdq_lookup),
                         json.dumps(fp.frames) if fp.frames else None, crops, fp.error, t, digest))
    await store.save_fingerprint_rows(rows)


async def fingerprint_pending(store: MediaStore, media_dir: Path, max_pixels: int, workers: int = 0,
                              video: VideoLimits = DEFAULT_VIDEO) -> dict[str, int]:
    rows = await store.media_to_fingerprint()
    counts = Counter(fingerprinted=0, fingerprint_errors=0, not_images=0)
    jobs: list[tuple[str, str]] = []
    notes: list[tuple[str, Fingerprints | None, str | None]] = []
    for row in rows:
        if not is_image(row["mime"]) and not (row["mime"] or "").startswith(VIDEO_MIMES):
            note = f"not an image or video ({row['mime']}): hashed by SHA-256/MD5 only"
            notes.append((row["sha256"], None, note))
            counts["not_images"] += 1
        elif row["path"] is None:
            notes.append((row["sha256"], None, "bytes not kept (hash-only mode) and not fingerprinted at fetch time"))
            counts["fingerprint_errors"] += 1
        else:
            jobs.append((row["sha256"], str(media_dir / row["path"])))
    if notes:
        await save_fingerprints(store, notes)
    if not jobs:
        return dict(counts)
    loop = asyncio.get_running_loop()
    size = workers or os.cpu_count() or 1
    pool = worker_pool(min(size, len(jobs))) if len(jobs) > 2 else None
    try:
        for start in range(0, len(jobs), _BATCH):
            batch = jobs[start:start + _BATCH]
            if pool is None:
                results = [await asyncio.to_thread(fingerprint_path, path, max_pixels, video) for _, path in batch]
            else:
                results = await asyncio.gather(*(loop.run_in_executor(pool, fingerprint_path, path, max_pixels, video)
                                                 for _, path in batch))
            out = []
            for (digest, _), fp in zip(batch, results):
                if fp.sha256 and fp.sha256 != digest:
                    fp = Fingerprints(digest, "", 0, error="kept file does not match its SHA-256 (altered?)")
                counts["fingerprint_errors" if fp.error else "fingerprinted"] += 1
                out.append((digest, fp, None))
            await save_fingerprints(store, out)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return dict(counts)


def confirm_files(path_a: Path, path_b: Path) -> Confirmation:
    """Keypoints of two kept files (runs off the event loop); an unreadable file is a reason, not an error."""
    try:
        return confirm(path_a.read_bytes(), path_b.read_bytes())
    except OSError as exc:
        return Confirmation(False, 0, 0, f"not compared: {exc.strerror or exc}")


async def crop_links(store: MediaStore, media: list[Any], links: list[Link], settings: MatchSettings,
                     media_dir: Path | None) -> tuple[list[Link], Counter]:
    """Links between a picture and a crop of it: a crop hypothesis within `crop_review` of the other
    picture's hashes (crops.py), confirmed on the pixels of both kept files (geometry.py: keypoints
    agreeing under one transform). Each pair is compared once (`media_pair_checks`: the answer is
    kept, newest files first, at most MAX_CONFIRMATIONS per build); without both files (hash-only
    mode) a candidate is not linked: a false link would merge the spread of unrelated pictures."""
    counts: Counter = Counter(crop_links=0, crop_candidates_compared=0, crop_candidates_rejected=0,
                              crop_candidates_unconfirmable=0)
    if not settings.crop_matching or media_dir is None:
        return [], counts
    # pictures only (videos have no crop hypotheses and are not compared), of a quality worth searching
    searched = [bool(r["pdq_crops"]) and (r["pdq_quality"] or 0) >= settings.crop_min_quality for r in media]
    primary = [([r["pdq"]] + json.loads(r["pdq_alt"] or "[]")) if ok else [] for r, ok in zip(media, searched)]
    crops = [r["pdq_crops"] if ok else None for r, ok in zip(media, searched)]
    candidates = await asyncio.to_thread(crop_candidates, primary, crops, settings.crop_review / 256)
    joined = clusters(len(media), links)
    checked = await store.pair_checks()
    kept: list[Link] = []
    new_checks = []
    for link in sorted(candidates, key=lambda k: -k.b):  # the newest files first
        a, b = media[link.a], media[link.b]
        if joined[link.a] == joined[link.b]:
            continue
        pair = tuple(sorted((a["sha256"], b["sha256"])))
        if pair in checked:
            if checked[pair]:
                kept.append(link)
            continue
        if not (a["path"] and b["path"]):
            counts["crop_candidates_unconfirmable"] += 1
            continue
        if counts["crop_candidates_compared"] >= MAX_CONFIRMATIONS:
            continue
        counts["crop_candidates_compared"] += 1
        confirmed = await asyncio.to_thread(confirm_files, media_dir / a["path"], media_dir / b["path"])
        if confirmed.reason.startswith("not compared"):
            counts["crop_candidates_unconfirmable"] += 1
            continue
        new_checks.append((*pair, int(confirmed.same), confirmed.reason, now()))
        if confirmed.same:
            kept.append(link)
        else:
            counts["crop_candidates_rejected"] += 1
    await store.save_pair_checks(new_checks)
    counts["crop_links"] = len(kept)
    return kept, counts


async def backfill_crops(store: MediaStore, media_dir: Path, max_pixels: int, limit: int = BACKFILL) -> int:
    """Crop hypotheses for kept pictures fingerprinted before they existed (only that column is written;
    a file that cannot be read now is left for the next run, its other hashes untouched)."""
    rows = await store.media_without_crops(limit)
    done = []
    for row in rows:
        fp = await asyncio.to_thread(fingerprint_path, str(media_dir / row["path"]), max_pixels)
        if fp.error is None and fp.sha256 == row["sha256"]:
            done.append((fp.pdq_crops or b"", row["sha256"]))
    await store.save_crops(done)
    return len(done)


async def build_clusters(store: MediaStore, threshold: int, min_quality: int,
                         settings: MatchSettings | None = None, media_dir: Path | None = None) -> dict[str, int]:
    """Rebuild repost clusters over every fingerprinted file; cluster ids survive re-runs. With the
    kept files' folder, a crop of a file joins its cluster too (`crop_links`)."""
    media = await store.fingerprinted_media()
    shas = [r["sha256"] for r in media]
    primary, lookup = [], []
    for r in media:
        usable = r["pdq"] is not None and (r["pdq_quality"] or 0) >= min_quality
        primary.append(([r["pdq"]] + json.loads(r["pdq_alt"] or "[]")) if usable else [])
        lookup.append((json.loads(r["pdq_lookup"] or "[]") or [r["pdq"]]) if usable else [])
    links = await asyncio.to_thread(near_duplicate_links, primary, lookup, threshold)
    cropped, crop_counts = await crop_links(store, media, links, settings or MatchSettings(), media_dir)
    links += cropped
    roots = clusters(len(media), links)
    members: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(roots):
        members[root].append(i)
    worst: dict[int, int] = {}
    for link in links:
        root = roots[link.a]
        worst[root] = max(worst.get(root, 0), link.distance)
    appearances: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for sha, channel, post_id, date in await store.media_appearances():
        appearances[sha].append((date or "", channel, post_id))
    t = now()
    updates, rows = [], []
    counts = Counter(clusters=0, repost_clusters=0, reposted_files=0, cross_channel_clusters=0)
    for root, idx in members.items():
        seen = sorted(a for i in idx for a in appearances.get(shas[i], []))
        existing = Counter(media[i]["cluster"] for i in idx if media[i]["cluster"])
        origin_sha = shas[idx[0]]
        origin = (None, None, None)
        if seen:
            origin = seen[0]
            origin_sha = next(shas[i] for i in idx if origin in appearances.get(shas[i], []))
        cluster_id = (min(existing, key=lambda c: (-existing[c], c)) if existing else origin_sha[:16])
        channels = list(dict.fromkeys(c for _, c, _ in seen))
        counts["clusters"] += 1
        if len(idx) > 1 or len(seen) > 1:
            counts["repost_clusters"] += 1
            counts["reposted_files"] += len(idx)
        if len(channels) > 1:
            counts["cross_channel_clusters"] += 1
        updates += [(cluster_id, shas[i]) for i in idx]
        rows.append((cluster_id, origin_sha, origin[1], origin[2], origin[0] or None, len(idx), len(seen),
                     json.dumps(channels), worst.get(root), t))
    await store.replace_clusters(updates, rows)
    return dict(counts) | dict(crop_counts)


async def enrich_media(store: MediaStore, config: Any) -> dict[str, Any]:
    """Fingerprints, bank matches and clusters; returns counts for the sweep summary."""
    settings = settings_from(config)
    section = getattr(config, "fingerprints", None)
    media = getattr(config, "media", None)
    max_pixels = getattr(media, "max_pixels", DEFAULT_MAX_PIXELS)
    counts: dict[str, Any] = {}
    counts |= await fingerprint_pending(store, Path(config.storage.media_dir), max_pixels,
                                        getattr(section, "workers", 0), video_limits(config))
    counts["crops_backfilled"] = await backfill_crops(store, Path(config.storage.media_dir), max_pixels)
    # Clusters first, so that a bank-match alert names the file's cluster (its graph node media:<cluster>).
    clustered = await build_clusters(store, settings.pdq_threshold, settings.min_pdq_quality, settings,
                                     Path(config.storage.media_dir))
    matches = await match_all_media(store, settings, alert_settings(config))
    counts["bank_matches"] = {k: v for k, v in matches.items() if k not in ("media_matched", "alerts")}
    counts["media_matched"] = matches.get("media_matched", 0)
    counts["alerts"] = matches.get("alerts", 0)
    counts |= clustered
    return counts
