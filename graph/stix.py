"""STIX 2.1: the escalated channels, bots and known media as a bundle other agencies' and platforms'
tools read (stix2 library), and what someone else's bundle names, read back.

Bots and channels are `user-account` observables (account_type `telegram`, the username as
account_login, bots as service accounts); media files are `file` observables with MD5, SHA-256 and
PDQ (a hash type STIX leaves open) hashes. Each escalated subject gets an `indicator` whose
pattern matches it, with its reasons as the description, its escalation as the confidence and its
t.me address as an external reference, `related-to` its observables. The graph's edges between
exported subjects become relationships (`promotes`, `forwarded-from`, `mirror-of`, `posted`,
`links-to`). Every object is created by the unit's `identity` and marked with the TLP level of
`[sharing] tlp`. Ids are stable: observables get STIX's own deterministic ids, the others a
UUIDv5 of what they are about, so a re-export keeps every object's id; times come from when the
subject was first and last seen, so an unchanged store exports the same bundle.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import stix2

NAMESPACE = uuid.UUID("6f3c1a52-2f8e-4f0a-9a43-7d2e5b1c9e10")  # tgsweep's, for the ids of what it describes
EPOCH = "2020-01-01T00:00:00Z"  # for a subject without a date
TLP = {"clear": stix2.TLP_WHITE, "white": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER,
       "red": stix2.TLP_RED}
EDGE_TYPES = {"promotes": "promotes", "forwarded_from": "forwarded-from", "mirror_of": "mirror-of",
              "posted": "posted", "links_to": "links-to"}
MAX_FILES = 50  # files of one repost cluster in its indicator's pattern


def stable_id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, key)}"


def _time(value: str | None) -> str:
    if not value:
        return EPOCH
    return value.replace("+00:00", "Z") if value.endswith("+00:00") else value


def _name(node: str) -> str:
    return node.split(":", 1)[1]


@dataclass
class Shared:
    """What a bundle (or a MISP event) names: accounts by kind, and file hashes with their labels."""

    channels: list[str] = field(default_factory=list)
    bots: list[str] = field(default_factory=list)
    hashes: list[dict[str, str]] = field(default_factory=list)  # {"sha256"|"md5"|"pdq": hex, "label": ...}
    source: str = ""  # who shared it (the bundle's identity, the event's organisation)


def stix_bundle(graph: nx.MultiDiGraph, files: dict[str, list[dict[str, Any]]], unit: str, tlp: str,
                min_escalation: float) -> stix2.Bundle:
    """The bundle of every channel, bot and repost cluster escalated at least `min_escalation`; `files` maps a
    cluster id to its files (sha256, md5, pdq)."""
    marking = TLP[tlp]
    identity = stix2.Identity(id=stable_id("identity", f"unit:{unit}"), name=unit, identity_class="organization",
                              created=EPOCH, modified=EPOCH, description="exported by tgsweep")
    common = {"created_by_ref": identity.id, "object_marking_refs": [marking.id]}
    objects: list[Any] = [identity, marking]
    anchor: dict[str, str] = {}  # node -> the object its relationships point at
    chosen = sorted(n for n, a in graph.nodes(data=True)
                    if a.get("kind") in ("channel", "bot", "media") and a.get("escalation", 0.0) >= min_escalation)
    for node in chosen:
        a = graph.nodes[node]
        kind, name = a["kind"], _name(node)
        created = _time(a.get("first_seen"))
        modified = max(created, _time(a.get("last_seen")))
        observed: list[Any] = []
        if kind in ("channel", "bot"):
            account = stix2.UserAccount(account_type="telegram", account_login=name,
                                        display_name=a.get("title") or a.get("label") or name,
                                        is_service_account=kind == "bot")
            observed.append(account)
            pattern = f"[user-account:account_type = 'telegram' AND user-account:account_login = '{name}']"
            title = (f"Deepfake-generating Telegram bot @{name}" if kind == "bot"
                     else f"Telegram channel @{name} spreading deepfake abuse")
            reference = [{"source_name": "t.me", "url": f"https://t.me/{'s/' if kind == 'channel' else ''}{name}"}]
            anchor[node] = account.id
        else:
            cluster_files = files.get(name, [])[:MAX_FILES]
            for f in cluster_files:
                hashes = {"SHA-256": f["sha256"]} | ({"MD5": f["md5"]} if f.get("md5") else {}) \
                    | ({"PDQ": f["pdq"]} if f.get("pdq") else {})
                observed.append(stix2.File(hashes=hashes, allow_custom=True))
            if not observed:
                continue
            pattern = "[" + " OR ".join(f"file:hashes.'SHA-256' = '{f['sha256']}'" for f in cluster_files) + "]"
            title = f"Known abusive media (repost cluster {name})"
            reference = []
        indicator = stix2.Indicator(
            id=stable_id("indicator", node), created=created, modified=modified, name=title,
            description="\n".join(a.get("escalation_reasons") or []) or "escalated by tgsweep",
            pattern=pattern, pattern_type="stix", valid_from=created, indicator_types=["malicious-activity"],
            confidence=int(round(100 * a.get("escalation", 0.0))), labels=[f"tgsweep-{kind}"],
            external_references=reference or None, **common)
        anchor.setdefault(node, indicator.id)
        objects += observed + [indicator]
        for obs in observed:
            objects.append(stix2.Relationship(id=stable_id("relationship", f"{indicator.id}|related-to|{obs.id}"),
                                              created=created, modified=modified, relationship_type="related-to",
                                              source_ref=indicator.id, target_ref=obs.id, **common))
    wanted = set(chosen)
    for u, v, key, e in sorted(graph.edges(keys=True, data=True), key=lambda x: (x[0], x[1], x[2])):
        if u in anchor and v in anchor and key in EDGE_TYPES and u in wanted and v in wanted:
            created = _time(e.get("first_seen"))
            objects.append(stix2.Relationship(
                id=stable_id("relationship", f"{u}|{key}|{v}"), created=created,
                modified=max(created, _time(e.get("last_seen"))), relationship_type=EDGE_TYPES[key],
                source_ref=anchor[u], target_ref=anchor[v],
                description=f"{e.get('count', 0)} post(s): " + ", ".join(f"https://t.me/{p}" for p in
                                                                           (e.get("posts") or [])[:10]),
                **common))
    return stix2.Bundle(objects=objects, id=stable_id("bundle", f"{unit}|{min_escalation}|"
                                                                + "|".join(o.id for o in objects)),
                        allow_custom=True)


def read_stix(text: str) -> Shared:
    """The Telegram accounts and file hashes someone else's STIX 2.x bundle names (unknown objects skipped)."""
    bundle = json.loads(text)
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise ValueError("not a STIX bundle (expected a JSON object with type \"bundle\")")
    shared = Shared()
    labels: dict[str, str] = {}
    for obj in bundle.get("objects") or []:
        if obj.get("type") == "identity" and not shared.source:
            shared.source = str(obj.get("name") or "")
        if obj.get("type") == "indicator":
            for digest in _pattern_hashes(obj.get("pattern") or ""):
                labels[digest] = str(obj.get("name") or "")
    for obj in bundle.get("objects") or []:
        if obj.get("type") == "user-account" and str(obj.get("account_type", "")).lower() == "telegram":
            login = str(obj.get("account_login") or "").lstrip("@").lower()
            if login:
                (shared.bots if obj.get("is_service_account") or login.endswith("bot") else shared.channels).append(login)
        elif obj.get("type") == "file":
            hashes = {k.upper(): str(v).lower() for k, v in (obj.get("hashes") or {}).items()}
            entry = {"sha256": hashes.get("SHA-256"), "md5": hashes.get("MD5"), "pdq": hashes.get("PDQ")}
            entry = {k: v for k, v in entry.items() if v}
            if entry:
                entry["label"] = labels.get(entry.get("sha256", ""), "")
                shared.hashes.append(entry)
    shared.channels, shared.bots = sorted(set(shared.channels)), sorted(set(shared.bots))
    return shared


