"""SQL of the store, hash banks and their matches."""
from __future__ import annotations


class BanksSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
