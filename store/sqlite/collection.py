"""SQL of the store, sweeps, watchlist, cursors, pages of posts, captures, media rows."""
from __future__ import annotations


class CollectionSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
