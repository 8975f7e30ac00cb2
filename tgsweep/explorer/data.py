"""What the explorer shows, read from the store: the graph, a channel, a bot, a media file, alerts.

Reads only, except `retry` (graph.alerts.delivery.retry_alerts); a bot's override is
detectors.bots.stage.set_override (app.py), the same decision as `tgsweep bots label`. The graph is
graph.build's; the explorer reads the tables itself only when that fails.
"""
from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from typing import Any

import networkx as nx

from store.sqlite import Store

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

async def load_graph(store: Store) -> tuple[nx.MultiDiGraph, list[str]]:
    """The graph from graph.build (interface 5, escalations included); the explorer's own reading of
    the tables (`graph_from_tables`) only when that fails, so the page still opens."""
    from graph.build import build_graph

    try:
        return await build_graph(store), []
    except Exception as exc:  # the explorer must still open; the page shows the note
        log.exception("graph.build.build_graph failed; using the explorer's reading of the tables")
        notes = [f"graph.build failed ({type(exc).__name__}: {exc}); the graph is read from the tables"]
    graph = await graph_from_tables(store)
    await _add_escalations(store, graph)
    return graph, notes


async def _add_escalations(store: Store, graph: nx.MultiDiGraph) -> None:
    """Escalation score and community from the `escalations` table (interface 3)."""
    for subject, score, community in await store.fetchall("SELECT subject, score, community FROM escalations"):
        if subject in graph:
            attrs = graph.nodes[subject]
            if not attrs.get("escalation"):
                attrs["escalation"] = float(score or 0.0)
            if community is not None:
                attrs["community"] = int(community)


async def graph_from_tables(store: Store) -> nx.MultiDiGraph:
    """Channels, bots and media clusters with their edges, aggregated per (source, target, kind)."""
    g = nx.MultiDiGraph()
    bots = {r[0]: r for r in await store.fetchall(
        "SELECT username, label, title FROM bots WHERE confirmed IS NOT 0")}

    def node_id(name: str) -> str:
        return f"bot:{name}" if name in bots else f"channel:{name}"

    def ensure(node: str, **attrs: Any) -> None:
        if node not in g:
            kind = node.split(":", 1)[0]
            g.add_node(node, kind=kind, label=attrs.pop("label", node.split(":", 1)[1]), escalation=0.0,
                       first_seen="", last_seen="", **attrs)

    for username, kind, title, watched in await store.fetchall(
            "SELECT username, kind, title, watched FROM channels"):
        if username not in bots:
            ensure(f"channel:{username}", label=title or username, title=title or "", channel_kind=kind or "",
                   watched=bool(watched))
    for username, label, title in bots.values():
        ensure(f"bot:{username}", label=label or "unknown", title=title or "")
    for channel, first, last in await store.fetchall(
            "SELECT channel, min(date), max(date) FROM posts GROUP BY channel"):
        ensure(node_id(channel))
        g.nodes[node_id(channel)].update(first_seen=first or "", last_seen=last or "")

    def add_edges(rows: Any, kind: str, target: Any) -> None:
        for source, to, count, first, last, posts in rows:
            if not source or not to:
                continue
            u, v = node_id(source), target(to)
            ensure(u)
            ensure(v)
            g.add_edge(u, v, key=kind, kind=kind, count=int(count), first_seen=first or "", last_seen=last or "",
                       posts=(posts or "").split(",")[:20] if posts else [])
            for node, when in ((v, first), (v, last)):
                _widen(g.nodes[node], when)

    add_edges(await store.fetchall(
        """SELECT channel, forwarded_channel, count(*), min(date), max(date), group_concat(channel || '/' || id)
           FROM posts WHERE forwarded_channel IS NOT NULL AND forwarded_channel != channel
           GROUP BY channel, forwarded_channel"""), "forwarded_from", node_id)
    add_edges(await store.fetchall(
        """SELECT r.channel, r.target, count(DISTINCT r.post_id), min(p.date), max(p.date),
                  group_concat(DISTINCT r.channel || '/' || r.post_id)
           FROM channel_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
           WHERE r.how IN ('link', 'mention') AND r.target != r.channel GROUP BY r.channel, r.target"""),
        "links_to", node_id)
    add_edges(await store.fetchall(
        """SELECT r.channel, r.bot, count(DISTINCT r.post_id), min(p.date), max(p.date),
                  group_concat(DISTINCT r.channel || '/' || r.post_id)
           FROM bot_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
           GROUP BY r.channel, r.bot"""), "promotes", lambda b: f"bot:{b}")
    add_edges(await store.fetchall(
        """SELECT i.channel, m.cluster, count(*), min(p.date), max(p.date),
                  group_concat(DISTINCT i.channel || '/' || i.post_id)
           FROM media_items i JOIN media m ON m.sha256 = i.sha256
           LEFT JOIN posts p ON p.channel = i.channel AND p.id = i.post_id
           WHERE m.cluster IS NOT NULL GROUP BY i.channel, m.cluster"""), "posted", lambda c: f"media:{c}")
    for bot, predecessor, count, first in await store.fetchall(
            "SELECT bot, predecessor, count(*), min(first_seen) FROM bot_mirrors GROUP BY bot, predecessor"):
        ensure(f"bot:{bot}")
        ensure(f"bot:{predecessor}")
        g.add_edge(f"bot:{bot}", f"bot:{predecessor}", key="mirror_of", kind="mirror_of", count=int(count),
                   first_seen=first or "", last_seen=first or "", posts=[])
    for cluster, files, appearances in await store.fetchall("SELECT id, files, appearances FROM media_clusters"):
        if f"media:{cluster}" in g:
            g.nodes[f"media:{cluster}"].update(label=f"{files} file(s), {appearances} post(s)", files=files)
    return g


