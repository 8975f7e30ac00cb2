"""The SQLite implementation of the store: one file, one writer (see database.py)."""
from store.sqlite.database import Store

__all__ = ["Store"]
