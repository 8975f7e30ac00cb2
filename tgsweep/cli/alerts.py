"""`tgsweep alerts list|retry|deliver`."""
from __future__ import annotations

import argparse
from typing import Any

from tgsweep.cli.common import err, json_lines, out, with_store
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from graph.alerts.delivery import list_alerts

    config = load_config(args.config)
    alerts = with_store(config, list_alerts)
    if json_lines(args, alerts):
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
    from graph.alerts.delivery import deliver_alerts
    from tgsweep.summaries import alerts_line

    config = load_config(args.config)
    setup_logging(config.logging)
    counts = with_store(config, lambda store: deliver_alerts(store, config))
    out.print(alerts_line(counts))
    return 1 if counts["retry"] or counts["dead"] else 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
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