def _widen(attrs: dict[str, Any], when: str | None) -> None:
    if not when:
        return
    if not attrs.get("first_seen") or when < attrs["first_seen"]:
        attrs["first_seen"] = when
    if not attrs.get("last_seen") or when > attrs["last_seen"]:
        attrs["last_seen"] = when


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
                  since: str | None = None, until: str | None = None, max_nodes: int = 20_000,
                  compact: bool = False) -> dict[str, Any]:
    """Nodes and edges that pass the filters, biggest escalation first when over `max_nodes`. Pure.

    `compact` leaves out the dates (what the page does not draw): half the bytes of a big graph.
    """
    def in_time(first: str, last: str) -> bool:
        if not since and not until:
            return True
        if not first and not last:
            return False
        return (not since or (last or first) >= since) and (not until or (first or last)[:len(until)] <= until)

    kept = []
    for node, a in graph.nodes(data=True):
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


# -- escalation and automation ----------------------------------------------------------------------------

async def escalation_of(store: Store, subject: str) -> dict[str, Any] | None:
    """The `escalations` row of a node (interface 3), reasons decoded; None if none."""
    row = await store.fetchone("SELECT * FROM escalations WHERE subject=?", (subject,))
    if row is None:
        return None
    out = dict(row)
    out["reasons"] = _json_list(out.get("reasons"))
    return out


async def automation_of(store: Store, subject: str) -> dict[str, Any] | None:
    """The automation score of a node (interface 4; detectors.automation.stage.list_automation), or None."""
    from detectors.automation.stage import list_automation

    rows = await list_automation(store, subject=subject)
    return rows[0] if rows else None


# -- a channel ---------------------------------------------------------------------------------------------

