"""SQL of the store, alert delivery: the outbox as the delivery side reads and updates it (store/deliveries.py)."""
from __future__ import annotations

from typing import Any, Callable

from store.alerts import delivery_state
from store.sqlite.database import NO_LIMIT, Database, marks


async def _refresh_alert(tx: Any, alert_id: str, sinks: list[str]) -> str:
    """alerts.state from its deliveries; returns it."""
    rows = await tx.execute_fetchall("SELECT * FROM alert_deliveries WHERE alert_id=?", (alert_id,))
    s = delivery_state(rows, sinks)
    await tx.execute("UPDATE alerts SET state=?, attempts=?, next_attempt_at=?, last_error=?, delivered_at=? "
                     "WHERE id=?", (s["state"], s["attempts"], s["next_attempt_at"], s["last_error"],
                                    s["delivered_at"], alert_id))
    return s["state"]


_ALERT_ORDER = {"created": "created_at", "type": "type", "subject": "subject", "state": "state",
                "attempts": "attempts",
                "severity": "CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END"}


class DeliveriesSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def known_alert_ids(self, ids: list[str]) -> set[str]:
        places = marks(ids)
        return {r[0] for r in await self.fetchall(f"SELECT id FROM alerts WHERE id IN ({places})", ids)}

    async def pending_alert_count(self) -> int:
        return await self.scalar("SELECT count(*) FROM alerts WHERE state='pending'")

    async def prepare_deliveries(self, sinks: list[str], start: str) -> None:
        async with self.transaction() as tx:  # every pending alert gets a row per configured sink
            for name in sinks:
                await tx.execute(  # the retry window starts now: a sink added later gets its full max_age_days
                    "INSERT INTO alert_deliveries(alert_id, sink, state, next_attempt_at, window_start) "
                    "SELECT id, ?, 'pending', created_at, ? FROM alerts WHERE state='pending' ON CONFLICT DO NOTHING",
                    (name, start))
            if sinks:  # a sink removed from the config: alerts it alone held up get their final state
                places = marks(sinks)
                for (alert_id,) in await tx.execute_fetchall(
                        f"""SELECT id FROM alerts a WHERE state='pending' AND NOT EXISTS (
                              SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.state = 'pending'
                              AND d.sink IN ({places}))""", sinks):
                    await _refresh_alert(tx, alert_id, sinks)

    async def due_deliveries(self, sink: str, at: str) -> list[str]:
        return [r[0] for r in await self.fetchall(
            """SELECT d.alert_id FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
               WHERE d.sink=? AND d.state='pending' AND d.next_attempt_at <= ? ORDER BY a.created_at, a.id""",
            (sink, at))]

    async def due_payloads(self, sink: str, alert_ids: list[str], at: str) -> list[tuple[str, str]]:
        places = marks(alert_ids)
        return [(r["id"], r["payload"]) for r in await self.fetchall(
            f"""SELECT a.id, a.payload FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id AND d.sink=?
                WHERE a.id IN ({places}) AND d.state='pending' AND d.next_attempt_at <= ?
                ORDER BY a.created_at, a.id""", [sink, *alert_ids, at])]

    async def record_deliveries(self, sink: str, sinks: list[str], outcomes: list[tuple[str, Any]],
                                step: Callable[[str, Any, int, str | None], tuple],
                                pause_after: Callable[[], str | None]) -> list[tuple[str, str, str]]:
        done = []
        async with self.transaction() as tx:
            for alert_id, outcome in outcomes:
                rows = await tx.execute_fetchall(
                    "SELECT attempts, window_start FROM alert_deliveries WHERE alert_id=? AND sink=?", (alert_id, sink))
                attempts = rows[0]["attempts"] + 1
                state, next_at, status, error, delivered_at = step(alert_id, outcome, attempts, rows[0]["window_start"])
                await tx.execute(
                    """UPDATE alert_deliveries SET state=?, attempts=?, next_attempt_at=?, last_status=?,
                         last_error=?, delivered_at=? WHERE alert_id=? AND sink=?""",
                    (state, attempts, next_at, status, error, delivered_at, alert_id, sink))
                done.append((alert_id, state, await _refresh_alert(tx, alert_id, sinks)))
            paused_until = pause_after()
            if paused_until is not None:  # Retry-After: the whole sink waits, not just this alert
                await tx.execute(
                    "UPDATE alert_deliveries SET next_attempt_at=? WHERE sink=? AND state='pending' "
                    "AND next_attempt_at < ?", (paused_until, sink, paused_until))
        return done

    async def alert_rows(self, state: str | None = None, offset: int = 0, limit: int | None = None,
                         sort: str = "created", descending: bool = True) -> tuple[list[Any], list[Any]]:
        column = _ALERT_ORDER[sort]
        way = "DESC" if descending else "ASC"
        order = f"{column} {way}, created_at {way}, id"
        alerts = await self.fetchall(  # the page's ids first (no payload carried through the sort), then the rows
            f"""WITH page AS (SELECT id FROM alerts WHERE ? IS NULL OR state = ? ORDER BY {order} LIMIT ? OFFSET ?)
                SELECT a.id, type, subject, severity, created_at, payload, state, attempts, next_attempt_at,
                       last_error, delivered_at FROM page JOIN alerts a ON a.id = page.id
                ORDER BY {column} {way}, created_at {way}, a.id""",
            (state, state, NO_LIMIT if limit is None else limit, offset))
        ids = [a["id"] for a in alerts]
        deliveries = await self.fetchall(
            "SELECT alert_id, sink, state, attempts, next_attempt_at, last_status, last_error, delivered_at "
            "FROM alert_deliveries ORDER BY sink") if limit is None else [r for chunk in range(0, len(ids), 500)
            for r in await self.fetchall(
                "SELECT alert_id, sink, state, attempts, next_attempt_at, last_status, last_error, delivered_at "
                f"FROM alert_deliveries WHERE alert_id IN ({marks(ids[chunk:chunk + 500])}) ORDER BY sink",
                ids[chunk:chunk + 500])]
        return alerts, deliveries

    async def alert_count(self, state: str | None = None) -> int:
        return await self.scalar("SELECT count(*) FROM alerts WHERE ? IS NULL OR state = ?", (state, state))

    async def retry_deliveries(self, at: str, ids: list[str] | None = None) -> int:
        where, params = "state IN ('pending', 'dead')", []
        if ids:
            where += f" AND alert_id IN ({marks(ids)})"
            params = list(ids)
        async with self.transaction() as tx:
            rows = await tx.execute_fetchall(f"SELECT DISTINCT alert_id FROM alert_deliveries WHERE {where}", params)
            await tx.execute(f"UPDATE alert_deliveries SET state='pending', next_attempt_at=?, window_start=? "
                             f"WHERE {where}", [at, at, *params])
            alert_ids = [r[0] for r in rows]
            for start in range(0, len(alert_ids), 500):
                chunk = alert_ids[start:start + 500]
                await tx.execute(f"UPDATE alerts SET state='pending', next_attempt_at=? "
                                 f"WHERE id IN ({marks(chunk)}) AND state != 'delivered'", [at, *chunk])
        return len(alert_ids)
