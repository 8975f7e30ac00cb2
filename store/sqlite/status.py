"""SQL of the store, read models of `status`, `verify` and the command line."""
from __future__ import annotations


class StatusSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
