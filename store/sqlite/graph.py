"""SQL of the store, what the graph is built from, and the graph's exports."""
from __future__ import annotations


class GraphSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
