"""The `tgsweep` command line: one entry point, a sub-command per job."""
from __future__ import annotations

import argparse
import difflib
import asyncio
import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

from rich.console import Console

from tgsweep.config import Config, ConfigError, config_path, load_config, starter_config
from tgsweep.logs import redact_root_handlers, setup_logging
from tgsweep.redact import redact

T = TypeVar("T")
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
out = Console(highlight=False, markup=False, soft_wrap=True)


def _store(config: Config):
    from store.sqlite import Store

    return Store.open(config.storage.database)


def with_store(config: Config, work: Callable[[Any], Awaitable[T]],
               runner: Callable[[Callable[[], Awaitable[T]]], T] | None = None) -> T:
    """Open the store, do one piece of work on it, close it: each command's I/O edge.

    `runner`: how to run it (crawler.web.stage.run_async for work that fetches); asyncio.run by default.
    """
    async def run() -> T:
        store = await _store(config)
        try:
            return await work(store)
        finally:
            await store.close()

    return runner(run) if runner is not None else asyncio.run(run())


def _jsonl(row: Any, handle: Any = None) -> None:
    """One JSON Lines record: the form every machine-readable output of the CLI takes."""
    (handle or sys.stdout).write(json.dumps(row, ensure_ascii=False) + "\n")


def _json_lines(args: argparse.Namespace, rows: list[Any]) -> bool:
    """`--json` on a list command: every row as JSON Lines; False when the caller prints text instead."""
    if args.json:
        for row in rows:
            _jsonl(row)
    return bool(args.json)


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
        version = await store.schema_version()
        await store.close()
        return version

    version = asyncio.run(create())
    config.storage.media_dir.mkdir(parents=True, exist_ok=True)
    out.print(f"database {config.storage.database} ready (schema version {version})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.sweep import outcome, print_summary, run_sweep

    try:
        channels = _channel_names(config, args.channel) if args.channel else None
    except ValueError as exc:
        err.print(str(exc))
        return 2
    if args.group and not config.watch.group(args.group):  # [[watch.groups]]: one group's channels
        known = ", ".join(g.name for g in config.watch.groups) or "none configured"
        err.print(f"no watchlist group {args.group!r} in {config.source} ([[watch.groups]]: {known})")
        return 2
    if channels and (args.group or args.discovered):
        err.print("--channel names the channels itself: not with --group or --discovered")
        return 2
    if args.discovered and not config.discovery.enabled:
        err.print(f"--discovered: discovery is off ([discovery] enabled = false in {config.source})")
        return 2
    if not (channels or args.group or args.discovered) and not config.watch.configured \
            and not _database_watchlist(config):
        err.print(f"nothing to sweep: add channels to [watch] channels in {config.source}, "
                  "run `tgsweep watch add NAME`, or pass --channel NAME")
        return 2
    from crawler.telethon.client import NotLoggedIn, TelethonNotConfigured, check_configured

    try:
        if args.source in ("telethon", "all"):
            check_configured(config)  # before anything starts
        result = run_sweep(config, channels, progress=not args.no_progress, source=args.source,
                           group=args.group, discovered=args.discovered)
    except (NotLoggedIn, TelethonNotConfigured) as exc:  # nothing was collected; says what to do
        err.print(str(exc))
        return 2
    print_summary(result, out)
    return 0 if outcome(result) == "ok" else 1


def cmd_login(args: argparse.Namespace) -> int:
    """`tgsweep login`: interactive first login of the unit's account (never echoes api_hash or session)."""
    config = load_config(args.config)
    setup_logging(config.logging)
    from crawler.telethon.client import TelethonNotConfigured, login, session_file

    try:
        who = asyncio.run(login(config, export_string=Path(args.export_string) if args.export_string else None))
    except TelethonNotConfigured as exc:
        err.print(str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - a wrong code or password: say so, never the secrets
        from telethon.errors import RPCError

        err.print(f"login failed: {type(exc).__name__}" + (f": {exc}" if isinstance(exc, RPCError) else ""))
        return 1
    where = ("the StringSession in [telethon] string_session" if config.telethon.string_session is not None
             else f"session file {session_file(config)} (mode 0600)")
    out.print(f"logged in as {who}; kept in {where}")
    if args.export_string:
        out.print(f"StringSession written to {args.export_string} (mode 0600); set TG_SESSION from it")
    return 0


def _did_you_mean(name: str, known: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _channel_names(config: Config, given: list[str], new_ok: bool = True) -> list[str]:
    """Names as the user wrote them (`name`, `@name`, t.me links) -> usernames; ValueError with a
    "did you mean" for a name the store and the config do not know when a known one is close
    (a typo), or, with `new_ok=False`, for any unknown name."""
    from tgsweep.config import channel_name

    names = [channel_name(g) for g in given]
    known = set(config.watch.configured)
    if config.storage.database.exists():
        known |= with_store(config, lambda store: store.channel_names())
    for name in names:
        hint = _did_you_mean(name, known - {name})
        if name not in known and (hint or not new_ok):
            raise ValueError(f"{name}: not a channel this store or the config has seen{hint}")
    return list(dict.fromkeys(names))


def _database_watchlist(config: Config) -> bool:
    """Whether the database has channels on the watchlist (`tgsweep watch add`); read without migrating."""
    from store.sqlite.database import has_watched_channels

    return has_watched_channels(config.storage.database)


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
        for line in format_status(status, channels=args.channels):
            out.print(line)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from tgsweep.config import channel_name

    names = []
    try:
        names = [channel_name(given) for given in args.names or []]
        if args.action == "remove":  # a typo must not report success while the real channel goes on being swept
            watched = {e["channel"] for e in with_store(config, lambda store: store.watchlist(config.watch.configured))
                       if e["swept"]}
            for name in names:
                if name not in watched:
                    raise ValueError(f"{name}: not on the watchlist{_did_you_mean(name, watched)}")
    except ValueError as exc:
        err.print(str(exc))
        return 2

    async def change() -> list[dict]:
        store = await _store(config)
        try:
            for name in names:
                await store.set_watched(name, args.action == "add")
            return await store.watchlist(config.watch.configured)
        finally:
            await store.close()

    entries = asyncio.run(change())
    grouped = config.watch.grouped  # [[watch.groups]]: each group swept on its own schedule; the rest is "default"
    for entry in entries:
        entry["group"] = grouped.get(entry["channel"], "default")
    if args.action == "list":
        if _json_lines(args, entries):
            return 0
        for e in entries:
            where = " and ".join(w for w, yes in (("config", e["in_config"]), ("database", e["in_database"])) if yes)
            out.print(f"{e['channel']}  " + (f"watched ({where})" if e["swept"] else
                                             f"removed {e['removed_at']}" + (" (still in the config file; the "
                                                                             "removal wins)" if e["in_config"] else ""))
                      + f"  group {e['group']}")
        if not entries:
            out.print("the watchlist is empty")
        return 0
    for name in names:
        if args.action == "add":
            out.print(f"{name}: on the watchlist; the next sweep takes it (a running service too, no restart)")
        else:
            in_config = name in config.watch.configured
            out.print(f"{name}: removed from the watchlist; no later sweep takes it"
                      + (f" (it is still in [watch] channels of {config.source}: the removal wins until "
                         "`tgsweep watch add`)" if in_config else ""))
    return 0


def cmd_export_messages(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.exports import export_messages
    from tgsweep.config import channel_name

    try:
        channels = [channel_name(c) for c in args.channel] if args.channel else None
    except ValueError as exc:
        err.print(str(exc))
        return 2

    async def export() -> int:
        count = 0
        store = await _store(config)
        messages = export_messages(store, channels)
        try:
            with _output(args.output) as handle:
                async for message in messages:
                    _jsonl(message, handle)
                    count += 1
        finally:
            await messages.aclose()  # before the store closes, also when the reader left (BrokenPipeError)
            await store.close()
        return count

    count = asyncio.run(export())
    if args.output not in (None, "-"):
        err.print(f"exported {count} messages to {args.output}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def verify():
        from tgsweep.verify import anchor, rederive

        store = await _store(config)
        try:
            integrity = await store.integrity_check()
            report = await store.verify(config.storage.media_dir)
            report.problems += await rederive(store, config)
            if args.anchor:
                report.problems += await anchor(store, Path(args.anchor))
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
    out.print("verified: the chain is intact, every capture matches its hash, and posts, media and verdicts "
              "re-derive from them" + (f"; head anchored in {args.anchor}" if args.anchor else "") if ok else
              f"NOT verified: {len(report.problems)} problem(s)")
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from tgsweep.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, out)


def _bot_settings(args: argparse.Namespace):
    """Thresholds from the config when there is one; `bots score` works without a config file."""
    from detectors.bots.classifier import Thresholds

    path = config_path(args.config)
    if args.config or path.exists():
        bots = load_config(path).bots
        return Thresholds(bots.generator_threshold, bots.benign_threshold)
    return Thresholds()


def cmd_bots_score(args: argparse.Namespace) -> int:
    from detectors.bots.classifier import explain, score_bot

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
        _jsonl(verdict.to_dict() | ({"explain": explain(profile)} if args.explain else {}))
    return 1 if problems else 0


def cmd_bots_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from detectors.bots.stage import list_bots

    bots = with_store(config, list_bots)
    if _json_lines(args, bots):
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
    from detectors.bots.stage import set_override
    from store.alerts import alert_settings

    try:
        done = with_store(config, lambda store: set_override(store, args.username, args.label, args.note,
                                                             args.by or getpass.getuser(), alert_settings(config),
                                                             new=args.new))
    except LookupError as exc:  # never seen: most likely a typo; a label would make a bot and an alert
        said = exc.args[0] if str(exc.args[0]).endswith("?") else f"{exc.args[0]}."
        err.print(f"{said} Nothing was recorded: check the name, or give --new to label a bot the store has "
                  "not seen yet.")
        return 2
    out.print(f"@{done['username']} labelled {done['label']} by {done['by']} at {done['at']}; "
              "later automatic scores keep this label")
    return 0


def cmd_automation(args: argparse.Namespace) -> int:
    """`automation list`: stored scores with reasons; `automation score`: re-score from the store now."""
    config = load_config(args.config)
    from detectors.automation.stage import detect_automation, list_automation, summary_line

    if args.action == "score":
        counts = with_store(config, lambda store: detect_automation(store, config))
        out.print(summary_line(counts) if counts else "automation scoring is off ([automation] enabled = false)")
        return 0
    rows = with_store(config, lambda store: list_automation(store, args.min_score, args.kind))
    if _json_lines(args, rows):
        return 0
    for r in rows:
        out.print(f"{r['subject']}  {r['score']:.2f} {r['verdict']}  [{r['features'].get('posts', 0)} posts; "
                  f"computed {r['computed_at']}]")
        for reason in r["reasons"]:
            out.print(f"    - {reason}")
    if not rows:
        out.print("no automation scores in the store yet (run a sweep or `tgsweep automation score`)")
    return 0


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
    from detectors.media.stage import video_limits
    from detectors.media.fingerprints import fingerprint_file
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
        _jsonl(line)
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
        _jsonl(line)
    if not banks.size:
        err.print("no hash banks in the store yet (tgsweep media import-hashes FILE --bank NAME)")
    return 1 if problems else 0


def cmd_media_import(args: argparse.Namespace) -> int:
    from detectors.media.banks import import_bank, match_all_media, parse_hash_csv, settings_from

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
            from store.alerts import alert_settings

            matches = await match_all_media(store, settings_from(config), alert_settings(config))
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
    from detectors.media.banks import list_banks

    config = load_config(args.config)

    banks = with_store(config, list_banks)
    if _json_lines(args, banks):
        return 0
    for b in banks:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(b["by_type"].items()))
        out.print(f"{b['name']}  {b['hashes']} hashes ({kinds}); {b['matched_media']} collected files match; "
                  f"imported {b['imported_at']} from {b['source']}")
    if not banks:
        out.print("no hash banks (tgsweep media import-hashes FILE --bank NAME)")
    return 0


def cmd_media_remove_bank(args: argparse.Namespace) -> int:
    from detectors.media.banks import remove_bank

    config = load_config(args.config)

    if not with_store(config, lambda store: remove_bank(store, args.name)):
        err.print(f"no bank named {args.name}")
        return 1
    out.print(f"removed bank {args.name}, its hashes and its matches")
    return 0


# -- evidence bundles, takedown lists and checks, bot profile refresh (issues 6 and 7) ------------------

def cmd_evidence_export(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.evidence.bundle import write_bundle
    from graph.evidence.gather import SubjectError, gather_evidence

    try:
        evidence = with_store(config, lambda store: gather_evidence(store, config, args.subject))
    except SubjectError as exc:
        err.print(str(exc))
        return 2
    target = Path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = write_bundle(evidence, target)  # via FILE.partial: never a half-written bundle under the final name
    included = sum(1 for m in evidence.media if m.get("content") is not None and not evidence.hash_only)
    out.print(f"{evidence.subject}: {len(evidence.posts)} posts, {len(evidence.captures)} raw captures, "
              f"{len(evidence.media)} media ({included} files"
              + (", hash-only mode" if evidence.hash_only else "") + f"), {len(evidence.custody)} custody entries")
    out.print(f"wrote {target} ({target.stat().st_size} bytes), sha256 {digest}")
    return 0


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    from graph.evidence.bundle import sha256, verify_bundle

    path = Path(args.file)
    if not path.is_file():
        err.print(f"{args.file}: no such file")
        return 2
    problems = verify_bundle(path)
    for problem in problems:
        out.print(f"PROBLEM {problem}")
    out.print(f"{args.file} (sha256 {sha256(path)}): " + ("verified: every file matches the manifest and its "
                                                          "hashes" if not problems else
                                                          f"NOT verified: {len(problems)} problem(s)"))
    return 1 if problems else 0


def cmd_evidence_takedown(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.evidence.gather import gather_takedown
    from graph.takedown.items import render_csv, render_json

    items = with_store(config, lambda store: gather_takedown(store, config, args.threshold))
    text = render_csv(items) if args.format == "csv" else render_json(items)
    with _output(args.output) as handle:
        handle.write(text)
    if args.output not in (None, "-"):
        err.print(f"{len(items)} takedown items written to {args.output}")
    return 0


def cmd_takedown_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from crawler.web.stage import run_async
    from graph.takedown.check import check_takedowns, report_lines, takedown_report

    async def check(store: Any) -> tuple[dict, dict]:
        return await check_takedowns(store, config), await takedown_report(store)

    counts, report = with_store(config, check, run_async)
    out.print(f"takedown check: {counts['checked']} post URLs checked: {counts['up']} up, {counts['down']} gone "
              f"({counts['newly_down']} newly), {counts['errors']} inconclusive")
    for line in report_lines(report):
        out.print(line)
    return 1 if counts["errors"] and counts["errors"] == counts["checked"] else 0  # nothing could be checked


def cmd_takedown_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.takedown.check import format_seconds, report_json, takedown_report

    report = with_store(config, takedown_report)
    if args.json:
        sys.stdout.write(report_json(report) + "\n")
        return 0
    for r in report["posts"]:
        state = (f"GONE since {r['taken_down_at']} (latency {format_seconds(r['latency_seconds']['from_escalation'])}"
                 f" from escalation, {format_seconds(r['latency_seconds']['from_first_seen'])} from first seen)"
                 if r["taken_down_at"] else f"{r['last_status']} at {r['last_checked_at']}")
        out.print(f"{r['url']}  {state}; {r['checks']} checks; {r['last_detail'] or ''}")
    if not report["posts"]:
        out.print("no escalated posts checked yet (tgsweep takedown check)")
    return 0


def cmd_bots_refresh(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from crawler.web.recheck import refresh_profiles
    from crawler.web.stage import run_async
    from detectors.bots.stage import detect_bots

    async def refresh_and_score(store: Any) -> dict[str, Any]:
        return {**await refresh_profiles(store, config), "scored": await detect_bots(store, config)}

    done = with_store(config, refresh_and_score, run_async)
    s = done["scored"]
    out.print(f"bots refresh: {done['due']} profiles older than {config.bots.refresh_after_days:g} days, "
              f"{done['refreshed']} re-read, {done['gone']} no longer resolve, {done['errors']} errors; "
              f"{s.get('bots_scored', 0)} bots re-scored: {s.get('deepfake_generator', 0)} deepfake_generator, "
              f"{s.get('benign', 0)} benign, {s.get('unknown', 0)} unknown")
    return 1 if done["due"] and not done["refreshed"] else 0  # none of the due profiles could be read


# -- alerts: the outbox and its delivery (issue 6; graph/alerts/delivery.py) ----------------------------

def cmd_alerts_list(args: argparse.Namespace) -> int:
    from graph.alerts.delivery import list_alerts

    config = load_config(args.config)
    alerts = with_store(config, list_alerts)
    if _json_lines(args, alerts):
        return 0
    for a in alerts:
        out.print(f"{a['id']}  {a['created_at']}  {a['type']}  {a['severity']}  {a['subject']}  {a['state']}"
                  + (f"  next try {a['next_attempt_at']}" if a["state"] == "pending" and a["next_attempt_at"] else ""))
        for reason in a["reasons"][:4]:
            out.print(f"    - {reason}")
        for d in a["sinks"]:
            out.print(f"    {d['sink']}: {d['state']}, {d['attempts']} attempt(s)"
                      + (f", delivered {d['delivered_at']}" if d["delivered_at"] else "")
                      + (f", next try {d['next_attempt_at']}" if d["state"] == "pending" and d["next_attempt_at"] else "")
                      + (f"; {d['last_error']}" if d["last_error"] else ""))
    if not alerts:
        out.print("no alerts yet")
    return 0


def cmd_alerts_retry(args: argparse.Namespace) -> int:
    from graph.alerts.delivery import retry_alerts

    config = load_config(args.config)

    async def retry(store: Any) -> tuple[int, list[str]]:
        known = await store.known_alert_ids(args.ids)
        return await retry_alerts(store, args.ids or None), [i for i in args.ids if i not in known]

    count, missing = with_store(config, retry)
    for ident in missing:
        err.print(f"no alert {ident}")
    out.print(f"{count} alert(s) due now; `tgsweep alerts deliver` (or the next sweep or scheduled pass) sends them")
    return 1 if missing else 0


def cmd_alerts_deliver(args: argparse.Namespace) -> int:
    from graph.alerts.delivery import deliver_alerts, summary_line

    config = load_config(args.config)
    setup_logging(config.logging)
    counts = with_store(config, lambda store: deliver_alerts(store, config))
    out.print(summary_line(counts))
    return 1 if counts["retry"] or counts["dead"] else 0


def _alerts_parser(sub: Any) -> None:
    p = sub.add_parser("alerts", help="alerts for the case system: list them, deliver them, retry failed ones")
    alerts = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = alerts.add_parser("list", help="alerts with their delivery state per sink")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_alerts_list)
    q = alerts.add_parser("deliver", help="one delivery pass now (exit 1 if a delivery failed in it)")
    q.set_defaults(func=cmd_alerts_deliver)
    q = alerts.add_parser("retry", help="make dead and waiting alerts due now (all, or the ids given)")
    q.add_argument("ids", nargs="*", metavar="ID")
    q.set_defaults(func=cmd_alerts_retry)



TOKEN_ENV = "TGSWEEP_TOKEN"


def _serve_token(args: argparse.Namespace, config: Config) -> str | None:
    """The explorer's token from --token-file, $TGSWEEP_TOKEN or [serve] token_file, in that order (None:
    [serve] token, if any). Never from argv, which `ps` shows to every user of the machine."""
    path = Path(args.token_file) if args.token_file else None
    if path is None and os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    path = path or config.serve.token_file
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
        private = not path.stat().st_mode & 0o077
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise ValueError(f"the token file {path} is empty")
    if not private:
        err.print(f"warning: the token file {path} is readable by other users (chmod 600 it)")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    """`tgsweep serve`: the analyst's explorer (tgsweep/explorer) until Ctrl-C."""
    if args.token is not None:
        err.print(f"--token is refused: every user of this machine can read a process's arguments (ps). "
                  f"Put the token in ${TOKEN_ENV}, or in a file only you can read and pass --token-file PATH "
                  "(or set [serve] token_file)")
        return 2
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.explorer.app import UnsafeBinding, check_binding, serve, settings_from
    from tgsweep.redact import add

    try:
        token = _serve_token(args, config)
    except ValueError as exc:
        err.print(str(exc))
        return 2
    add(token)  # never in a log line
    settings = settings_from(config, host=args.host, port=args.port, token=token, analyst=args.analyst)
    try:
        check_binding(settings)
    except UnsafeBinding as exc:
        err.print(str(exc))
        return 2
    out.print(f"explorer on http://{settings.host}:{settings.port}/ (analyst {settings.who}"
              + ("; token required" if settings.token else "") + "); Ctrl-C stops")
    serve(config, settings)
    return 0


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="the analyst's explorer: a local web page and JSON API over the store")
    p.add_argument("--host", help="address to bind (default [serve] host, 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, help="port (default [serve] port, 8765)")
    p.add_argument("--token-file", metavar="PATH",
                   help="read the token every request needs from PATH (default $TGSWEEP_TOKEN, [serve] token_file "
                        "or token)")
    p.add_argument("--token", metavar="T", help="refused (ps would show it): use $TGSWEEP_TOKEN or --token-file")
    p.add_argument("--analyst", help="who confirms or rejects bots here (default [serve] analyst or login name)")
    p.set_defaults(func=cmd_serve)


def cmd_graph_build(args: argparse.Namespace) -> int:
    """`tgsweep graph build`: build, analyse, escalate (alerts for new escalations), print the summary."""
    config = load_config(args.config)
    setup_logging(config.logging)
    from graph.stage import run_graph_stage, summary_lines

    counts = with_store(config, lambda store: run_graph_stage(store, config))
    if args.json:
        _jsonl(counts)
        return 0
    for line in summary_lines(counts, top=args.top):
        out.print(line)
    for hub in counts["hub_list"][:3]:
        out.print(f"  hub {hub['channel']}: reaches {hub['reach']} (forwarded by {len(hub['forwarded_by'])}, "
                  f"{len(hub['suspect_bots_promoted'])} suspect bots promoted, reposted by {len(hub['reposted_by'])})")
    for c in counts["cascade_list"][:3]:
        out.print(f"  cascade {c['media']}: origin candidate {', '.join(c['origin_candidates'])}, "
                  f"then {' -> '.join(c['channels'][1:])}")
    s = counts["seconds"]
    out.print(f"  took {s['build']:.2f} s build, {s['analysis']:.2f} s analysis, {s['escalation']:.2f} s escalation")
    return 0


def cmd_graph_export(args: argparse.Namespace) -> int:
    """`tgsweep graph export`: the graph as node-link JSON, GEXF, GraphML or Cytoscape JSON (the contract)."""
    config = load_config(args.config)
    from graph.build import build_graph
    from graph.exports import write_graph

    graph = with_store(config, lambda store: build_graph(store, max_posts=config.graph.max_edge_posts,
                                                         incremental=config.graph.incremental))
    with _output(args.output) as handle:
        write_graph(graph, args.format, handle)
    if args.output not in (None, "-"):
        err.print(f"exported {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges "
                  f"({args.format}) to {args.output}")
    return 0


def cmd_graph_picture(args: argparse.Namespace) -> int:
    """`tgsweep graph picture`: the top escalated subgraph as SVG or PNG, for reports."""
    config = load_config(args.config)
    from graph.build import build_graph
    from graph.exports import draw_picture

    if Path(args.output).suffix.lower() not in (".svg", ".png"):
        err.print(f"{args.output}: the picture is written as .svg or .png")
        return 2
    graph = with_store(config, lambda store: build_graph(store, max_posts=config.graph.max_edge_posts,
                                                         incremental=config.graph.incremental))
    drawn = draw_picture(graph, args.output, top=args.top, seed=config.graph.community_seed)
    out.print(f"drew {drawn} nodes (top {args.top} escalated and what they promote) to {args.output}")
    return 0


def _graph_parser(sub: Any) -> None:
    p = sub.add_parser("graph", help="the channel/bot/media graph: build and escalate, export, picture")
    graph = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = graph.add_parser("build", help="build the graph, analyse it, score escalations, queue escalation alerts")
    q.add_argument("--top", type=int, default=10, help="escalated subjects to print (default 10)")
    q.add_argument("--json", action="store_true", help="the counts, top subjects, hubs and cascades as one object")
    q.set_defaults(func=cmd_graph_build)
    q = graph.add_parser("export", help="the graph: node-link, gexf, graphml or cytoscape")
    q.add_argument("--format", required=True, choices=["node-link", "gexf", "graphml", "cytoscape"])
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.set_defaults(func=cmd_graph_export)
    q = graph.add_parser("picture", help="the top escalated subgraph as SVG or PNG")
    q.add_argument("-o", "--output", required=True, metavar="FILE.svg|FILE.png")
    q.add_argument("--top", type=int, default=15, help="escalated subjects drawn (default 15)")
    q.set_defaults(func=cmd_graph_picture)


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
    which = p.add_mutually_exclusive_group()
    which.add_argument("--group", metavar="NAME", help="sweep only this [[watch.groups]] group's channels")
    which.add_argument("--discovered", action="store_true",
                       help="sweep only the channels discovery found (on no watchlist), expanding to max_depth")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("login", help="log the Telethon collector's account in (phone, code, 2FA); session file 0600")
    p.add_argument("--export-string", metavar="FILE",
                   help="also write the session as a StringSession to FILE (created 0600), for string_session")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("run", help="the scheduled service, until stopped (SIGINT/SIGTERM stop it cleanly)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="jobs' last and next runs, cursors, flood waits, alert backlog, errors")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--channels", action="store_true", help="also a line per channel (cursor, last error)")
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

    p = sub.add_parser("verify", help="check the custody chain and every stored capture's hash, and re-derive "
                                      "posts, media and verdicts from them")
    p.add_argument("--anchor", metavar="FILE", help="check the chain heads written to FILE before, then append "
                                                    "the current head (keep FILE outside the store)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("bots", help="deepfake-bot verdicts: score profiles, list bots, label a bot")
    bots = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = bots.add_parser("score", help="bot profiles as JSON Lines on stdin -> verdicts as JSON Lines on stdout")
    q.add_argument("--explain", action="store_true", help="add each feature's value, weight and contribution")
    q.set_defaults(func=cmd_bots_score)
    q = bots.add_parser("list", help="bots in the store with their verdicts, references and mirrors")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_bots_list)
    q = bots.add_parser("label", help="an analyst's decision on a bot; never overwritten by automatic scores")
    q.add_argument("username")
    q.add_argument("label", choices=["deepfake_generator", "benign"])
    q.add_argument("--note", required=True, help="why (kept with the decision)")
    q.add_argument("--by", help="who decides (default: the login name)")
    q.add_argument("--new", action="store_true",
                   help="label a bot the store has never seen (without it, an unknown username is refused)")
    q.set_defaults(func=cmd_bots_label)
    q = bots.add_parser("refresh", help="re-read stale bot profiles ([bots] refresh_after_days), re-score all bots")
    q.set_defaults(func=cmd_bots_refresh)

    p = sub.add_parser("automation", help="automation scores of channels and posting accounts, with reasons")
    automation = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = automation.add_parser("list", help="stored scores, highest first, with their reasons")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.add_argument("--min-score", type=float, default=0.0, metavar="X", help="only scores >= X")
    q.add_argument("--kind", choices=["channel", "account"], help="only channels or only accounts")
    q.set_defaults(func=cmd_automation)
    q = automation.add_parser("score", help="re-score every channel and account from the store now")
    q.set_defaults(func=cmd_automation)

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

    p = sub.add_parser("evidence", help="evidence bundles and takedown request lists")
    evidence = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = evidence.add_parser("export", help="a zip about one subject: posts, raw captures, media, custody, manifest")
    q.add_argument("subject", metavar="SUBJECT", help="channel:<u>, bot:<u>, media:<cluster> or a bare username")
    q.add_argument("-o", "--output", required=True, metavar="FILE.zip")
    q.set_defaults(func=cmd_evidence_export)
    q = evidence.add_parser("verify", help="check a bundle against its manifest and hashes")
    q.add_argument("file", metavar="FILE.zip")
    q.set_defaults(func=cmd_evidence_verify)
    q = evidence.add_parser("takedown", help="takedown request list per platform for what was escalated")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--format", choices=["json", "csv"], default="json")
    q.add_argument("--threshold", type=float, help="escalation score (default [graph] escalation_threshold)")
    q.set_defaults(func=cmd_evidence_takedown)

    p = sub.add_parser("takedown", help="re-check escalated posts: is the content still up (takedown latency)")
    takedown = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = takedown.add_parser("check", help="fetch each escalated post's embed once; record up / taken down")
    q.set_defaults(func=cmd_takedown_check)
    q = takedown.add_parser("list", help="checked posts: status, when taken down, latency")
    q.add_argument("--json", action="store_true", help="one JSON object")
    q.set_defaults(func=cmd_takedown_list)
    _alerts_parser(sub)
    _serve_parser(sub)
    _graph_parser(sub)
    _describe(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything this process and its children create (database, media, exports, bundles, the config
    # `init` writes) is private: files 0600, folders 0700. Restored on return, for callers in-process.
    umask = os.umask(0o077)
    try:
        argv = _config_first(sys.argv[1:] if argv is None else list(argv))
        parser = build_parser()
        if not argv:  # `tgsweep` alone: what it can do
            parser.print_help()
            return 2
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        redact_root_handlers()  # secrets are scrubbed from every log line (tgsweep/redact.py)
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:  # `tgsweep export messages | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0
    finally:
        os.umask(umask)


def _config_first(argv: list[str]) -> list[str]:
    """`--config PATH` is accepted anywhere on the line, before or after the command."""
    rest, config = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--config" and i + 1 < len(argv):
            config = ["--config", argv[i + 1]]
            i += 2
            continue
        if argv[i].startswith("--config="):
            config = [argv[i]]
        else:
            rest.append(argv[i])
        i += 1
    return config + rest


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's own --help starts with the one line `tgsweep --help` shows for it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                if not sub.description:
                    sub.description = choice.help
                _describe(sub)


if __name__ == "__main__":
    sys.exit(main())
