"""SQL of the store, hash banks and their matches (store/banks.py)."""
from __future__ import annotations

from typing import Any

from store.alerts import AlertSettings
from store.records import now
from store.sqlite.alerts import bank_match_rule
from store.sqlite.database import Database, marks


async def _withdraw_alerts(db: Any, bank: str, why: str, only_unmatched: bool = False) -> int:
    """A withdrawn list's matches are no longer claims about a picture: its bank_match alerts not yet
    delivered (to every sink) are never sent. `only_unmatched`: only those of files with no match left
    in the bank. Returns the alerts withdrawn."""
    undelivered = ("SELECT id FROM alerts WHERE type='bank_match' AND state != 'delivered' "
                   "AND json_extract(payload, '$.evidence.bank') = ?")
    params: list[Any] = [bank]
    if only_unmatched:
        undelivered += (" AND NOT EXISTS (SELECT 1 FROM bank_matches m WHERE m.bank = ? "
                        "AND m.sha256 = json_extract(payload, '$.evidence.sha256'))")
        params.append(bank)
    ids = [r[0] for r in await db.execute_fetchall(undelivered, params)]
    places = marks(ids)
    await db.execute(f"UPDATE alert_deliveries SET state='withdrawn', next_attempt_at=NULL "
                     f"WHERE state != 'delivered' AND alert_id IN ({places})", ids)
    await db.execute(f"UPDATE alerts SET state='withdrawn', next_attempt_at=NULL, last_error=? WHERE id IN ({places})",
                     [why, *ids])
    return len(ids)


class BanksSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def add_bank_hashes(self, name: str, source: str | None,
                              hashes: list[tuple[str, str, str | None, int | None]]) -> int:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO hash_banks(name, source, imported_at) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET source=excluded.source, imported_at=excluded.imported_at",
                (name, source, now()))
            (before,) = (await db.execute_fetchall("SELECT count(*) FROM bank_hashes WHERE bank=?", (name,)))[0]
            await db.executemany(
                "INSERT INTO bank_hashes(bank, hash_type, hash, label, line) VALUES (?,?,?,?,?) "
                "ON CONFLICT(bank, hash_type, hash) DO UPDATE SET label=excluded.label, line=excluded.line",
                [(name, *h) for h in hashes])
            (after,) = (await db.execute_fetchall("SELECT count(*) FROM bank_hashes WHERE bank=?", (name,)))[0]
            await db.execute("UPDATE hash_banks SET hashes=? WHERE name=?", (after, name))
        return after - before

    async def bank_rows(self) -> list[tuple[Any, dict[str, int]]]:
        rows = await self.fetchall(
            """SELECT b.name, b.source, b.imported_at, b.hashes, b.version, b.synced_at, b.etag,
                      (SELECT count(DISTINCT sha256) FROM bank_matches m WHERE m.bank = b.name) AS matched
               FROM hash_banks b ORDER BY b.name""")
        return [(row, {r[0]: r[1] for r in await self.fetchall(
            "SELECT hash_type, count(*) FROM bank_hashes WHERE bank=? GROUP BY hash_type", (row["name"],))})
            for row in rows]

    async def remove_bank(self, name: str) -> bool:
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM hash_banks WHERE name=?", (name,))
            await db.execute("DELETE FROM bank_hashes WHERE bank=?", (name,))
            await db.execute("DELETE FROM bank_matches WHERE bank=?", (name,))
            await _withdraw_alerts(db, name, f"bank {name} removed: not sent")
            return cur.rowcount > 0

    async def sync_bank(self, name: str, source: str | None, version: str,
                        hashes: list[tuple[str, str, str | None, int | None]],
                        etag: str | None = None) -> tuple[int, int, int]:
        keep = {(h[0], h[1]) for h in hashes}
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO hash_banks(name, source, imported_at, version, synced_at, etag) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET source=excluded.source, imported_at=excluded.imported_at, "
                "version=excluded.version, synced_at=excluded.synced_at, etag=excluded.etag",
                (name, source, now(), version, now(), etag))
            held = {(r[0], r[1]) for r in await db.execute_fetchall(
                "SELECT hash_type, hash FROM bank_hashes WHERE bank=?", (name,))}
            gone = sorted(held - keep)
            await db.executemany(
                "INSERT INTO bank_hashes(bank, hash_type, hash, label, line) VALUES (?,?,?,?,?) "
                "ON CONFLICT(bank, hash_type, hash) DO UPDATE SET label=excluded.label, line=excluded.line",
                [(name, *h) for h in hashes])
            await db.executemany("DELETE FROM bank_hashes WHERE bank=? AND hash_type=? AND hash=?",
                                 [(name, t, h) for t, h in gone])
            await db.executemany("DELETE FROM bank_matches WHERE bank=? AND hash_type=? AND hash=?",
                                 [(name, t, h) for t, h in gone])
            (size,) = (await db.execute_fetchall("SELECT count(*) FROM bank_hashes WHERE bank=?", (name,)))[0]
            await db.execute("UPDATE hash_banks SET hashes=? WHERE name=?", (size, name))
            # a file none of whose matches in this bank remain: its undelivered alert is withdrawn
            withdrawn = await _withdraw_alerts(db, name, f"hash withdrawn from bank {name} (version {version[:12]}): "
                                               "not sent", only_unmatched=True) if gone else 0
        return len(keep - held), len(gone), withdrawn

    async def touch_bank(self, name: str, etag: str | None) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE hash_banks SET synced_at=?, etag=coalesce(?, etag) WHERE name=?", (now(), etag, name))

    async def bank_hashes(self) -> list[tuple[str, str, str, str | None]]:
        return [tuple(r) for r in await self.fetchall("SELECT bank, hash_type, hash, label FROM bank_hashes")]

    async def media_hashes(self) -> list[Any]:
        return await self.fetchall("SELECT sha256, md5, pdq, pdq_quality, phash, pdq_lookup, frames, pdq_crops FROM media")

    async def replace_bank_matches(self, records: list[tuple], alerts: AlertSettings) -> int:
        async with self.transaction() as db:
            await db.execute("DELETE FROM bank_matches")
            if records:
                await db.executemany("INSERT INTO bank_matches VALUES (?,?,?,?,?,?,?,?,?)", records)
            return await bank_match_rule(db, alerts) if records else 0  # with their cause, or not at all
