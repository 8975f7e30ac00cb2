"""Alert delivery: from the outbox to every configured sink, with retries for days.

Each (alert, sink) pair has a row in `alert_deliveries`: pending until the sink took it
(delivered) or can never take it (dead, with the reason). A pass (`deliver_alerts`) sends
what is due, in the order alerts were raised, and records each outcome at once, so a crash
loses nothing and re-sends at most the alert in flight (same webhook-id: receivers drop it;
the JSONL sink checks its file). A failure worth a retry waits, for the n-th try, a random
time between 0 and min(retry_max_seconds, retry_base_seconds * 2^(n-1)) (exponential
back-off with full jitter), or the receiver's Retry-After if longer (up to
`max_retry_after_seconds`: a receiver cannot park a sink for ever), which also pauses the
whole sink; once an alert has failed for `max_age_days` it is dead-lettered. `alerts.state`
sums the sinks up (pending until each configured sink is delivered or dead; then delivered,
or dead if any sink is), which `tgsweep status` reads.
"""
from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from store.sqlite import Store
from graph.alerts.sinks import JsonlSink, Outcome, WebhookSink, build_sinks
from tgsweep.redact import redact

log = logging.getLogger(__name__)

BATCH = 200  # alerts read from the store at once, per sink


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def _at(text: str | None) -> datetime | None:
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))] for the attempts-th failure."""
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), 60))
    return (rng or random).uniform(0, ceiling)


def next_step(outcome: Outcome, attempts: int, window_start: datetime, at: datetime, settings: Any,
              rng: random.Random | None = None) -> tuple[str, datetime | None, str | None]:
    """(state, next attempt, error) after an attempt: the retry schedule, as a pure function."""
    if outcome.state == "delivered":
        return "delivered", None, None
    if outcome.state == "dead":
        return "dead", None, outcome.error
    deadline = window_start + timedelta(days=settings.max_age_days)
    if at >= deadline:
        return "dead", None, (f"gave up after {attempts} attempts over {settings.max_age_days:g} days "
                              f"([alerts] max_age_days); last error: {outcome.error}")
    wait = backoff_seconds(attempts, settings.retry_base_seconds, settings.retry_max_seconds, rng)
    if outcome.retry_after is not None:
        wait = max(wait, min(outcome.retry_after, settings.max_retry_after_seconds))
    wait = min(wait, (deadline - at).total_seconds())  # never past the deadline (nor past what timedelta holds)
    return "pending", at + timedelta(seconds=wait), outcome.error


def summarize(rows: list[Any], sinks: list[str]) -> dict[str, Any]:
    """alerts.state and friends from the alert's delivery rows of the configured sinks."""
    by_sink = {r["sink"]: r for r in rows if r["sink"] in sinks}
    states = [by_sink[s]["state"] if s in by_sink else "pending" for s in sinks]
    if not sinks or "pending" in states:
        state = "pending"
    elif all(s == "delivered" for s in states):
        state = "delivered"
    else:
        state = "dead"
    pending = [r["next_attempt_at"] for r in by_sink.values() if r["state"] == "pending" and r["next_attempt_at"]]
    errors = [r for r in by_sink.values() if r["last_error"] and r["state"] != "delivered"]
    delivered = [r["delivered_at"] for r in by_sink.values() if r["delivered_at"]]
    return {"state": state, "attempts": sum(r["attempts"] for r in by_sink.values()),
            "next_attempt_at": min(pending) if pending else None,
            "last_error": "; ".join(f"{r['sink']}: {r['last_error']}" for r in errors)[:1000] or None,
            "delivered_at": max(delivered) if state == "delivered" and delivered else None}


async def _refresh_alert(tx: Any, alert_id: str, sinks: list[str]) -> str:
    """alerts.state from its deliveries; returns it."""
    rows = await tx.execute_fetchall("SELECT * FROM alert_deliveries WHERE alert_id=?", (alert_id,))
    s = summarize(rows, sinks)
    await tx.execute("UPDATE alerts SET state=?, attempts=?, next_attempt_at=?, last_error=?, delivered_at=? "
                     "WHERE id=?", (s["state"], s["attempts"], s["next_attempt_at"], s["last_error"],
                                    s["delivered_at"], alert_id))
    return s["state"]


