"""The store on PostgreSQL (`[storage] url = "postgresql+psycopg://..."`): the SQLite store's SQL on another engine.

PostgresStore is the same concerns' SQL (store/sqlite/<concern>.py) on PgDatabase, which comes
first so its connection, transactions and the few engine-specific reads win; it implements the
same Protocols (checked at run time by tests/store/test_protocols.py).
"""
from store.postgres.database import PgDatabase
from store.postgres.graph import PgGraphReads
from store.sqlite import Store


# mypy sees PgDatabase's methods differ in type from the SQLite Database's they replace (rows, the engine's
# URL for a path); that they serve every Protocol is checked at run time (tests/store/test_protocols.py)
class PostgresStore(PgGraphReads, PgDatabase, Store):  # type: ignore[misc]
    """All reads and writes of a PostgreSQL database. Open with `await PostgresStore.open(url)`."""


__all__ = ["PostgresStore"]
