"""SQL of the store, bot profiles, verdicts, analyst overrides, mirrors."""
from __future__ import annotations


class BotsSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
