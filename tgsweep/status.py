"""`tgsweep status`: what the service and the sweeps did, what is due, what is waiting.

Read-only over the store and the jobs database (the service may be running: both are WAL).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from store import open_store
from tgsweep.config import Config

RECENT_ERRORS = 50


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


async def gather_status(config: Config) -> dict[str, Any]:
    from scheduler import job_specs, service_pid
    from store.sqlite.jobs import read_jobs

    jobs_db = config.schedule.jobs_database
    pid = service_pid(jobs_db)
    next_runs, last_runs = read_jobs(jobs_db)
    specs = {s.id: s for s in job_specs(config)}
    jobs = []
    for job_id in list(specs) + sorted(set(next_runs) - set(specs)):
        spec = specs.get(job_id)
        jobs.append({"id": job_id, "about": spec.about if spec else "no longer configured",
                     "every_seconds": spec.every.total_seconds() if spec else None,
                     "last_run": last_runs.get(job_id), "next_run": _iso(next_runs.get(job_id))})

    at = datetime.now(timezone.utc)
    store = await open_store(config.storage.database, config.storage.url_value)
    try:
        watchlist = {w["channel"]: w for w in await store.watchlist(config.watch.channels)}
        cursors = await store.cursor_rows()
        seen = {c["channel"] for c in cursors}
        for name, entry in watchlist.items():
            if name not in seen and entry["swept"]:
                cursors.append({"channel": name, "source": "web", "last_id": None, "pending_top": None,
                                "pending_bottom": None, "not_before": None, "last_success": None,
                                "last_error": None, "updated_at": None})
        for c in cursors:
            entry = watchlist.get(c["channel"])
            c["watched"] = bool(entry and entry["swept"])
            until = _parse(c["not_before"])
            c["flood_wait"] = bool(until and until > at)
        cursors.sort(key=lambda c: (c["channel"], c["source"]))
        alerts = await store.alert_states()
        since = (at - timedelta(days=1)).isoformat(timespec="seconds")
        by_kind, recent = await store.errors_since(since, RECENT_ERRORS)
        sweeps = []
        for r in await store.recent_sweeps(5):
            stats = json.loads(r["stats"]) if r["stats"] else {}
            sweeps.append({"id": r["id"], "source": r["source"], "started_at": r["started_at"],
                           "finished_at": r["finished_at"], "status": r["status"],
                           "new_posts": stats.get("new_posts"), "pages": stats.get("pages")})
        from graph.takedown.check import takedown_report

        takedowns = {k: v for k, v in (await takedown_report(store)).items() if k != "posts"}
        accounts = await store.all_account_waits()  # each Telethon account's own flood waits (telethon_waits)
        leases = await store.lease_states() if config.storage.url_value else []
    finally:
        await store.close()
    distributed = await _distributed(config, leases) if config.storage.url_value else None
    return {
        "distributed": distributed,
        "at": at.isoformat(timespec="seconds"),
        "service": {"running": pid is not None, "pid": pid if pid and pid > 0 else None,
                    "jobs_database": str(jobs_db)},
        "jobs": jobs,
        "sweeps": sweeps,
        "channels": cursors,
        "flood_waits": [{"channel": c["channel"], "source": c["source"], "until": c["not_before"]}
                        for c in cursors if c["flood_wait"]]
                       + [{"channel": f"(account {account}: {kind})", "source": "telethon", "until": until}
                          for account, waits in accounts.items() for kind, until in sorted(waits.items())],
        "alerts": {"pending": alerts.get("pending", {}).get("count", 0),
                   "oldest_pending": alerts.get("pending", {}).get("oldest"),
                   "dead": alerts.get("dead", {}).get("count", 0),
                   "delivered": alerts.get("delivered", {}).get("count", 0)},
        "errors_last_day": {"count": sum(by_kind.values()), "by_kind": by_kind, "recent": recent},
        "takedowns": takedowns,
    }


async def _distributed(config: Config, leases: list[dict[str, Any]]) -> dict[str, Any]:
    """Distributed mode: the workers, queues, running and stalled jobs (Procrastinate's tables), the leases."""
    from tgsweep.work.worker import opened

    async with opened(config) as queue:
        overview = await queue.overview(config.distributed.stalled_seconds)
    workers = [{"id": w["id"], "last_heartbeat": w["last_heartbeat"].isoformat(timespec="seconds")
                if isinstance(w["last_heartbeat"], datetime) else w["last_heartbeat"]} for w in overview["workers"]]
    return {**overview, "workers": workers, "leases": leases}


def _distributed_lines(d: dict[str, Any]) -> list[str]:
    lines = [f"distributed mode: {len(d['workers'])} worker(s)"
             + "".join(f"\n  worker {w['id']} last heartbeat {w['last_heartbeat']}" for w in d["workers"])]
    queues = d["queues"]
    lines.append("queues: " + (", ".join(f"{q['name']} {q['jobs_count']} job(s) ({q['todo']} waiting, {q['doing']} "
                                          f"running, {q['failed']} failed)" for q in queues) if queues else "empty"))
    for j in d["running"]:
        lines.append(f"  running job {j['id']} {j['task']} (lock {j['lock']}) on worker {j['worker']}")
    lines.append("stalled jobs (their worker stopped beating): "
                 + (", ".join(str(i) for i in d["stalled"]) if d["stalled"] else "none"))
    lines.append("leases: " + (", ".join(f"{x['account']} {x['event']} by {x['holder']} at {x['at']}"
                                         for x in d["leases"]) if d["leases"] else "no collector has run"))
    return lines


def format_status(s: dict[str, Any], channels: bool = False) -> list[str]:
    """The status as lines a person reads: problems first, then totals; a line per channel only
    with `channels` (`tgsweep status --channels`), since a watchlist can hold 20,000 of them."""
    lines = []
    e = s["errors_last_day"]
    a = s["alerts"]
    waits = s["flood_waits"]
    chans = s["channels"]
    failing = [c for c in chans if c["last_error"]]
    kinds = ", ".join(f"{k} {n}" for k, n in e["by_kind"].items())
    lines.append(f"errors in the last day: {e['count']}" + (f" ({kinds})" if kinds else ""))
    for r in e["recent"][:10]:
        lines.append(f"  {r['at']} [{r['kind']}] {r['channel'] or ''} {r['message']}")
    lines.append(f"alert backlog: {a['pending']} pending" + (f" (oldest {a['oldest_pending']})" if a["pending"] else "")
                 + f", {a['dead']} dead, {a['delivered']} delivered")
    lines.append("flood waits in force: " + (", ".join(f"{w['channel']} until {w['until']}" for w in waits[:10])
                                             + (f" and {len(waits) - 10} more" if len(waits) > 10 else "")
                                             if waits else "none"))
    service = s["service"]
    lines += [f"service: {'running (pid ' + str(service['pid']) + ')' if service['running'] else 'not running'}; "
              f"jobs database {service['jobs_database']}", "jobs:"]
    for job in s["jobs"]:
        every = f"every {job['every_seconds'] / 60:g} min" if job["every_seconds"] else ""
        last = job["last_run"]
        last_text = "never run" if not last else (
            f"last {last['started_at']} {last['status']}"
            + (f" (sweep {last['sweep_id']})" if last.get("sweep_id") else "")
            + (f": {last['detail']}" if last.get("detail") and last["status"] != "ok" else ""))
        lines.append(f"  {job['id']}  {every}  {last_text}; next {job['next_run'] or 'not scheduled'}")
    if s["sweeps"]:
        lines.append("recent sweeps:")
        for w in s["sweeps"]:
            lines.append(f"  sweep {w['id']} {w['source']} {w['status']} started {w['started_at']}"
                         + (f", {w['new_posts']} new posts" if w["new_posts"] is not None else ""))
    unfinished = sum(1 for c in chans if c["pending_top"] is not None)
    never = sum(1 for c in chans if not c["last_success"])
    lines.append(f"channels: {len(chans)} ({sum(1 for c in chans if c['watched'])} watched), {len(failing)} with "
                 f"a last error, {unfinished} unfinished, {never} never swept to the end"
                 + ("" if channels or not chans else "; `tgsweep status --channels` lists them"))
    shown = chans if channels else failing[:20]
    if not channels and failing:
        lines.append("channels with a last error" + (" (first 20):" if len(failing) > 20 else ":"))
    for c in shown:
        parts = [f"  {c['channel']} ({c['source']}{'' if c['watched'] else ', not on the watchlist'})",
                 f"cursor {c['last_id'] if c['last_id'] is not None else '-'}"]
        if c["pending_top"] is not None:
            parts.append(f"unfinished {c['pending_bottom']}..{c['pending_top']}")
        parts.append(f"last success {c['last_success'] or 'never'}")
        if c["flood_wait"]:
            parts.append(f"FLOOD WAIT until {c['not_before']}")
        if c["last_error"]:
            parts.append(f"last error: {c['last_error']}")
        lines.append(", ".join(parts))
    if s.get("takedowns", {}).get("tracked"):
        from tgsweep.summaries import takedown_lines

        lines += takedown_lines(s["takedowns"])
    if s.get("distributed"):
        lines += _distributed_lines(s["distributed"])
    return lines
