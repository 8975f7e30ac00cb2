"""The `tgsweep` command line: one entry point, a sub-command per job."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

from rich.console import Console

from tgsweep.config import Config, ConfigError, config_path, load_config, starter_config
from tgsweep.logs import setup_logging

T = TypeVar("T")
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
out = Console(highlight=False, markup=False, soft_wrap=True)


def _store(config: Config):
    from crawler.store import Store

    return Store.open(config.storage.database)


def with_store(config: Config, work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the store, do one piece of work on it, close it: each command's I/O edge."""
    async def run() -> T:
        store = await _store(config)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


@contextmanager
def _output(path: str | None) -> Iterator[Any]:
    if path in (None, "-"):
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as handle:
            yield handle


# -- commands ------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    if path.exists() and not args.force:
        err.print(f"{path} exists; not overwritten (use --force)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config(), encoding="utf-8")
        out.print(f"wrote {path}")
    config = load_config(path)

    async def create() -> int:
        store = await _store(config)
        version = (await store.fetchone("PRAGMA user_version"))[0]
        await store.close()
        return version

    version = asyncio.run(create())
    config.storage.media_dir.mkdir(parents=True, exist_ok=True)
    out.print(f"database {config.storage.database} ready (schema version {version})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.sweep import print_summary, run_sweep

    if args.source in ("telethon", "all"):
        err.print("the Telethon collector is not available yet; sweeping the web previews only"
                  if args.source == "all" else "the Telethon collector is not available yet (use --source web)")
        if args.source == "telethon":
            return 2
    channels = [c.lstrip("@").lower() for c in args.channel] if args.channel else None
    if not channels and not config.watch.channels and not _database_watchlist(config):
        err.print(f"nothing to sweep: add channels to [watch] channels in {config.source}, "
                  "run `tgsweep watch add NAME`, or pass --channel NAME")
        return 2
    result = run_sweep(config, channels, progress=not args.no_progress)
    print_summary(result, out)
    return 0 if result.status == "ok" and not result.stats.errors else 1


def _database_watchlist(config: Config) -> bool:
    """Whether the database has channels on the watchlist (`tgsweep watch add`); read without migrating."""
    import sqlite3

    if not config.storage.database.exists():
        return False
    db = sqlite3.connect(config.storage.database, timeout=30)
    try:
        return bool(db.execute("SELECT count(*) FROM channels WHERE watched=1").fetchone()[0])
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from scheduler import run_service

    return run_service(config)


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from tgsweep.status import format_status, gather_status

    status = asyncio.run(gather_status(config))
    if args.json:
        sys.stdout.write(json.dumps(status, ensure_ascii=False, indent=2) + "\n")
    else:
        for line in format_status(status):
            out.print(line)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from tgsweep.config import _username

    names = []
    for given in args.names or []:
        try:
            names.append(_username(given))
        except ValueError as exc:
            err.print(str(exc))
            return 2

    async def change() -> list[dict]:
        store = await _store(config)
        try:
            for name in names:
                await store.set_watched(name, args.action == "add")
            return await store.watchlist(config.watch.channels)
        finally:
            await store.close()

    entries = asyncio.run(change())
    if args.action == "list":
        if args.json:
            for entry in entries:
                sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
            return 0
        for e in entries:
            where = " and ".join(w for w, yes in (("config", e["in_config"]), ("database", e["in_database"])) if yes)
            out.print(f"{e['channel']}  " + (f"watched ({where})" if e["swept"] else
                                             f"removed {e['removed_at']}" + (" (still in the config file; the "
                                                                             "removal wins)" if e["in_config"] else "")))
        if not entries:
            out.print("the watchlist is empty")
        return 0
    for name in names:
        if args.action == "add":
            out.print(f"{name}: on the watchlist; the next sweep takes it (a running service too, no restart)")
        else:
            in_config = name in config.watch.channels
            out.print(f"{name}: removed from the watchlist; no later sweep takes it"
                      + (f" (it is still in [watch] channels of {config.source}: the removal wins until "
                         "`tgsweep watch add`)" if in_config else ""))
    return 0


def cmd_export_messages(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.exports import export_messages

    async def export() -> int:
        count = 0
        store = await _store(config)
        try:
            with _output(args.output) as handle:
                async for message in export_messages(store, args.channel or None):
                    handle.write(json.dumps(message, ensure_ascii=False) + "\n")
                    count += 1
        finally:
            await store.close()
        return count

    count = asyncio.run(export())
    if args.output not in (None, "-"):
        err.print(f"exported {count} messages to {args.output}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def verify():
        store = await _store(config)
        try:
            integrity = (await store.fetchone("PRAGMA integrity_check"))[0]
            report = await store.verify(config.storage.media_dir)
        finally:
            await store.close()
        return integrity, report

    integrity, report = asyncio.run(verify())
    out.print(f"database integrity: {integrity}")
    out.print(f"custody log: {report.entries} entries; raw captures: {report.captures}; "
              f"media files: {report.media_files}")
    for problem in report.problems:
        out.print(f"PROBLEM {problem}")
    ok = report.ok and integrity == "ok"
    out.print("verified: the chain is intact and every capture matches its hash" if ok else
              f"NOT verified: {len(report.problems)} problem(s)")
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from tgsweep.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, out)


def _bot_settings(args: argparse.Namespace):
    """Thresholds from the config when there is one; `bots score` works without a config file."""
    from detectors.bot_classifier import Thresholds

    path = config_path(args.config)
    if args.config or path.exists():
        bots = load_config(path).bots
        return Thresholds(bots.generator_threshold, bots.benign_threshold)
    return Thresholds()


def cmd_bots_score(args: argparse.Namespace) -> int:
    from detectors.bot_classifier import score_bot

    thresholds = _bot_settings(args)
    problems = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            profile = json.loads(line)
            if not isinstance(profile, dict) or not profile.get("username"):
                raise ValueError("expected a JSON object with at least username")
        except ValueError as exc:
            err.print(f"line {number}: {exc}")
            problems += 1
            continue
        verdict = score_bot(profile, thresholds=thresholds)
        sys.stdout.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    return 1 if problems else 0


def cmd_bots_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from detectors.stage import list_bots

    bots = with_store(config, list_bots)
    if args.json:
        for bot in bots:
            sys.stdout.write(json.dumps(bot, ensure_ascii=False) + "\n")
        return 0
    for b in bots:
        score = "-" if b["score"] is None else f"{b['score']:.2f}"
        confirmed = {True: "bot", False: "not a bot", None: "unconfirmed"}[b["confirmed"]]
        auto = b["auto_label"] or "not scored"
        label = (f"{b['label']} (analyst {b['override']['by']}: {b['override']['note'] or 'no note'}; "
                 f"automatic {auto} {score})") if b["override"] else f"{b['label']} {score}"
        out.print(f"@{b['username']}  {label}  [{confirmed}; {b['channels']} channels, {b['posts']} posts"
                  + (f"; codes {', '.join(b['referral_codes'][:5])}" if b["referral_codes"] else "") + "]")
        for m in b["mirror_of"]:
            out.print(f"    mirror of @{m['bot']}: {m['evidence']}")
        for reason in b["reasons"][:6]:
            out.print(f"    - {reason}")
    if not bots:
        out.print("no bots in the store yet (run a sweep)")
    return 0


def cmd_bots_label(args: argparse.Namespace) -> int:
    import getpass

    config = load_config(args.config)
    from detectors.stage import set_override

    done = with_store(config, lambda store: set_override(store, args.username, args.label, args.note,
                                                         args.by or getpass.getuser()))
    out.print(f"@{done['username']} labelled {done['label']} by {done['by']} at {done['at']}; "
              "later automatic scores keep this label")
    return 0


def _media_settings(args: argparse.Namespace):
    """[fingerprints] and [media] max_pixels from the config when there is one; defaults otherwise."""
    from detectors.banks import MatchSettings, settings_from
    from detectors.fingerprints import DEFAULT_MAX_PIXELS

    path = config_path(args.config)
    if args.config or path.exists():
        config = load_config(path)
        return config, settings_from(config), config.media.max_pixels
    return None, MatchSettings(), DEFAULT_MAX_PIXELS


def _fingerprint_files(paths: list[str], max_pixels: int):
    """Fingerprints of each file, in a process pool when there are several (order kept)."""
    from concurrent.futures import ProcessPoolExecutor

    from detectors.fingerprints import fingerprint_file

    if len(paths) < 4:
        return [fingerprint_file(p, max_pixels) for p in paths]
    with ProcessPoolExecutor() as pool:
        return list(pool.map(fingerprint_file, paths, [max_pixels] * len(paths), chunksize=4))


def cmd_media_hash(args: argparse.Namespace) -> int:
    _, _, max_pixels = _media_settings(args)
    problems = 0
    for path, fp in zip(args.files, _fingerprint_files(args.files, max_pixels)):
        line: dict[str, Any] = {"path": path, "sha256": fp.sha256 or None, "md5": fp.md5 or None, "pdq": fp.pdq,
                                "pdq_quality": fp.pdq_quality, "phash": fp.phash}
        if fp.error:
            line["error"] = fp.error
            problems += 1
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 1 if problems else 0


def cmd_media_match(args: argparse.Namespace) -> int:
    from detectors.banks import load_matcher

    config, settings, max_pixels = _media_settings(args)
    if config is None:
        config = load_config(args.config)  # says there is no config file and how to make one

    banks = with_store(config, lambda store: load_matcher(store, settings))
    problems = 0
    for path, fp in zip(args.files, _fingerprint_files(args.files, max_pixels)):
        found = banks.match(fp) if fp.sha256 else []
        line: dict[str, Any] = {"path": path, "matches": [
            {"bank": m.bank, "label": m.label, "hash_type": m.hash_type, "distance": m.distance, "tier": m.tier,
             "via": m.via} for m in found]}
        if fp.error:
            line["error"] = fp.error
            problems += 1
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if not banks.size:
        err.print("no hash banks in the store yet (tgsweep media import-hashes FILE --bank NAME)")
    return 1 if problems else 0


def cmd_media_import(args: argparse.Namespace) -> int:
    from detectors.banks import import_bank, match_all_media, parse_hash_csv, settings_from

    config = load_config(args.config)
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"{args.file}: cannot read: {exc}")
        return 2
    parsed = parse_hash_csv(text)
    for line, why in parsed.problems:
        err.print(f"{args.file}:{line}: {why}; skipped")

    async def load() -> tuple[int, dict]:
        store = await _store(config)
        try:
            added = await import_bank(store, args.bank, parsed, str(Path(args.file).resolve())) if parsed.hashes else 0
            matches = await match_all_media(store, settings_from(config))
        finally:
            await store.close()
        return added, matches

    added, matches = asyncio.run(load())
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(_count(h.hash_type for h in parsed.hashes).items()))
    out.print(f"bank {args.bank}: {len(parsed.hashes)} hashes read ({kinds or 'none'}), {added} new; "
              f"{len(parsed.problems)} bad rows skipped, {parsed.duplicates} duplicates")
    out.print(f"collected media matching any bank: {matches.get('media_matched', 0)} files "
              f"({matches.get('near-certain', 0)} near-certain, {matches.get('match', 0)} match, "
              f"{matches.get('weak lead', 0)} weak lead matches)")
    return 1 if parsed.problems else 0


def _count(values) -> dict[str, int]:
    from collections import Counter

    return dict(Counter(values))


def cmd_media_banks(args: argparse.Namespace) -> int:
    from detectors.banks import list_banks

    config = load_config(args.config)

    banks = with_store(config, list_banks)
    if args.json:
        for bank in banks:
            sys.stdout.write(json.dumps(bank, ensure_ascii=False) + "\n")
        return 0
    for b in banks:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(b["by_type"].items()))
        out.print(f"{b['name']}  {b['hashes']} hashes ({kinds}); {b['matched_media']} collected files match; "
                  f"imported {b['imported_at']} from {b['source']}")
    if not banks:
        out.print("no hash banks (tgsweep media import-hashes FILE --bank NAME)")
    return 0


