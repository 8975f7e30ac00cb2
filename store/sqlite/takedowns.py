"""SQL of the store, takedown checks."""
from __future__ import annotations


class TakedownsSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
