"""MISP: the escalated subjects as a MISP event (pymisp), and what someone else's event names, read back.

Bots are `telegram-bot` objects and channels `telegram-account` objects (MISP's own object
templates, shipped with pymisp), each with its reasons as the comment; known media are `file`
objects (SHA-256, MD5; the PDQ hash, which MISP has no type for, as a `text` attribute `pdq:<hex>`).
The graph's edges between exported subjects become object references (promotes, forwarded-from,
mirror-of, posted). The event carries the TLP tag of `[sharing] tlp`, the unit as its info and
stable UUIDs (UUIDv5 of what each object is about), so a re-export keeps every UUID.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import networkx as nx
from pymisp import MISPEvent, MISPObject

from graph.stix import EDGE_TYPES, NAMESPACE, Shared, _name

THREAT_LEVEL = ((0.95, 1), (0.8, 2), (0.0, 3))  # escalation at least -> MISP threat level (1 high, 3 low)


def _uuid(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"misp|{key}"))


def misp_event(graph: nx.MultiDiGraph, files: dict[str, list[dict[str, Any]]], unit: str, tlp: str,
               min_escalation: float, date: str | None = None) -> MISPEvent:
    """One event with every channel, bot and repost cluster escalated at least `min_escalation`."""
    event = MISPEvent()
    event.uuid = _uuid(f"event|{unit}|{min_escalation}")
    event.info = f"tgsweep ({unit}): Telegram channels and bots spreading sexual deepfakes, and known media"
    event.distribution = 0  # this organisation only, until someone decides to share it wider
    event.analysis = 2
    chosen = sorted(n for n, a in graph.nodes(data=True)
                    if a.get("kind") in ("channel", "bot", "media") and a.get("escalation", 0.0) >= min_escalation)
    top = max((graph.nodes[n].get("escalation", 0.0) for n in chosen), default=0.0)
    event.threat_level_id = next(level for floor, level in THREAT_LEVEL if top >= floor)
    if date:
        event.date = date[:10]
    event.add_tag(f"tlp:{'clear' if tlp == 'white' else tlp}")
    objects: dict[str, MISPObject] = {}
    for node in chosen:
        a = graph.nodes[node]
        kind, name = a["kind"], _name(node)
        comment = f"escalation {a.get('escalation', 0.0):.2f}: " + "; ".join(a.get("escalation_reasons") or [])
        if kind == "bot":
            obj = MISPObject("telegram-bot", standalone=False)
            obj.add_attribute("username", value=name)
        elif kind == "channel":
            obj = MISPObject("telegram-account", standalone=False)
            obj.add_attribute("username", value=name)
        else:
            cluster = files.get(name, [])
            if not cluster:
                continue
            for f in cluster[:50]:
                obj = MISPObject("file", standalone=False)
                obj.uuid = _uuid(f"file|{f['sha256']}")
                obj.comment = f"repost cluster {name}; {comment}"
                obj.add_attribute("sha256", value=f["sha256"])
                if f.get("md5"):
                    obj.add_attribute("md5", value=f["md5"])
                if f.get("pdq"):
                    obj.add_attribute("text", value=f"pdq:{f['pdq']}")
                for attribute in obj.attributes:
                    attribute.uuid = _uuid(f"attribute|{f['sha256']}|{attribute.object_relation}")
                event.add_object(obj)
                objects.setdefault(node, obj)
            continue
        obj.uuid = _uuid(f"object|{node}")
        obj.comment = comment
        for attribute in obj.attributes:
            attribute.uuid = _uuid(f"attribute|{node}|{attribute.object_relation}")
        event.add_object(obj)
        objects[node] = obj
    for u, v, key in sorted(graph.edges(keys=True)):
        if u in objects and v in objects and key in EDGE_TYPES:
            reference = objects[u].add_reference(objects[v].uuid, EDGE_TYPES[key])
            reference.uuid = _uuid(f"reference|{u}|{key}|{v}")
    return event


SEVERITY_THREAT = {"critical": 1, "high": 1, "medium": 2}  # MISP threat levels: 1 high, 2 medium, 3 low


def alert_event(alert: dict[str, Any], tlp: str) -> MISPEvent:
    """One alert (the webhook body) as a MISP event: its subject as a telegram-bot, telegram-account or file
    object with the reasons, the t.me posts behind it as links; the UUID from the alert id."""
    event = MISPEvent()
    event.uuid = _uuid(f"alert|{alert['id']}")
    event.info = f"tgsweep {alert.get('type')} alert: {alert.get('subject')}"
    event.distribution = 0
    event.analysis = 0
    event.threat_level_id = SEVERITY_THREAT.get(str(alert.get("severity")), 3)
    if alert.get("created_at"):
        event.date = str(alert["created_at"])[:10]
    event.add_tag(f"tlp:{'clear' if tlp == 'white' else tlp}")
    evidence = alert.get("evidence") or {}
    comment = "; ".join(alert.get("reasons") or [])[:2000]
    kind, _, name = str(alert.get("subject", "")).partition(":")
    obj = None
    if kind in ("bot", "channel"):
        obj = MISPObject("telegram-bot" if kind == "bot" else "telegram-account", standalone=False)
        obj.add_attribute("username", value=name)
    elif evidence.get("sha256"):
        obj = MISPObject("file", standalone=False)
        obj.add_attribute("sha256", value=evidence["sha256"])
        if evidence.get("md5"):
            obj.add_attribute("md5", value=evidence["md5"])
    if obj is not None:
        obj.uuid = _uuid(f"alert|{alert['id']}|object")
        obj.comment = comment
        event.add_object(obj)
    urls = [u for u in (evidence.get("urls") or evidence.get("posts") or []) if str(u).startswith("https://t.me/")]
    for url in urls[:50]:
        event.add_attribute("link", url, comment="a post behind the alert", to_ids=False)
    return event


def read_misp(text: str) -> Shared:
    """The Telegram accounts and file hashes a MISP event (JSON, `{"Event": ...}` or the event itself) names."""
    data = json.loads(text)
    event = data.get("Event", data) if isinstance(data, dict) else None
    if not isinstance(event, dict) or ("Object" not in event and "Attribute" not in event):
        raise ValueError("not a MISP event (expected a JSON object with Event, Object or Attribute)")
    shared = Shared(source=str((event.get("Orgc") or {}).get("name") or event.get("info") or ""))
    for obj in event.get("Object") or []:
        values: dict[str, str] = {}
        for attribute in obj.get("Attribute") or []:
            values.setdefault(str(attribute.get("object_relation")), str(attribute.get("value") or ""))
        name = obj.get("name")
        login = values.get("username", "").lstrip("@").lower()
        if name == "telegram-bot" and login:
            shared.bots.append(login)
        elif name == "telegram-account" and login:
            (shared.bots if login.endswith("bot") else shared.channels).append(login)
        elif name == "file":
            entry = {"sha256": values.get("sha256", "").lower(), "md5": values.get("md5", "").lower(),
                     "pdq": values["text"][4:].lower() if values.get("text", "").startswith("pdq:") else "",
                     "label": str(obj.get("comment") or "")[:200]}
            entry = {k: v for k, v in entry.items() if v}
            if set(entry) - {"label"}:
                shared.hashes.append(entry)
    for attribute in event.get("Attribute") or []:  # loose attributes: hashes only
        if attribute.get("type") in ("sha256", "md5"):
            shared.hashes.append({attribute["type"]: str(attribute.get("value", "")).lower(),
                                  "label": str(attribute.get("comment") or "")})
    shared.channels, shared.bots = sorted(set(shared.channels)), sorted(set(shared.bots))
    return shared


async def gather_misp(store: Any, config: Any, min_escalation: float) -> MISPEvent:
    """The graph as built now, the files of its escalated repost clusters, then misp_event."""
    from graph.stix import cluster_files_of
    from graph.build import build_graph

    graph = await build_graph(store, max_posts=config.graph.max_edge_posts)
    files = await cluster_files_of(store, graph, min_escalation)
    dates = [a.get("last_seen") for _, a in graph.nodes(data=True) if a.get("last_seen")]
    return misp_event(graph, files, config.sharing.unit, config.sharing.tlp, min_escalation, max(dates, default=None))