async def channel_detail(store: Store, username: str, images: bool) -> dict[str, Any] | None:
    """Everything the channel page shows; None if the store has never seen the name."""
    username = username.lstrip("@").lower()
    row = await store.fetchone("SELECT * FROM channels WHERE username=?", (username,))
    posts = (await store.fetchone("SELECT count(*) FROM posts WHERE channel=?", (username,)))[0]
    if row is None and not posts:
        return None
    profile = dict(row) if row else {"username": username}
    try:
        profile["counters"] = json.loads(profile.get("counters") or "{}")
    except ValueError:
        profile["counters"] = {}
    activity = [{"day": day, "posts": n} for day, n in await store.fetchall(
        """SELECT substr(date, 1, 10) AS day, count(*) FROM posts WHERE channel=? AND date IS NOT NULL
           GROUP BY day ORDER BY day""", (username,))]
    forwards_out = [dict(r) for r in await store.fetchall(
        """SELECT forwarded_channel AS channel, count(*) AS posts, min(date) AS first, max(date) AS last
           FROM posts WHERE channel=? AND forwarded_channel IS NOT NULL GROUP BY forwarded_channel
           ORDER BY posts DESC, channel LIMIT ?""", (username, MAX_ROWS))]
    forwards_in = [dict(r) for r in await store.fetchall(
        """SELECT channel, count(*) AS posts, min(date) AS first, max(date) AS last FROM posts
           WHERE forwarded_channel=? AND channel != ? GROUP BY channel ORDER BY posts DESC, channel LIMIT ?""",
        (username, username, MAX_ROWS))]
    links_out = [dict(r) for r in await store.fetchall(
        """SELECT target AS channel, how, count(*) AS posts FROM channel_refs WHERE channel=? AND how != 'forward'
           GROUP BY target, how ORDER BY posts DESC LIMIT ?""", (username, MAX_ROWS))]
    links_in = [dict(r) for r in await store.fetchall(
        """SELECT channel, how, count(*) AS posts FROM channel_refs WHERE target=? AND how != 'forward'
           AND channel != ? GROUP BY channel, how ORDER BY posts DESC LIMIT ?""", (username, username, MAX_ROWS))]
    promoted = []
    for r in await store.fetchall(
            """SELECT r.bot, count(DISTINCT r.post_id) AS posts, group_concat(DISTINCT r.how) AS how,
                      group_concat(DISTINCT nullif(r.param, '')) AS codes, min(p.date) AS first, max(p.date) AS last,
                      b.label, b.score FROM bot_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
               LEFT JOIN bots b ON b.username = r.bot WHERE r.channel=? GROUP BY r.bot ORDER BY posts DESC, r.bot""",
            (username,)):
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


async def _channel_media(store: Store, username: str, images: bool) -> dict[str, Any]:
    total = (await store.fetchone("SELECT count(*) FROM media_items WHERE channel=? AND sha256 IS NOT NULL",
                                  (username,)))[0]
    rows = await store.fetchall(
        """SELECT i.post_id, i.position, i.kind, i.sha256, i.thumb_sha256, m.mime, m.md5, m.pdq, m.phash, m.cluster,
                  m.path IS NOT NULL AS kept, c.files AS cluster_files, c.appearances AS cluster_appearances,
                  c.channels AS cluster_channels, c.origin_channel, c.origin_post, p.date
           FROM media_items i JOIN media m ON m.sha256 = i.sha256
           LEFT JOIN media_clusters c ON c.id = m.cluster
           LEFT JOIN posts p ON p.channel = i.channel AND p.id = i.post_id
           WHERE i.channel=? ORDER BY (SELECT count(*) FROM bank_matches b WHERE b.sha256 = i.sha256) DESC,
                 coalesce(c.appearances, 0) DESC, i.post_id DESC, i.position LIMIT ?""", (username, MAX_ROWS))
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


async def _bank_matches(store: Store, shas: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(shas), 400):
        chunk = shas[start:start + 400]
        marks = ",".join("?" * len(chunk))
        for r in await store.fetchall(
                f"""SELECT sha256, bank, label, hash_type, distance, tier, via FROM bank_matches
                    WHERE sha256 IN ({marks}) ORDER BY distance, bank""", chunk):
            out[r["sha256"]].append({k: r[k] for k in ("bank", "label", "hash_type", "distance", "tier", "via")})
    return out


# -- a bot ---------------------------------------------------------------------------------------------------

