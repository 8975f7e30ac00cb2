"""`tgsweep evidence export|verify|takedown` and `tgsweep takedown check|list`."""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from tgsweep.cli.common import err, out, output, with_store
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


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
    if args.format == "wacz":
        from graph.evidence.wacz import write_wacz

        try:
            done = write_wacz(evidence, config.storage.warc_dir, target)
        except LookupError as exc:
            err.print(str(exc))
            return 2
        digest = done["sha256"]
    else:
        digest = write_bundle(evidence, target)  # via FILE.partial: never a half-written bundle under the final name
    who = config.serve.analyst or getpass.getuser()  # the export is kept in the subject's audit trail
    with_store(config, lambda store: store.record_audit(who, "export", evidence.subject, {
        "format": args.format, "file": str(target.resolve()), "sha256": digest}))
    if args.format == "wacz":
        out.print(f"{evidence.subject}: {done['records']} WARC records, {done['pages']} pages"
                  + (" (hash-only mode: no media bytes)" if evidence.hash_only else ""))
        out.print(f"wrote {target} ({target.stat().st_size} bytes), sha256 {digest}")
        return 0
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
    with output(args.output) as handle:
        handle.write(text)
    if args.output not in (None, "-"):
        err.print(f"{len(items)} takedown items written to {args.output}")
    return 0


def cmd_takedown_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from crawler.web.stage import run_async
    from graph.takedown.check import check_takedowns, takedown_report
    from tgsweep.summaries import takedown_lines

    async def check(store: Any) -> tuple[dict, dict]:
        return await check_takedowns(store, config), await takedown_report(store)

    counts, report = with_store(config, check, run_async)
    out.print(f"takedown check: {counts['checked']} post URLs checked: {counts['up']} up, {counts['down']} gone "
              f"({counts['newly_down']} newly), {counts['errors']} inconclusive")
    for line in takedown_lines(report):
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


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("evidence", help="evidence bundles and takedown request lists")
    evidence = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = evidence.add_parser("export", help="a zip about one subject: posts, raw captures, media, custody, manifest")
    q.add_argument("subject", metavar="SUBJECT", help="channel:<u>, bot:<u>, media:<cluster> or a bare username")
    q.add_argument("-o", "--output", required=True, metavar="FILE.zip|FILE.wacz")
    q.add_argument("--format", choices=["zip", "wacz"], default="zip",
                   help="zip: tgsweep's bundle (default); wacz: the WARC records, for ReplayWeb.page and pywb")
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
