"""The SQLite implementation of the store: one file, one writer (database.py), one file of SQL per concern.

Store is the Database plus one mixin per concern; each stage is typed with the narrow Protocol
(store/<concern>.py) it uses, which this class satisfies. A second database implements the same
Protocols beside this package.
"""
from typing import TYPE_CHECKING

from store.sqlite.audit import AuditSQL
from store.sqlite.automation import AutomationSQL
from store.sqlite.banks import BanksSQL
from store.sqlite.bots import BotsSQL
from store.sqlite.collection import CollectionSQL
from store.sqlite.deliveries import DeliveriesSQL
from store.sqlite.escalations import EscalationsSQL
from store.sqlite.evidence import EvidenceSQL
from store.sqlite.graph import GraphSQL
from store.sqlite.media import MediaSQL
from store.sqlite.readmodels import ReadModelsSQL
from store.sqlite.status import StatusSQL
from store.sqlite.takedowns import TakedownsSQL
from store.sqlite.telethon import TelethonSQL
from store.sqlite.work import WorkSQL


class Store(TelethonSQL, TakedownsSQL, CollectionSQL, BotsSQL, AutomationSQL, MediaSQL, BanksSQL, GraphSQL,
            EscalationsSQL, EvidenceSQL, DeliveriesSQL, ReadModelsSQL, StatusSQL, AuditSQL, WorkSQL):
    """All reads and writes of the database. Open with `await Store.open(path)`."""


__all__ = ["Store"]


if TYPE_CHECKING:  # mypy checks here that the Store implements every interface of store/
    from store.audit import AuditLog
    from store.automation import AutomationStore
    from store.banks import BanksStore
    from store.bots import BotsStore
    from store.collection import CollectionStore
    from store.deliveries import DeliveriesStore
    from store.escalations import EscalationsStore
    from store.evidence import EvidenceStore
    from store.graph import ExportsStore, GraphSource
    from store.media import MediaStore
    from store.readmodels import ExplorerReadModel
    from store.status import StatusReadModel
    from store.takedowns import TakedownsStore
    from store.telethon import TelethonStateStore
    from store.work import DispatchStore

    def _implements(store: Store) -> tuple[AuditLog, AutomationStore, BanksStore, BotsStore, CollectionStore,
                                           DeliveriesStore, EscalationsStore, EvidenceStore, ExportsStore, GraphSource,
                                           MediaStore, ExplorerReadModel, StatusReadModel, TakedownsStore,
                                           TelethonStateStore, DispatchStore]:
        return (store, store, store, store, store, store, store, store, store, store, store, store, store, store, store,
                store)
