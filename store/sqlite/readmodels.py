"""SQL of the store, read models of the explorer."""
from __future__ import annotations


class ReadModelsSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
