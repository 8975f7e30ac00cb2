"""What the explorer shows, read from the store: the graph, a channel, a bot, a media file, alerts.

Reads only, except `retry` (graph.alerts.delivery.retry_alerts); a bot's override is
detectors.bots.stage.set_override (app.py), the same decision as `tgsweep bots label`. The graph is
graph.build's; the explorer reads the tables itself only when that fails.
"""
from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

import networkx as nx

from store.readmodels import ExplorerReadModel, QueueFilter
from tgsweep.config import Serve, default

log = logging.getLogger(__name__)

KINDS = ("channel", "bot", "media", "account")
EDGE_KINDS = ("forwarded_from", "promotes", "posted", "links_to", "mirror_of")
MAX_EDGES = 150_000  # edges sent at most (the strongest first) when a filtered graph is still huge
MAX_ROWS = 500  # rows of one list on a detail page (posts, media, promoters); the count says how many more


def _json_list(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [value]


# -- the graph ----------------------------------------------------------------------------------------

async def load_graph(store: ExplorerReadModel) -> tuple[nx.MultiDiGraph, list[str]]:
    """The graph from graph.build (interface 5, escalations included), the one builder; when that
    fails the page still opens, empty, with a note saying why."""
    from graph.build import build_graph

    try:
        return await build_graph(store), []
    except Exception as exc:  # the explorer must still open; the page shows the note
        log.exception("graph.build.build_graph failed")
        return nx.MultiDiGraph(), [f"the graph could not be built ({type(exc).__name__}: {exc}); see the log"]


def display_name(node: str) -> str:
    kind, _, name = node.partition(":")
    if kind in ("bot", "channel"):
        return f"@{name}"
    if kind == "media":
        return f"media {name[:8]}"
    if kind == "account":
        return f"account {name}"
    return node


def graph_payload(graph: nx.MultiDiGraph, positions: dict[str, tuple[float, float]], communities: dict[str, int],
                  *, min_escalation: float = 0.0, community: int | None = None, kinds: list[str] | None = None,
                  since: str | None = None, until: str | None = None, max_nodes: int = default(Serve, "max_nodes"),
                  compact: bool = False, focus: str | None = None, hops: int = 1,
                  threshold: float = 0.6) -> dict[str, Any]:
    """Nodes and edges that pass the filters, biggest escalation first when over `max_nodes`. Pure.

    `compact` leaves out the dates (what the page does not draw): half the bytes of a big graph.
    `focus`: "escalated" keeps the subjects escalated at `threshold` or more and what lies within
    `hops` of them (the harmful network, not the whole world); a node id keeps its ego network of
    `hops` (edges followed either way).
    """
    allowed = None
    if focus:
        seeds = [n for n, a in graph.nodes(data=True) if float(a.get("escalation") or 0.0) >= threshold] \
            if focus == "escalated" else [focus] if focus in graph else []
        allowed = set(seeds)
        frontier = set(seeds)
        for _ in range(hops):
            frontier = {m for n in frontier for m in (*graph.successors(n), *graph.predecessors(n))} - allowed
            allowed |= frontier
    def in_time(first: str, last: str) -> bool:
        if not since and not until:
            return True
        if not first and not last:
            return False
        return (not since or (last or first) >= since) and (not until or (first or last)[:len(until)] <= until)

    kept = []
    for node, a in graph.nodes(data=True):
        if allowed is not None and node not in allowed:
            continue
        escalation = float(a.get("escalation") or 0.0)
        group = a.get("community", communities.get(node))
        if escalation < min_escalation or (kinds and a.get("kind") not in kinds):
            continue
        if community is not None and group != community:
            continue
        if not in_time(a.get("first_seen") or "", a.get("last_seen") or ""):
            continue
        kept.append((node, a, escalation, group))
    total = len(kept)
    truncated = total > max_nodes
    if truncated:
        degree = graph.degree
        kept.sort(key=lambda item: (-item[2], -degree(item[0]), item[0]))
        kept = kept[:max_nodes]
    ids = {node for node, *_ in kept}
    nodes = []
    for node, a, escalation, group in kept:
        x, y = positions.get(node, (0.0, 0.0))
        item = {"id": node, "kind": a.get("kind") or node.split(":", 1)[0], "label": a.get("label") or "",
                "name": display_name(node), "escalation": round(escalation, 4), "community": group,
                "x": round(x, 1), "y": round(y, 1)}
        if not compact:
            item |= {"first_seen": a.get("first_seen") or "", "last_seen": a.get("last_seen") or ""}
        nodes.append(item)
    edges = []
    for u, v, e in graph.edges(data=True):
        if u in ids and v in ids and in_time(e.get("first_seen") or "", e.get("last_seen") or ""):
            edge = {"source": u, "target": v, "kind": e.get("kind") or "", "count": int(e.get("count") or 1)}
            if not compact:
                edge |= {"first_seen": e.get("first_seen") or "", "last_seen": e.get("last_seen") or ""}
            edges.append(edge)
    edges_total = len(edges)
    if edges_total > MAX_EDGES:
        edges.sort(key=lambda e: -e["count"])
        edges = edges[:MAX_EDGES]
    return {"nodes": nodes, "edges": edges, "total_nodes": total, "total_edges": edges_total,
            "truncated": truncated or edges_total > len(edges),
            "communities": sorted(Counter(n["community"] for n in nodes if n["community"] is not None).items(),
                                  key=lambda item: -item[1])[:200]}


def edges_between(graph: nx.MultiDiGraph, a: str, b: str) -> list[dict[str, Any]]:
    """Every edge between two nodes, either way, with what is behind it (posts as t.me links). Pure."""
    out = []
    for u, v in ((a, b), (b, a)):
        for key, attrs in (graph.get_edge_data(u, v) or {}).items():
            posts = [p for p in attrs.get("posts") or [] if isinstance(p, str)]
            out.append({"source": u, "target": v, "kind": attrs.get("kind") or key, "count": int(attrs.get("count") or 1),
                        "first_seen": attrs.get("first_seen") or "", "last_seen": attrs.get("last_seen") or "",
                        "posts": [{"post": p, "url": f"https://t.me/{p}"} for p in posts]})
    return out


def shortest_path(graph: nx.MultiDiGraph, a: str, b: str) -> list[str] | None:
    """The node ids of a shortest path between two nodes, edges followed either way; None without one. Pure."""
    if a not in graph or b not in graph:
        return None
    try:
        return list(nx.shortest_path(graph.to_undirected(as_view=True), a, b))
    except nx.NetworkXNoPath:
        return None


def view_gexf(payload: dict[str, Any]) -> tuple[bytes, int]:
    """A graph view (graph_payload's answer) as GEXF bytes, and its node count."""
    import io

    view = nx.MultiDiGraph()
    for n in payload["nodes"]:
        view.add_node(n["id"], **{k: v for k, v in n.items() if k != "id" and v is not None})
    for e in payload["edges"]:
        view.add_edge(e["source"], e["target"], key=e["kind"], **{k: v for k, v in e.items()
                                                                  if k not in ("source", "target") and v is not None})
    out = io.BytesIO()
    nx.write_gexf(view, out)
    return out.getvalue(), view.number_of_nodes()


# -- escalation and automation ----------------------------------------------------------------------------

async def escalation_of(store: ExplorerReadModel, subject: str) -> dict[str, Any] | None:
    """The `escalations` row of a node (interface 3), reasons decoded; None if none."""
    row = await store.escalation_row(subject)
    if row is None:
        return None
    out = dict(row)
    out["reasons"] = _json_list(out.get("reasons"))
    return out


async def automation_of(store: ExplorerReadModel, subject: str) -> dict[str, Any] | None:
    """The automation score of a node (interface 4; detectors.automation.stage.list_automation), or None."""
    from detectors.automation.stage import list_automation

    rows = await list_automation(store, subject=subject)
    return rows[0] if rows else None


# -- a channel ---------------------------------------------------------------------------------------------

async def channel_detail(store: ExplorerReadModel, username: str, images: bool) -> dict[str, Any] | None:
    """Everything the channel page shows; None if the store has never seen the name."""
    username = username.lstrip("@").lower()
    row = await store.channel_row(username)
    posts = await store.channel_post_count(username)
    if row is None and not posts:
        return None
    profile = dict(row) if row else {"username": username}
    try:
        profile["counters"] = json.loads(profile.get("counters") or "{}")
    except ValueError:
        profile["counters"] = {}
    activity = [{"day": day, "posts": n} for day, n in await store.channel_activity(username)]
    forwards_out = [dict(r) for r in await store.channel_forwards_out(username, MAX_ROWS)]
    forwards_in = [dict(r) for r in await store.channel_forwards_in(username, MAX_ROWS)]
    links_out = [dict(r) for r in await store.channel_links_out(username, MAX_ROWS)]
    links_in = [dict(r) for r in await store.channel_links_in(username, MAX_ROWS)]
    promoted = []
    for r in await store.channel_promoted_bots(username):
        promoted.append({"bot": r["bot"], "posts": r["posts"], "how": sorted((r["how"] or "").split(",")),
                         "referral_codes": sorted(c for c in (r["codes"] or "").split(",") if c),
                         "first": r["first"], "last": r["last"], "label": r["label"] or "unknown",
                         "score": r["score"]})
    media = await _channel_media(store, username, images)
    return {"username": username, "node": f"channel:{username}", "profile": profile, "posts": posts,
            "activity": activity, "forwards_out": forwards_out, "forwards_in": forwards_in,
            "links_out": links_out, "links_in": links_in, "bots_promoted": promoted, "media": media,
            "escalation": await escalation_of(store, f"channel:{username}"),
            "automation": await automation_of(store, f"channel:{username}")}


async def _channel_media(store: ExplorerReadModel, username: str, images: bool) -> dict[str, Any]:
    total, rows = await store.channel_media_page(username, MAX_ROWS)
    matches = await _bank_matches(store, [r["sha256"] for r in rows])
    items = []
    for r in rows:
        item = {"post": f"{username}/{r['post_id']}", "url": f"https://t.me/{username}/{r['post_id']}",
                "date": r["date"], "kind": r["kind"], "sha256": r["sha256"], "md5": r["md5"], "pdq": r["pdq"],
                "phash": r["phash"], "mime": r["mime"], "cluster": r["cluster"],
                "cluster_files": r["cluster_files"], "cluster_appearances": r["cluster_appearances"],
                "cluster_channels": len(_json_list(r["cluster_channels"])),
                "origin": f"{r['origin_channel']}/{r['origin_post']}" if r["origin_channel"] else None,
                "bank_matches": matches.get(r["sha256"], [])}
        preview = r["sha256"] if (r["mime"] or "").startswith("image/") else r["thumb_sha256"]
        item["preview"] = f"/api/media/{preview}/image" if images and preview and r["kept"] else None
        items.append(item)
    return {"total": total, "items": items}


async def _bank_matches(store: ExplorerReadModel, shas: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in await store.bank_match_rows(shas):
        out[r["sha256"]].append({k: r[k] for k in ("bank", "label", "hash_type", "distance", "tier", "via")})
    return out


# -- a bot ---------------------------------------------------------------------------------------------------

POSTS_PAGE = 50  # posts per page on channel and bot pages


def _post(row: Any) -> dict[str, Any]:
    """One post as the pages show it, with its t.me link."""
    return {"channel": row["channel"], "id": row["id"], "url": f"https://t.me/{row['channel']}/{row['id']}",
            "date": row["date"], "text": row["text"], "views": row["views"], "edited": bool(row["edited"]),
            "forwarded_from": f"{row['forwarded_channel']}/{row['forwarded_post']}" if row["forwarded_channel"]
            else None, "forwards": row["forwards"], "bots": sorted(filter(None, (row["bots"] or "").split(",")))}


async def posts_page(store: ExplorerReadModel, kind: str, username: str, offset: int, limit: int = POSTS_PAGE,
                     sort: str = "date", descending: bool = True) -> dict[str, Any]:
    """A page of a channel's posts, or of the posts that reference a bot, newest first or by `sort`."""
    username = username.lstrip("@").lower()
    page = store.channel_posts_page if kind == "channel" else store.bot_posts_page
    total, rows = await page(username, offset, limit, sort, descending)
    return {"total": total, "offset": offset, "limit": limit, "sort": sort, "descending": descending,
            "posts": [_post(r) for r in rows]}


async def channels_page(store: ExplorerReadModel, sort: str = "escalation", descending: bool = True, offset: int = 0,
                        limit: int = POSTS_PAGE, watched: bool | None = None) -> dict[str, Any]:
    """A page of the channels, by escalation or another column, with their posts and subscribers."""
    total, rows = await store.channel_list_page(sort, descending, offset, limit, watched)
    return {"total": total, "offset": offset, "limit": limit, "sort": sort, "descending": descending,
            "channels": [dict(r) | {"watched": bool(r["watched"]), "node": f"channel:{r['username']}"} for r in rows]}


TIER_NAMES = ("near-certain", "match", "weak lead")
QUEUE_SORTS = ("score", "escalated", "pagerank")


async def queue(store: ExplorerReadModel, wanted: QueueFilter | None = None, sort: str = "score", offset: int = 0,
                limit: int = POSTS_PAGE) -> dict[str, Any]:
    """The analyst's queue: scored subjects, most escalated first, with their top reasons, since when, bank
    matches, the last review, and the links they open."""
    total, rows = await store.queue_page(wanted or QueueFilter(), sort, offset, limit)
    items = []
    for r in rows:
        name = r["subject"].split(":", 1)[1]
        items.append({
            "subject": r["subject"], "kind": r["kind"], "name": name, "score": r["score"],
            "reasons": _json_list(r["reasons"])[:3], "pagerank": r["pagerank"], "community": r["community"],
            "escalated_at": r["escalated_at"], "computed_at": r["computed_at"], "label": r["bot_label"],
            "bank_matches": (r["media_bank_matches"] if r["kind"] == "media" else r["channel_banked_files"]) or 0,
            "reviewed_at": r["reviewed_at"],
            "tme": f"https://t.me/{'s/' if r['kind'] == 'channel' else ''}{name}" if r["kind"] in ("channel", "bot") else None})
    return {"total": total, "offset": offset, "limit": limit, "items": items}


async def changes(store: ExplorerReadModel, since: datetime, who: str, limit: int = 10) -> dict[str, Any]:
    """What changed since the analyst's last visit: new escalations, alerts, bank matches, others' decisions
    and notes, channels discovered."""
    at = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")  # the store's form, compared as text
    found = await store.changes_since(at, who, limit)
    matched = found["bank_matches"]
    return {
        "since": at,
        "escalated_total": found["escalated_total"],
        "escalated": [{"subject": r["subject"], "kind": r["kind"], "score": r["score"], "at": r["escalated_at"]}
                      for r in found["escalated"]],
        "alerts": {r["severity"]: r["n"] for r in found["alerts"]},
        "bank_matches": {"files": matched["files"] if matched else 0,
                         "banks": sorted(filter(None, ((matched["banks"] if matched else None) or "").split(",")))},
        "others": [{"at": r["at"], "who": r["who"], "action": r["action"], "subject": r["subject"],
                    "detail": json.loads(r["detail"])} for r in found["others"]],
        "discovered": found["discovered"],
    }


async def known_content(store: ExplorerReadModel, bank: str | None, images: bool, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """Known content found: each (bank, label, repost cluster) with its best tier, who posted it and where it
    appeared first; a blurred preview of one of its files (none in hash-only mode)."""
    out = []
    for r in await store.known_content_rows(bank, limit):
        sample = r["sample_sha256"]
        out.append({
            "bank": r["bank"], "label": r["label"], "tier": TIER_NAMES[r["tier_rank"]], "distance": r["distance"],
            "cluster": r["cluster"], "node": f"media:{r['cluster']}" if r["cluster"] else None, "files": r["files"],
            "channels": _json_list(r["channels"]), "appearances": r["appearances"],
            "first": {"channel": r["origin_channel"], "post": r["origin_post"], "date": r["origin_date"],
                      "url": f"https://t.me/{r['origin_channel']}/{r['origin_post']}" if r["origin_channel"] else None},
            "sha256": sample, "preview": f"/api/media/{sample}/image" if images and r["sample_kept"] else None})
    return out


async def search(store: ExplorerReadModel, text: str, limit: int = 20) -> dict[str, Any]:
    """What matches `text`: channels and bots (name or title), repost clusters (bank, label or a hash
    prefix), posts (their text); each hit with the node or t.me link it opens."""
    found = await store.search(text.strip(), limit)
    clusters: dict[str, dict[str, Any]] = {}
    for r in found["clusters"]:
        hit = clusters.setdefault(r["cluster"], {"node": f"media:{r['cluster']}", "cluster": r["cluster"], "banks": []})
        if r["bank"]:
            hit["banks"].append(f"{r['bank']}: {r['label'] or ''}".rstrip(": "))
    return {
        "query": text,
        "channels": [{"node": f"channel:{r['username']}", "username": r["username"], "title": r["title"]}
                     for r in found["channels"]],
        "bots": [{"node": f"bot:{r['username']}", "username": r["username"], "title": r["title"], "label": r["label"]}
                 for r in found["bots"]],
        "clusters": [c | {"banks": sorted(set(c["banks"]))} for c in clusters.values()],
        "posts": [{"channel": r["channel"], "id": r["id"], "date": r["date"], "text": r["text"],
                   "url": f"https://t.me/{r['channel']}/{r['id']}"} for r in found["posts"]],
    }


async def bot_detail(store: ExplorerReadModel, username: str) -> dict[str, Any] | None:
    """Everything the bot page shows; None if the store has never seen the bot."""
    username = username.lstrip("@").lower()
    row = await store.bot_row(username)
    if row is None:
        return None
    bot = dict(row)
    try:
        profile = json.loads(bot.pop("profile") or "{}")
    except ValueError:
        profile = {}
    overrides = [dict(r) for r in await store.bot_override_rows(username)]
    mirrors = await store.bot_mirror_rows(username)
    promoters = []
    for r in await store.bot_promoter_rows(username, MAX_ROWS):
        ids = sorted(int(i) for i in (r["post_ids"] or "").split(",") if i)[-20:]
        promoters.append({"channel": r["channel"], "posts": r["posts"], "how": sorted((r["how"] or "").split(",")),
                          "referral_codes": sorted(c for c in (r["codes"] or "").split(",") if c),
                          "first": r["first"], "last": r["last"],
                          "post_urls": [f"https://t.me/{r['channel']}/{i}" for i in ids]})
    confirmed = bot["confirmed"]
    return {
        "username": username, "node": f"bot:{username}",
        "activity": [{"day": day, "posts": n} for day, n in await store.bot_activity(username)],
        "profile": {"title": bot["title"], "description": bot["description"],
                    "confirmed": None if confirmed is None else bool(confirmed),
                    "about": profile.get("about") or "", "commands": profile.get("commands") or [],
                    "first_seen": bot["first_seen"], "last_seen": bot["last_seen"],
                    "url": f"https://t.me/{username}"},
        "verdict": {"label": bot["label"] or "unknown", "auto_label": bot.get("auto_label"), "score": bot["score"],
                    "reasons": _json_list(bot["reasons"]), "scored_at": bot.get("scored_at"),
                    "override": overrides[0] if overrides else None},
        "overrides": overrides,
        "mirror_of": [{"bot": m["predecessor"], "kind": m["kind"], "evidence": m["evidence"],
                       "first_seen": m["first_seen"]} for m in mirrors if m["bot"] == username],
        "mirrored_by": [{"bot": m["bot"], "kind": m["kind"], "evidence": m["evidence"],
                         "first_seen": m["first_seen"]} for m in mirrors if m["predecessor"] == username],
        "promoted_by": promoters,
        "escalation": await escalation_of(store, f"bot:{username}"),
    }


BOT_SORTS = ("score", "username", "label", "channels", "posts")


async def list_bot_rows(store: ExplorerReadModel, sort: str = "score", descending: bool = True) -> list[dict[str, Any]]:
    """The bot list (detectors.bots.stage.list_bots: both verdicts, references, codes, mirrors), sorted.

    Sorted here rather than in SQL: a unit tracks hundreds to a few thousand bots, and each row joins
    decisions and mirrors that list_bots already assembles."""
    from detectors.bots.stage import list_bots

    rows = sorted(await list_bots(store), key=lambda r: r["username"])
    known = sorted((r for r in rows if r[sort] is not None), key=lambda r: r[sort], reverse=descending)  # stable
    return known + [r for r in rows if r[sort] is None]


# -- a media file --------------------------------------------------------------------------------------------

async def media_detail(store: ExplorerReadModel, sha256: str, images: bool) -> dict[str, Any] | None:
    """Hashes, cluster, bank matches and appearances of one file; never its bytes."""
    row = await store.media_detail_row(sha256.lower())
    if row is None:
        return None
    media = dict(row)
    kept = bool(media.pop("kept"))
    cluster = None
    if media["cluster"]:
        c = await store.cluster_row(media["cluster"])
        if c is not None:
            cluster = dict(c)
            cluster["channels"] = _json_list(cluster["channels"])
    appearances = [dict(r) | {"url": f"https://t.me/{r['channel']}/{r['post_id']}"} for r in await store.media_appearance_rows(media["sha256"], MAX_ROWS)]
    picture = (media["mime"] or "").startswith("image/")
    return media | {"cluster": cluster, "bank_matches": (await _bank_matches(store, [media["sha256"]])).get(
        media["sha256"], []), "appearances": appearances, "node": f"media:{media['cluster']}" if media["cluster"]
        else None, "preview": f"/api/media/{media['sha256']}/image" if images and kept and picture else None}


async def cluster_detail(store: ExplorerReadModel, cluster: str, images: bool) -> dict[str, Any] | None:
    """A repost cluster (a `media:<id>` node): its files and where they appeared."""
    row = await store.cluster_row(cluster)
    if row is None:
        return None
    out = dict(row)
    out["channels"] = _json_list(out["channels"])
    out["file_count"] = out.pop("files")  # how many; `files` below lists them (at most MAX_ROWS)
    files = await store.cluster_file_rows(cluster, MAX_ROWS)
    matches = await _bank_matches(store, [f["sha256"] for f in files])
    out["files"] = [{"sha256": f["sha256"], "mime": f["mime"], "bank_matches": matches.get(f["sha256"], []),
                     "preview": f"/api/media/{f['sha256']}/image" if images and f["kept"]
                     and (f["mime"] or "").startswith("image/") else None} for f in files]
    out["node"] = f"media:{cluster}"
    out["escalation"] = await escalation_of(store, f"media:{cluster}")
    return out


# -- alerts ----------------------------------------------------------------------------------------------------

async def alerts(store: ExplorerReadModel, state: str | None = None, offset: int = 0, limit: int = 100,
                 sort: str = "created", descending: bool = True) -> tuple[list[dict[str, Any]], list[str], int]:
    """A page of alerts with their delivery state (graph.alerts.delivery.list_alerts, interface 6), and the total."""
    from graph.alerts.delivery import list_alerts

    return await list_alerts(store, state, offset, limit, sort, descending), [], await store.alert_count(state)


async def retry(store: ExplorerReadModel, ids: list[str] | None) -> int:
    """Queue alerts for another delivery attempt (graph.alerts.delivery.retry_alerts)."""
    from graph.alerts.delivery import retry_alerts

    return await retry_alerts(store, ids)