def _pattern_hashes(pattern: str) -> list[str]:
    import re

    return [m.lower() for m in re.findall(r"hashes\.'SHA-256'\s*=\s*'([0-9A-Fa-f]{64})'", pattern)]


async def gather_stix(store: Any, config: Any, min_escalation: float) -> stix2.Bundle:
    """The graph as built now (graph.build), the files of its escalated repost clusters, then stix_bundle."""
    from graph.build import build_graph

    graph = await build_graph(store, max_posts=config.graph.max_edge_posts)
    files = await cluster_files_of(store, graph, min_escalation)
    return stix_bundle(graph, files, config.sharing.unit, config.sharing.tlp, min_escalation)


async def cluster_files_of(store: Any, graph: nx.MultiDiGraph, min_escalation: float) -> dict[str, list[dict[str, Any]]]:
    """The files (sha256, md5, pdq...) of every repost cluster escalated at least `min_escalation`."""
    files: dict[str, list[dict[str, Any]]] = {}
    for node, a in graph.nodes(data=True):
        if a.get("kind") == "media" and a.get("escalation", 0.0) >= min_escalation:
            cluster = _name(node)
            rows = [await store.media_file(d) for d in sorted(await store.cluster_files(cluster))]
            files[cluster] = [r for r in rows if r is not None]
    return files
