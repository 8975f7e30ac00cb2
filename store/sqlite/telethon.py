"""SQL of the store, Telethon collection state: entities, sessions' cursors."""
from __future__ import annotations


class TelethonSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