async def deliver_alerts(store: Store, config: Any) -> dict:
    """One delivery pass over every configured sink; returns counts for the summary line.

    Counts (per delivery, one per alert and sink): delivered, retry (failed now, will be retried), dead
    (dead-lettered now), and alerts_delivered (alerts now delivered to every sink);
    waiting (due but not tried: its sink failed or asked to wait earlier in this pass),
    pending (alerts not yet delivered everywhere, after the pass), sinks, written
    (JSONL path -> alerts written there in this pass).
    """
    settings = config.alerts
    sinks = build_sinks(config)
    names = [s.identity for s in sinks]
    counts: dict[str, Any] = {"sinks": len(sinks), "delivered": 0, "retry": 0, "dead": 0, "waiting": 0,
                              "pending": 0, "written": {}, "alerts_delivered": 0}
    lock = _pass_lock(store)
    if lock is None:  # a sweep's deliver stage and the scheduled job may meet: one pass at a time
        row = await store.fetchone("SELECT count(*) FROM alerts WHERE state='pending'")
        return counts | {"busy": True, "pending": row[0]}
    try:
        return await _deliver(store, sinks, names, settings, counts)
    finally:
        lock.close()


def _pass_lock(store: Store) -> Any:
    """An exclusive lock on <database>.deliver.lock (released when closed), or None if another pass holds it."""
    import fcntl

    handle = open(f"{store.path}.deliver.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


async def _deliver(store: Store, sinks: list[WebhookSink | JsonlSink], names: list[str], settings: Any,
                   counts: dict[str, Any]) -> dict:
    start = datetime.now(timezone.utc)
    async with store.transaction() as tx:  # every pending alert gets a row per configured sink
        for name in names:
            await tx.execute(  # the retry window starts now: a sink added later gets its full max_age_days
                "INSERT OR IGNORE INTO alert_deliveries(alert_id, sink, state, next_attempt_at, window_start) "
                "SELECT id, ?, 'pending', created_at, ? FROM alerts WHERE state='pending'", (name, _iso(start)))
        if names:  # a sink removed from the config: alerts it alone held up get their final state
            marks = ",".join("?" * len(names))
            for (alert_id,) in await tx.execute_fetchall(
                    f"""SELECT id FROM alerts a WHERE state='pending' AND NOT EXISTS (
                          SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.state = 'pending'
                          AND d.sink IN ({marks}))""", names):
                await _refresh_alert(tx, alert_id, names)
    try:
        for sink in sinks:
            await _deliver_to(store, sink, names, start, settings, counts)
    finally:
        for sink in sinks:
            await sink.close()
    row = await store.fetchone("SELECT count(*) FROM alerts WHERE state='pending'")
    counts["pending"] = row[0]
    return counts


async def _deliver_to(store: Store, sink: WebhookSink | JsonlSink, names: list[str], start: datetime,
                      settings: Any, counts: dict[str, Any]) -> None:
    due = await store.fetchall(
        """SELECT d.alert_id FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
           WHERE d.sink=? AND d.state='pending' AND d.next_attempt_at <= ? ORDER BY a.created_at, a.id""",
        (sink.identity, _iso(start)))
    ids = [r[0] for r in due]
    paused_until: datetime | None = None
    done = 0

    async def report(outcomes: list[tuple[str, Outcome]]) -> None:
        nonlocal paused_until, done
        at = datetime.now(timezone.utc)
        async with store.transaction() as tx:
            for alert_id, outcome in outcomes:
                rows = await tx.execute_fetchall(
                    "SELECT attempts, window_start FROM alert_deliveries WHERE alert_id=? AND sink=?",
                    (alert_id, sink.identity))
                attempts = rows[0]["attempts"] + 1
                state, next_at, error = next_step(outcome, attempts, _at(rows[0]["window_start"]), at, settings)
                error = redact(error) if error else error  # whatever a sink let through: no secret is stored
                await tx.execute(
                    """UPDATE alert_deliveries SET state=?, attempts=?, next_attempt_at=?, last_status=?,
                         last_error=?, delivered_at=? WHERE alert_id=? AND sink=?""",
                    (state, attempts, _iso(next_at) if next_at else None, outcome.status, error,
                     _iso(at) if state == "delivered" else None, alert_id, sink.identity))
                if await _refresh_alert(tx, alert_id, names) == "delivered":
                    counts["alerts_delivered"] += 1  # alerts now delivered to every sink, not deliveries
                done += 1
                key = {"delivered": "delivered", "dead": "dead"}.get(state, "retry")
                counts[key] += 1
                if state == "delivered" and isinstance(sink, JsonlSink):
                    counts["written"][str(sink.path)] = counts["written"].get(str(sink.path), 0) + 1
                if state == "dead":
                    log.warning("alert %s dead-lettered for %s: %s", alert_id, sink.identity, error)
                elif state == "pending":
                    log.info("alert %s: %s failed (%s); next try at %s", alert_id, sink.identity, error,
                             _iso(next_at))
                if outcome.retry_after is not None and state == "pending":
                    paused_until = max(paused_until or next_at, next_at)
            if paused_until is not None:  # Retry-After: the whole sink waits, not just this alert
                await tx.execute(
                    "UPDATE alert_deliveries SET next_attempt_at=? WHERE sink=? AND state='pending' "
                    "AND next_attempt_at < ?", (_iso(paused_until), sink.identity, _iso(paused_until)))

    for offset in range(0, len(ids), BATCH):
        chunk = ids[offset:offset + BATCH]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(
            f"""SELECT a.id, a.payload FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id AND d.sink=?
                WHERE a.id IN ({marks}) AND d.state='pending' AND d.next_attempt_at <= ?
                ORDER BY a.created_at, a.id""", [sink.identity, *chunk, _iso(start)])
        before = done
        await sink.deliver([(r["id"], r["payload"]) for r in rows], report)
        if done - before < len(rows) or paused_until is not None:
            break  # the sink failed (or asked to wait): the rest stays due for the next pass
    counts["waiting"] += len(ids) - done


async def list_alerts(store: Store) -> list[dict]:
    """Every alert, newest first, with its delivery state per sink (no secrets: sinks by identity)."""
    alerts = await store.fetchall(
        "SELECT id, type, subject, severity, created_at, payload, state, attempts, next_attempt_at, last_error, "
        "delivered_at FROM alerts ORDER BY created_at DESC, id")
    deliveries: dict[str, list[dict[str, Any]]] = {}
    for r in await store.fetchall(
            "SELECT alert_id, sink, state, attempts, next_attempt_at, last_status, last_error, delivered_at "
            "FROM alert_deliveries ORDER BY sink"):
        deliveries.setdefault(r["alert_id"], []).append({k: r[k] for k in r.keys() if k != "alert_id"})
    out = []
    for a in alerts:
        body = json.loads(a["payload"])
        out.append({"id": a["id"], "type": a["type"], "subject": a["subject"], "severity": a["severity"],
                    "created_at": a["created_at"], "state": a["state"], "sinks": deliveries.get(a["id"], []),
                    "attempts": a["attempts"], "last_error": a["last_error"],
                    "next_attempt_at": a["next_attempt_at"], "delivered_at": a["delivered_at"],
                    "reasons": body.get("reasons", []), "evidence": body.get("evidence", {})})
    return out


async def retry_alerts(store: Store, ids: list[str] | None = None) -> int:
    """Make dead and waiting deliveries due now, with a fresh max_age window; returns alerts affected.

    Delivered deliveries are never sent again. `ids`: only these alerts (None: all).
    """
    at = _iso(datetime.now(timezone.utc))
    where, params = "state IN ('pending', 'dead')", []
    if ids:
        where += f" AND alert_id IN ({','.join('?' * len(ids))})"
        params = list(ids)
    async with store.transaction() as tx:
        rows = await tx.execute_fetchall(f"SELECT DISTINCT alert_id FROM alert_deliveries WHERE {where}", params)
        await tx.execute(f"UPDATE alert_deliveries SET state='pending', next_attempt_at=?, window_start=? "
                         f"WHERE {where}", [at, at, *params])
        alert_ids = [r[0] for r in rows]
        for start in range(0, len(alert_ids), 500):
            chunk = alert_ids[start:start + 500]
            await tx.execute(f"UPDATE alerts SET state='pending', next_attempt_at=? "
                             f"WHERE id IN ({','.join('?' * len(chunk))}) AND state != 'delivered'", [at, *chunk])
    return len(alert_ids)


def summary_line(counts: dict[str, Any]) -> str:
    """One line for the sweep summary and `alerts deliver`."""
    if counts.get("busy"):
        return f"alerts: another delivery pass is running (nothing done here); {counts.get('pending', 0)} pending"
    if not counts.get("sinks"):
        return f"alerts: no sinks configured ([[alerts.sinks]]); {counts.get('pending', 0)} pending in the outbox"
    line = (f"alerts: {counts.get('alerts_delivered', 0)} alerts delivered to every sink ({counts['delivered']} "
            f"deliveries over {counts['sinks']} sinks), {counts['retry']} deliveries to retry, {counts['dead']} "
            f"dead-lettered, {counts['waiting']} waiting; {counts['pending']} alerts pending")
    for path, n in counts.get("written", {}).items():
        line += f"; {n} alerts written to {path}"
    return line