def cmd_media_remove_bank(args: argparse.Namespace) -> int:
    from detectors.banks import remove_bank

    config = load_config(args.config)

    if not with_store(config, lambda store: remove_bank(store, args.name)):
        err.print(f"no bank named {args.name}")
        return 1
    out.print(f"removed bank {args.name}, its hashes and its matches")
    return 0


# -- parser ----------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tgsweep", description=__doc__)
    parser.add_argument("--config", help="config file (default ./config.toml or $TGSWEEP_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the whole pipeline, offline, on a bundled synthetic corpus")
    p.add_argument("--dir", help="where to put the demo's database and outputs (default: a new temp folder)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("init", help="write a starter config.toml and create the database")
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("sweep", help="one sweep now: collect, then every later stage")
    p.add_argument("--source", choices=["web", "telethon", "all"], default="web")
    p.add_argument("--channel", action="append", metavar="NAME", help="sweep only this channel (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("run", help="the scheduled service, until stopped (SIGINT/SIGTERM stop it cleanly)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="jobs' last and next runs, cursors, flood waits, alert backlog, errors")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("watch", help="the watchlist: add, remove, list (takes effect without a restart)")
    watch = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = watch.add_parser("add", help="put channels on the watchlist")
    q.add_argument("names", nargs="+", metavar="NAME")
    q.set_defaults(func=cmd_watch)
    q = watch.add_parser("remove", help="take channels off the watchlist (overrides the config file)")
    q.add_argument("names", nargs="+", metavar="NAME")
    q.set_defaults(func=cmd_watch)
    q = watch.add_parser("list", help="the watchlist, with where each channel comes from")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_watch, names=[])

    p = sub.add_parser("export", help="export collected data")
    export = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = export.add_parser("messages", help="JSON Lines, one object per collected post")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    q.set_defaults(func=cmd_export_messages)

    p = sub.add_parser("verify", help="check the custody chain and every stored capture's hash")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("bots", help="deepfake-bot verdicts: score profiles, list bots, label a bot")
    bots = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = bots.add_parser("score", help="bot profiles as JSON Lines on stdin -> verdicts as JSON Lines on stdout")
    q.set_defaults(func=cmd_bots_score)
    q = bots.add_parser("list", help="bots in the store with their verdicts, references and mirrors")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_bots_list)
    q = bots.add_parser("label", help="an analyst's decision on a bot; never overwritten by automatic scores")
    q.add_argument("username")
    q.add_argument("label", choices=["deepfake_generator", "benign"])
    q.add_argument("--note", required=True, help="why (kept with the decision)")
    q.add_argument("--by", help="who decides (default: the login name)")
    q.set_defaults(func=cmd_bots_label)

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
    q.add_argument("--bank", required=True, metavar="NAME", help="bank to add the hashes to (created if new)")
    q.set_defaults(func=cmd_media_import)
    q = media.add_parser("banks", help="the hash banks, with how many collected files match each")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_media_banks)
    q = media.add_parser("remove-bank", help="remove a bank, its hashes and its matches")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=cmd_media_remove_bank)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
