"""`tgsweep media hash|match|import-hashes|sync|banks|remove-bank`."""
from __future__ import annotations

import argparse
import asyncio
import hashlib
from pathlib import Path
from typing import Any

from tgsweep.cli.common import count_by, err, json_lines, jsonl, open_store, out, with_store
from tgsweep.config import config_path, load_config


def _media_settings(args: argparse.Namespace):
    """[fingerprints] and [media] max_pixels from the config when there is one; defaults otherwise."""
    from detectors.media.banks import MatchSettings, settings_from
    from detectors.media.fingerprints import DEFAULT_MAX_PIXELS

    path = config_path(args.config)
    if args.config or path.exists():
        config = load_config(path)
        return config, settings_from(config), config.media.max_pixels
    return None, MatchSettings(), DEFAULT_MAX_PIXELS


def _fingerprint_files(paths: list[str], max_pixels: int, config: Any = None):
    """Fingerprints of each file (pictures or videos), in a process pool when there are several (order kept)."""
    from detectors.media.fingerprints import fingerprint_file
    from detectors.media.stage import video_limits
    from detectors.media.workers import worker_pool

    seconds, dedupe = video_limits(config)  # [media]: the same keyframes as the enrich stage takes
    if len(paths) < 4:
        return [fingerprint_file(p, max_pixels, seconds, dedupe) for p in paths]
    n = len(paths)
    with worker_pool() as pool:
        return list(pool.map(fingerprint_file, paths, [max_pixels] * n, [seconds] * n, [dedupe] * n, chunksize=4))


def cmd_media_hash(args: argparse.Namespace) -> int:
    config, _, max_pixels = _media_settings(args)
    problems = 0
    for path, fp in zip(args.files, _fingerprint_files(args.files, max_pixels, config)):
        line: dict[str, Any] = {"path": path, "sha256": fp.sha256 or None, "md5": fp.md5 or None, "pdq": fp.pdq,
                                "pdq_quality": fp.pdq_quality, "phash": fp.phash}
        if fp.error:
            line["error"] = fp.error
            problems += 1
        jsonl(line)
    return 1 if problems else 0


def cmd_media_match(args: argparse.Namespace) -> int:
    from detectors.media.banks import load_matcher

    config, settings, max_pixels = _media_settings(args)
    if config is None:
        config = load_config(args.config)  # says there is no config file and how to make one

    banks = with_store(config, lambda store: load_matcher(store, settings))
    problems = 0
    for path, fp in zip(args.files, _fingerprint_files(args.files, max_pixels, config)):
        found = banks.match(fp) if fp.sha256 else []
        line: dict[str, Any] = {"path": path, "matches": [
            {"bank": m.bank, "label": m.label, "hash_type": m.hash_type, "distance": m.distance, "tier": m.tier,
             "via": m.via} for m in found]}
        if fp.error:
            line["error"] = fp.error
            problems += 1
        jsonl(line)
    if not banks.size:
        err.print("no hash banks in the store yet (tgsweep media import-hashes FILE --bank NAME)")
    return 1 if problems else 0


def _read_list(path: str, fmt: str = "csv") -> tuple[Any, str] | None:
    """A hash list file parsed, and its SHA-256 (the list's version); None (said why) if unreadable."""
    from tgsweep.bank_sources import parse_parts

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        err.print(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    parsed = parse_parts([(path, data)], fmt)
    for line, why in parsed.problems:
        err.print(f"{path}:{line}: {why}; skipped")
    return parsed, hashlib.sha256(data).hexdigest()


def _print_matches(matches: dict) -> None:
    out.print(f"collected media matching any bank: {matches.get('media_matched', 0)} files "
              f"({matches.get('near-certain', 0)} near-certain, {matches.get('match', 0)} match, "
              f"{matches.get('weak lead', 0)} weak lead matches)")


def cmd_media_import(args: argparse.Namespace) -> int:
    from detectors.media.banks import import_bank, match_all_media, settings_from
    from store.alerts import alert_settings

    config = load_config(args.config)
    read = _read_list(args.file, args.format)
    if read is None:
        return 2
    parsed, _ = read

    async def load() -> tuple[int, dict]:
        store = await open_store(config)
        try:
            added = await import_bank(store, args.bank, parsed, str(Path(args.file).resolve())) if parsed.hashes else 0
            matches = await match_all_media(store, settings_from(config), alert_settings(config))
        finally:
            await store.close()
        return added, matches

    added, matches = asyncio.run(load())
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(count_by(h.hash_type for h in parsed.hashes).items()))
    out.print(f"bank {args.bank}: {len(parsed.hashes)} hashes read ({kinds or 'none'}), {added} new; "
              f"{len(parsed.problems)} bad rows skipped, {parsed.duplicates} duplicates")
    _print_matches(matches)
    return 1 if parsed.problems else 0


