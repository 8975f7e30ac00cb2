"""SQL of the store, escalation scores and their history."""
from __future__ import annotations


class EscalationsSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
