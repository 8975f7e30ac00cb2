"""SQL of the store, automation scores of channels and accounts."""
from __future__ import annotations


class AutomationSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