async def bot_detail(store: Store, username: str) -> dict[str, Any] | None:
    """Everything the bot page shows; None if the store has never seen the bot."""
    username = username.lstrip("@").lower()
    row = await store.fetchone("SELECT * FROM bots WHERE username=?", (username,))
    if row is None:
        return None
    bot = dict(row)
    try:
        profile = json.loads(bot.pop("profile") or "{}")
    except ValueError:
        profile = {}
    overrides = [dict(r) for r in await store.fetchall(
        "SELECT label, note, decided_by AS by, decided_at AS at FROM bot_overrides WHERE username=? ORDER BY id DESC",
        (username,))]
    mirrors = await store.fetchall(
        "SELECT bot, predecessor, kind, evidence, first_seen FROM bot_mirrors WHERE bot=? OR predecessor=? "
        "ORDER BY first_seen, bot", (username, username))
    promoters = []
    for r in await store.fetchall(
            """SELECT r.channel, count(DISTINCT r.post_id) AS posts, group_concat(DISTINCT r.how) AS how,
                      group_concat(DISTINCT nullif(r.param, '')) AS codes, min(p.date) AS first, max(p.date) AS last,
                      group_concat(DISTINCT r.post_id) AS post_ids
               FROM bot_refs r LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
               WHERE r.bot=? GROUP BY r.channel ORDER BY posts DESC, r.channel LIMIT ?""", (username, MAX_ROWS)):
        ids = sorted(int(i) for i in (r["post_ids"] or "").split(",") if i)[-20:]
        promoters.append({"channel": r["channel"], "posts": r["posts"], "how": sorted((r["how"] or "").split(",")),
                          "referral_codes": sorted(c for c in (r["codes"] or "").split(",") if c),
                          "first": r["first"], "last": r["last"],
                          "post_urls": [f"https://t.me/{r['channel']}/{i}" for i in ids]})
    confirmed = bot["confirmed"]
    return {
        "username": username, "node": f"bot:{username}",
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


async def list_bot_rows(store: Store) -> list[dict[str, Any]]:
    """The bot list (detectors.bots.stage.list_bots: both verdicts, references, codes, mirrors)."""
    from detectors.bots.stage import list_bots

    return await list_bots(store)


# -- a media file --------------------------------------------------------------------------------------------

async def media_detail(store: Store, sha256: str, images: bool) -> dict[str, Any] | None:
    """Hashes, cluster, bank matches and appearances of one file; never its bytes."""
    row = await store.fetchone(
        """SELECT sha256, md5, size, mime, width, height, pdq, pdq_quality, phash, cluster, fingerprint_error,
                  first_seen, path IS NOT NULL AS kept FROM media WHERE sha256=?""", (sha256.lower(),))
    if row is None:
        return None
    media = dict(row)
    kept = bool(media.pop("kept"))
    cluster = None
    if media["cluster"]:
        c = await store.fetchone("SELECT * FROM media_clusters WHERE id=?", (media["cluster"],))
        if c is not None:
            cluster = dict(c)
            cluster["channels"] = _json_list(cluster["channels"])
    appearances = [dict(r) | {"url": f"https://t.me/{r['channel']}/{r['post_id']}"} for r in await store.fetchall(
        """SELECT channel, post_id, kind FROM media_items WHERE sha256=? OR thumb_sha256=?
           ORDER BY channel, post_id LIMIT ?""", (media["sha256"], media["sha256"], MAX_ROWS))]
    picture = (media["mime"] or "").startswith("image/")
    return media | {"cluster": cluster, "bank_matches": (await _bank_matches(store, [media["sha256"]])).get(
        media["sha256"], []), "appearances": appearances, "node": f"media:{media['cluster']}" if media["cluster"]
        else None, "preview": f"/api/media/{media['sha256']}/image" if images and kept and picture else None}


async def cluster_detail(store: Store, cluster: str, images: bool) -> dict[str, Any] | None:
    """A repost cluster (a `media:<id>` node): its files and where they appeared."""
    row = await store.fetchone("SELECT * FROM media_clusters WHERE id=?", (cluster,))
    if row is None:
        return None
    out = dict(row)
    out["channels"] = _json_list(out["channels"])
    files = await store.fetchall("SELECT sha256, mime, path IS NOT NULL AS kept FROM media WHERE cluster=? LIMIT ?",
                                 (cluster, MAX_ROWS))
    matches = await _bank_matches(store, [f["sha256"] for f in files])
    out["files"] = [{"sha256": f["sha256"], "mime": f["mime"], "bank_matches": matches.get(f["sha256"], []),
                     "preview": f"/api/media/{f['sha256']}/image" if images and f["kept"]
                     and (f["mime"] or "").startswith("image/") else None} for f in files]
    out["node"] = f"media:{cluster}"
    out["escalation"] = await escalation_of(store, f"media:{cluster}")
    return out


# -- alerts ----------------------------------------------------------------------------------------------------

async def alerts(store: Store) -> tuple[list[dict[str, Any]], list[str]]:
    """Alerts with their delivery state (graph.alerts.delivery.list_alerts, interface 6)."""
    from graph.alerts.delivery import list_alerts

    return await list_alerts(store), []


async def retry(store: Store, ids: list[str] | None) -> int:
    """Queue alerts for another delivery attempt (graph.alerts.delivery.retry_alerts)."""
    from graph.alerts.delivery import retry_alerts

    return await retry_alerts(store, ids)