def cmd_media_sync(args: argparse.Namespace) -> int:
    """One list into one bank (FILE --bank NAME), or every `[media] bank_sources` list (the job sync_banks)."""
    from detectors.media.banks import match_all_media, settings_from, sync_bank
    from store.alerts import alert_settings
    from tgsweep.bank_sources import ListError, read_source
    from tgsweep.config import BankSource

    config = load_config(args.config)
    if args.file and not args.bank:
        err.print("media sync FILE needs --bank NAME")
        return 2
    sources = [BankSource(name=args.bank, path=Path(args.file), format=args.format)] if args.file \
        else config.media.bank_sources
    if not sources:
        err.print("no hash lists to sync: give FILE --bank NAME, or list them in [media] bank_sources")
        return 2

    async def sync() -> tuple[int, dict]:
        store = await open_store(config)
        failed = changed = 0
        try:
            last = {row["name"]: row for row, _ in await store.bank_rows()}
            for source in sources:
                row = last.get(source.name)
                try:
                    read = await asyncio.to_thread(read_source, source, row and row["version"], row and row["etag"])
                except ListError as exc:
                    err.print(f"bank {source.name} not synced: {exc}")
                    failed += 1
                    continue
                if read.parsed is None:
                    await store.touch_bank(source.name, read.etag)
                    out.print(f"bank {source.name}: {read.source} unchanged since the last sync")
                    continue
                for line, why in read.parsed.problems:
                    err.print(f"{read.source}:{line}: {why}")
                if read.parsed.problems:  # a list read in part would withdraw the hashes of its bad rows
                    err.print(f"{read.source}: {len(read.parsed.problems)} unreadable rows; bank {source.name} not "
                              "synced (fix the list, or `tgsweep media import-hashes` to add what can be read)")
                    failed += 1
                    continue
                if not read.parsed.hashes and row and row["hashes"] and not args.allow_empty:
                    err.print(f"{read.source}: the list is empty; bank {source.name} not synced: it holds {row['hashes']} "
                              "hashes and an empty list withdraws them all (if the list really was emptied: "
                              "`tgsweep media sync --allow-empty`, or `tgsweep media remove-bank`)")
                    failed += 1
                    continue
                d = await sync_bank(store, source.name, read.parsed, read.source, read.version, read.etag)
                changed += 1
                out.print(f"bank {source.name} synced to version {read.version[:16]} from {read.source}: "
                          f"{len(read.parsed.hashes)} hashes, {d['added']} new, {d['withdrawn']} withdrawn "
                          f"({d['alerts_withdrawn']} alerts not yet sent withdrawn)")
            matches = await match_all_media(store, settings_from(config), alert_settings(config)) if changed else {}
        finally:
            await store.close()
        return failed, matches

    failed, matches = asyncio.run(sync())
    if matches:
        _print_matches(matches)
    return 1 if failed else 0


def cmd_media_banks(args: argparse.Namespace) -> int:
    from detectors.media.banks import list_banks

    config = load_config(args.config)

    banks = with_store(config, list_banks)
    if json_lines(args, banks):
        return 0
    for b in banks:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(b["by_type"].items()))
        synced = f"; version {b['version'][:16]} synced {b['synced_at']}" if b.get("version") else ""
        out.print(f"{b['name']}  {b['hashes']} hashes ({kinds}); {b['matched_media']} collected files match; "
                  f"imported {b['imported_at']} from {b['source']}{synced}")
    if not banks:
        out.print("no hash banks (tgsweep media import-hashes FILE --bank NAME)")
    return 0


def cmd_media_remove_bank(args: argparse.Namespace) -> int:
    from detectors.media.banks import remove_bank

    config = load_config(args.config)

    if not with_store(config, lambda store: remove_bank(store, args.name)):
        err.print(f"no bank named {args.name}")
        return 1
    out.print(f"removed bank {args.name}, its hashes and its matches; its alerts not yet delivered are withdrawn")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("media", help="fingerprints and hash banks: hash files, match them, manage banks")
    media = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = media.add_parser("hash", help="JSON Lines: path, sha256, md5, pdq, pdq_quality, phash")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.set_defaults(func=cmd_media_hash)
    q = media.add_parser("match", help="JSON Lines: path, matches [{bank, label, hash_type, distance}]")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.set_defaults(func=cmd_media_match)
    q = media.add_parser("import-hashes", help="load a hash list: CSV hash_type,hash[,label]")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--format", choices=["csv", "threatexchange"], default="csv",
                   help="CSV hash_type,hash[,label] (default) or ThreatExchange's `signal_type signal` lines")
    q.add_argument("--bank", required=True, metavar="NAME", help="bank to add the hashes to (created if new)")
    q.set_defaults(func=cmd_media_import)
    q = media.add_parser("sync", help="make a bank equal to a newer version of its list: add, update, withdraw")
    q.add_argument("file", nargs="?", metavar="FILE", help="the list, or a folder of lists (default: every [media] bank_sources list)")
    q.add_argument("--format", choices=["csv", "threatexchange"], default="csv",
                   help="FILE's format: CSV hash_type,hash[,label] (default) or ThreatExchange's `signal_type signal` lines")
    q.add_argument("--bank", metavar="NAME", help="the bank FILE is (created if new)")
    q.add_argument("--allow-empty", action="store_true",
                   help="sync a list that has become empty (otherwise refused: it would withdraw every hash)")
    q.set_defaults(func=cmd_media_sync)
    q = media.add_parser("banks", help="the hash banks, with how many collected files match each")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_media_banks)
    q = media.add_parser("remove-bank", help="remove a bank, its hashes and its matches")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=cmd_media_remove_bank)
