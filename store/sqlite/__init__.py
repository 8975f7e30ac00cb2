"""The SQLite implementation of the store: one file, one writer (database.py), one file of SQL per concern.

Store is the Database plus one mixin per concern; each stage is typed with the narrow Protocol
(store/<concern>.py) it uses, which this class satisfies. A second database implements the same
Protocols beside this package.
"""
from store.sqlite.database import Database
from store.sqlite.collection import CollectionSQL
from store.sqlite.telethon import TelethonSQL
from store.sqlite.bots import BotsSQL
from store.sqlite.automation import AutomationSQL
from store.sqlite.media import MediaSQL
from store.sqlite.banks import BanksSQL
from store.sqlite.graph import GraphSQL
from store.sqlite.escalations import EscalationsSQL
from store.sqlite.evidence import EvidenceSQL
from store.sqlite.takedowns import TakedownsSQL
from store.sqlite.deliveries import DeliveriesSQL
from store.sqlite.readmodels import ReadModelsSQL
from store.sqlite.status import StatusSQL


class Store(CollectionSQL, TelethonSQL, BotsSQL, AutomationSQL, MediaSQL, BanksSQL, GraphSQL, EscalationsSQL, EvidenceSQL, TakedownsSQL, DeliveriesSQL, ReadModelsSQL, StatusSQL,
            Database):
    """All reads and writes of the database. Open with `await Store.open(path)`."""


__all__ = ["Store"]
