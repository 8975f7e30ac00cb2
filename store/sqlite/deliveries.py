"""SQL of the store, alert deliveries to the sinks."""
from __future__ import annotations


class DeliveriesSQL:
    """Mixed into store.sqlite.Store (the Database gives it self.db, self.transaction(), self.fetchall())."""
