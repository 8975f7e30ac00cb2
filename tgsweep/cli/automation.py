"""`tgsweep automation list|score`."""
from __future__ import annotations

import argparse
from typing import Any

from tgsweep.cli.common import json_lines, out, with_store
from tgsweep.config import load_config


def cmd_automation(args: argparse.Namespace) -> int:
    """`automation list`: stored scores with reasons; `automation score`: re-score from the store now."""
    config = load_config(args.config)
    from detectors.automation.stage import detect_automation, list_automation
    from tgsweep.summaries import automation_line

    if args.action == "score":
        counts = with_store(config, lambda store: detect_automation(store, config))
        out.print(automation_line(counts) if counts else "automation scoring is off ([automation] enabled = false)")
        return 0
    rows = with_store(config, lambda store: list_automation(store, args.min_score, args.kind))
    if json_lines(args, rows):
        return 0
    for r in rows:
        out.print(f"{r['subject']}  {r['score']:.2f} {r['verdict']}  [{r['features'].get('posts', 0)} posts; "
                  f"computed {r['computed_at']}]")
        for reason in r["reasons"]:
            out.print(f"    - {reason}")
    if not rows:
        out.print("no automation scores in the store yet (run a sweep or `tgsweep automation score`)")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("automation", help="automation scores of channels and posting accounts, with reasons")
    automation = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = automation.add_parser("list", help="stored scores, highest first, with their reasons")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.add_argument("--min-score", type=float, default=0.0, metavar="X", help="only scores >= X")
    q.add_argument("--kind", choices=["channel", "account"], help="only channels or only accounts")
    q.set_defaults(func=cmd_automation)
    q = automation.add_parser("score", help="re-score every channel and account from the store now")
    q.set_defaults(func=cmd_automation)
