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

from graph.alerts.sinks import HttpSink, JsonlSink, Outcome, build_sinks
from store.deliveries import DeliveriesStore
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


async def deliver_alerts(store: DeliveriesStore, config: Any) -> dict:
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
        return counts | {"busy": True, "pending": await store.pending_alert_count()}
    try:
        return await _deliver(store, sinks, names, settings, counts)
    finally:
        lock.close()


def _pass_lock(store: DeliveriesStore) -> Any:
    """An exclusive lock on <database>.deliver.lock (released when closed), or None if another pass holds it."""
    import fcntl

    handle = open(f"{store.path}.deliver.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


async def _deliver(store: DeliveriesStore, sinks: list[HttpSink | JsonlSink], names: list[str], settings: Any,
                   counts: dict[str, Any]) -> dict:
    start = datetime.now(timezone.utc)
    await store.prepare_deliveries(names, _iso(start))
    try:
        for sink in sinks:
            await _deliver_to(store, sink, names, start, settings, counts)
    finally:
        for sink in sinks:
            await sink.close()
    counts["pending"] = await store.pending_alert_count()
    return counts


async def _deliver_to(store: DeliveriesStore, sink: HttpSink | JsonlSink, names: list[str], start: datetime,
                      settings: Any, counts: dict[str, Any]) -> None:
    ids = await store.due_deliveries(sink.identity, _iso(start))
    paused_until: datetime | None = None
    done = 0

    async def report(outcomes: list[tuple[str, Outcome]]) -> None:
        nonlocal paused_until, done
        at = datetime.now(timezone.utc)

        def step(alert_id: str, outcome: Outcome, attempts: int, window_start: str | None) -> tuple:
            """The delivery's next state (pure next_step); a Retry-After pauses the whole sink."""
            nonlocal paused_until
            state, next_at, error = next_step(outcome, attempts, _at(window_start), at, settings)
            error = redact(error) if error else error  # whatever a sink let through: no secret is stored
            if state == "dead":
                log.warning("alert %s dead-lettered for %s: %s", alert_id, sink.identity, error)
            elif state == "pending":
                log.info("alert %s: %s failed (%s); next try at %s", alert_id, sink.identity, error, _iso(next_at))
            if outcome.retry_after is not None and state == "pending":
                paused_until = max(paused_until or next_at, next_at)
            return (state, _iso(next_at) if next_at else None, outcome.status, error,
                    _iso(at) if state == "delivered" else None)

        for _alert_id, state, alert_state in await store.record_deliveries(
                sink.identity, names, outcomes, step, lambda: _iso(paused_until) if paused_until else None):
            if alert_state == "delivered":
                counts["alerts_delivered"] += 1  # alerts now delivered to every sink, not deliveries
            done += 1
            counts[{"delivered": "delivered", "dead": "dead"}.get(state, "retry")] += 1
            if state == "delivered" and isinstance(sink, JsonlSink):
                counts["written"][str(sink.path)] = counts["written"].get(str(sink.path), 0) + 1

    for offset in range(0, len(ids), BATCH):
        chunk = ids[offset:offset + BATCH]
        rows = await store.due_payloads(sink.identity, chunk, _iso(start))
        before = done
        await sink.deliver(rows, report)
        if done - before < len(rows) or paused_until is not None:
            break  # the sink failed (or asked to wait): the rest stays due for the next pass
    counts["waiting"] += len(ids) - done


async def list_alerts(store: DeliveriesStore, state: str | None = None, offset: int = 0,
                      limit: int | None = None, sort: str = "created", descending: bool = True) -> list[dict]:
    """Alerts, newest first or by `sort` (every one, or a page), with their delivery state per sink (no secrets:
    sinks by identity)."""
    alerts, delivery_rows = await store.alert_rows(state, offset, limit, sort, descending)
    deliveries: dict[str, list[dict[str, Any]]] = {}
    for r in delivery_rows:
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


async def retry_alerts(store: DeliveriesStore, ids: list[str] | None = None) -> int:
    """Make dead and waiting deliveries due now, with a fresh max_age window; returns alerts affected.

    Delivered deliveries are never sent again. `ids`: only these alerts (None: all).
    """
    return await store.retry_deliveries(_iso(datetime.now(timezone.utc)), ids)
