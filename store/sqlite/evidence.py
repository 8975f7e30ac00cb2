"""SQL of the store, what an evidence bundle gathers."""
from __future__ import annotations


class EvidenceSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
