"""`tgsweep bots score|list|label|refresh`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tgsweep.cli.common import err, json_lines, jsonl, out, with_store
from tgsweep.config import config_path, load_config
from tgsweep.logs import setup_logging


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
        jsonl(verdict.to_dict() | ({"explain": explain(profile)} if args.explain else {}))
    return 1 if problems else 0


def cmd_bots_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from detectors.bots.stage import list_bots

    bots = with_store(config, list_bots)
    if json_lines(args, bots):
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
    from graph.stage import decide_bot

    try:
        done = with_store(config, lambda store: decide_bot(store, config, args.username, args.label, args.note,
                                                           args.by or getpass.getuser(), new=args.new))
    except LookupError as exc:  # never seen: most likely a typo; a label would make a bot and an alert
        said = exc.args[0] if str(exc.args[0]).endswith("?") else f"{exc.args[0]}."
        err.print(f"{said} Nothing was recorded: check the name, or give --new to label a bot the store has "
                  "not seen yet.")
        return 2
    out.print(f"@{done['username']} labelled {done['label']} by {done['by']} at {done['at']}; "
              "later automatic scores keep this label")
    for r in done["rescored"]:
        was = "new" if r["before"] is None else f"{r['before']:.2f}"
        out.print(f"  re-scored {r['subject']}: {was} -> {r['after']:.2f}" + (" (escalated)" if r["escalated"] else ""))
    if done["escalation_alerts"]:
        out.print(f"  {done['escalation_alerts']} escalation alert(s) queued")
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


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
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
