"""SQL of the store, fingerprints of collected files, repost clusters."""
from __future__ import annotations


class MediaSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
