"""A Telethon account held by one process at a time: a PostgreSQL advisory lock, on a connection of its own.

Telegram revokes a session used from two addresses at once (AuthKeyDuplicatedError), so a collector
runs only while it holds its account's lease. The lease is a session-level advisory lock: PostgreSQL
releases it when the holder's connection ends, whether the process exits, is killed or loses the
network, and a standby collector waiting on the same account takes it over. The holder checks the
lease before every request (`check`): if its connection is gone, it stops before the next request,
so two processes never use the account at once. Each acquisition, release and loss goes into
`lease_log`.
"""
from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import datetime, timezone
from typing import Any

from store.postgres.database import conninfo
from store.work import LeaseLost

log = logging.getLogger("tgsweep.lease")
NAMESPACE = 7413  # pg_advisory_lock(NAMESPACE, crc32(account)): tgsweep's accounts, apart from other locks


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Lease:
    """The lease of one account; `acquire` waits for it, `check` before each request, `release` at the end."""

    def __init__(self, conn: Any, url: str, account: str, holder: str):
        self.conn, self.url, self.account, self.holder = conn, url, account, holder
        self.key = zlib.crc32(account.encode()) & 0x7FFFFFFF

    @classmethod
    async def acquire(cls, url: str, account: str, holder: str, poll_seconds: float = 5.0,
                      stop: asyncio.Event | None = None) -> "Lease | None":
        """Hold the account's lease, waiting while another process holds it (a standby); None if `stop` is set
        while waiting (SIGTERM to a standby)."""
        import psycopg

        conn = await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True)
        lease = cls(conn, url, account, holder)
        waited = False
        while not await lease._try():
            if not waited:
                log.info("account %s is held by another collector: waiting (standby)", account)
                waited = True
            if stop is not None:
                try:
                    await asyncio.wait_for(stop.wait(), poll_seconds)
                except asyncio.TimeoutError:
                    continue
                await conn.close()
                return None
            await asyncio.sleep(poll_seconds)
        await lease._log("acquired")
        log.info("lease on account %s acquired by %s", account, holder)
        return lease

    async def _try(self) -> bool:
        row = await (await self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, self.key))).fetchone()
        return bool(row and row[0])

    async def _log(self, event: str, conn: Any = None) -> None:
        await (conn or self.conn).execute("INSERT INTO lease_log(account, holder, event, at) VALUES (%s, %s, %s, %s)",
                                          (self.account, self.holder, event, _now()))

    async def check(self) -> None:
        """Raise LeaseLost unless this process still holds the lease (its connection alive, the lock granted)."""
        import psycopg

        try:
            row = await (await self.conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = %s AND objid = %s AND granted", (NAMESPACE, self.key))).fetchone()
        except psycopg.Error as exc:
            await self._lost(f"its connection failed: {type(exc).__name__}")
        if not row or not row[0]:
            await self._lost("the lock is no longer granted")

    async def _lost(self, why: str) -> None:
        import psycopg

        log.error("lease on account %s lost (%s): no further request with it", self.account, why)
        try:  # best effort, on a new connection: the old one is gone
            async with await psycopg.AsyncConnection.connect(conninfo(self.url), autocommit=True) as conn:
                await self._log("lost", conn)
        except psycopg.Error:
            pass
        raise LeaseLost(f"the lease on account {self.account} was lost ({why})")

    async def release(self) -> None:
        import psycopg

        try:
            if not self.conn.closed:
                await self._log("released")
                await self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", (NAMESPACE, self.key))
        except psycopg.Error:
            pass  # the connection is gone: PostgreSQL has released the lock already
        finally:
            await self.conn.close()
