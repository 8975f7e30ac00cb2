"""The graph of channels, bots, media clusters and accounts, built from the store.

Why two layers: the core (`fold_*`, `add_*`, `set_*`) is pure, a function from row tuples to
a `networkx.MultiDiGraph`, testable without a database; `build_graph` is the I/O edge that
reads the rows. Edges are aggregated: one edge per (source, target, kind), keyed by kind, with
`count` (posts behind it), `first_seen`/`last_seen` (post dates) and `posts` ("channel/id",
the first `max_posts`).

Incremental: the edges that come from append-only tables (channel_refs, bot_refs, hidden
forwards and signatures in posts) are kept in a snapshot file beside the database with the
rowid each table was read to; the next build loads it and folds in only newer rows. What is
rewritten wholesale by other stages (repost clusters, bot labels, mirrors, channel titles,
escalations) is small and re-read every time. A snapshot that does not match the database
(another database at the same path, rows deleted) is ignored and the graph rebuilt.
"""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import pickle
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import networkx as nx

from store.alerts import post_refs
from store.graph import GraphSource
from store.refs import PROMOTION_KINDS
from tgsweep.config import GraphSettings, default

log = logging.getLogger(__name__)

EDGE_KINDS = ("forwarded_from", "promotes", "posted", "links_to", "mirror_of", "authored_by")
MAX_POSTS = default(GraphSettings, "max_edge_posts")
SNAPSHOT_VERSION = 1
SNAPSHOT_REWRITE = 0.05  # rewrite the snapshot once the rows added since exceed 5% of it


def channel_id(username: str) -> str:
    return f"channel:{username}"


def bot_id(username: str) -> str:
    return f"bot:{username}"


def media_id(cluster: str) -> str:
    return f"media:{cluster}"


def account_id(name: str) -> str:
    return f"account:{name}"


# -- the pure core: rows -> graph -------------------------------------------------------------------

class GraphEdges:
    """A graph's edges seen as an edge table: rows fold straight into the graph (new or a loaded snapshot).

    It reads and fills NetworkX's adjacency dicts (`_node`, `_succ`, `_pred`, the layout of every
    NetworkX 2.x/3.x MultiDiGraph) directly: `add_edge` per edge costs several seconds at a
    million edges. The attribute dict handed in is the one stored. tests/graph/test_build.py
    checks the result equals a graph built with `add_edges_from`.
    """

    def __init__(self, graph: nx.MultiDiGraph):
        self.graph = graph
        self._node, self._succ, self._pred = graph._node, graph._succ, graph._pred

    def get(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        nbrs = self._succ.get(key[0])
        if nbrs is None:
            return None
        keys = nbrs.get(key[1])
        return None if keys is None else keys.get(key[2])

    def __setitem__(self, key: tuple[str, str, str], attrs: dict[str, Any]) -> None:
        u, v, k = key
        nodes, succ, pred = self._node, self._succ, self._pred
        if u not in nodes:
            nodes[u], succ[u], pred[u] = {}, {}, {}
        if v not in nodes:
            nodes[v], succ[v], pred[v] = {}, {}, {}
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = pred[v][u] = {}
        keys[k] = attrs

    def done(self) -> nx.MultiDiGraph:
        if hasattr(nx, "_clear_cache"):  # NetworkX 3.3+ caches converted graphs for its backends
            nx._clear_cache(self.graph)
        return self.graph


# An edge table: (source, target, kind) -> attributes. Folding into a plain dict and adding the
# edges at the end is several times faster than growing a networkx graph row by row.
EdgeTable = dict


def _edge(edges: Any, src: str, dst: str, kind: str) -> dict[str, Any]:
    """The attribute dict of the (src, dst, kind) edge, created empty if new."""
    key = (src, dst, kind)
    attrs = edges.get(key)
    if attrs is None:
        edges[key] = {"kind": kind, "count": 0, "first_seen": "", "last_seen": "", "posts": []}
        attrs = edges.get(key)
    return attrs


def to_graph(edges: EdgeTable, graph: nx.MultiDiGraph | None = None) -> nx.MultiDiGraph:
    """The edge table as (or added to) a MultiDiGraph, edges keyed by kind; the attribute dicts are shared."""
    target = GraphEdges(graph if graph is not None else nx.MultiDiGraph())
    for key, attrs in edges.items():
        existing = target.get(key)
        if existing is None:
            target[key] = attrs
        else:
            existing.update(attrs)
    return target.done()


def _seen(attrs: dict[str, Any], date: str | None, channel: str, post_id: Any, max_posts: int) -> None:
    attrs["count"] += 1
    if date:
        first = attrs["first_seen"]
        if not first or date < first:
            attrs["first_seen"] = date
        if date > attrs["last_seen"]:
            attrs["last_seen"] = date
    posts = attrs["posts"]
    if len(posts) < max_posts and channel:
        posts.append(f"{channel}/{post_id}")


def fold_channel_refs(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """channel_refs rows (channel, post_id, target, how, date): forwards and links/mentions between channels."""
    n = 0
    get = edges.get
    for channel, post_id, target, how, date in rows:  # the hot loop of a build: _edge and _seen inlined
        kind = "forwarded_from" if how == "forward" else "links_to"
        key = ("channel:" + channel, "channel:" + target, kind)
        attrs = get(key)
        if attrs is None:
            edges[key] = {"kind": kind, "count": 0, "first_seen": "", "last_seen": "", "posts": []}
            attrs = get(key)
        attrs["count"] += 1
        if date:
            first = attrs["first_seen"]
            if not first or date < first:
                attrs["first_seen"] = date
            if date > attrs["last_seen"]:
                attrs["last_seen"] = date
        posts = attrs["posts"]
        if len(posts) < max_posts:
            posts.append(f"{channel}/{post_id}")
        if kind == "links_to":
            hows = attrs.setdefault("how", {})
            hows[how] = hows.get(how, 0) + 1
        n += 1
    return n


_PROMOTING = frozenset(PROMOTION_KINDS)


def fold_bot_refs(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """bot_refs rows (channel, post_id, bot, how, param, date), grouped by post: `promotes` edges.

    `count` is posts, not rows (a post with a deep link and a button is one post). `how` counts
    posts per kind of reference, so promotion (deep link, button, via) and a mere mention stay
    apart; `promotion_posts` counts posts with at least one promotion; `params` the start codes.
    Rows of one post come together (they are inserted together, and read in rowid order).
    """
    n = 0
    current: tuple[str, int] | None = None
    per_bot: dict[str, list] = {}

    def flush() -> None:
        channel, post_id = current
        for bot, (hows, params, date) in per_bot.items():
            attrs = _edge(edges, "channel:" + channel, "bot:" + bot, "promotes")
            _seen(attrs, date, channel, post_id, max_posts)
            counts = attrs.setdefault("how", {})
            for how in hows:
                counts[how] = counts.get(how, 0) + 1
            attrs["promotion_posts"] = attrs.get("promotion_posts", 0) + (not _PROMOTING.isdisjoint(hows))
            codes = attrs.setdefault("params", [])
            for p in params:
                if p not in codes and len(codes) < max_posts:
                    codes.append(p)
        per_bot.clear()

    for channel, post_id, bot, how, param, date in rows:
        if current is None or post_id != current[1] or channel != current[0]:
            if current is not None:
                flush()
            current = (channel, post_id)
        entry = per_bot.get(bot)
        if entry is None:
            entry = per_bot[bot] = [set(), [], date]
        entry[0].add(how)
        if param:
            entry[1].append(param)
        n += 1
    if current is not None:
        flush()
    return n


def fold_hidden_forwards(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """posts rows (channel, id, forwarded_name, date) of forwards from a hidden account: `forwarded_from` an account."""
    n = 0
    for channel, post_id, name, date in rows:
        attrs = _edge(edges, channel_id(channel), account_id(name), "forwarded_from")
        _seen(attrs, date, channel, post_id, max_posts)
        n += 1
    return n


def fold_signatures(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """posts rows (channel, id, author, date): `authored_by` the signing account, scoped to the channel.

    A signature is a display name chosen per channel ("Admin"), so it is `account:<channel>/<name>`:
    two channels' "Admin" are not the same person as far as the store can tell.
    """
    n = 0
    for channel, post_id, author, date in rows:
        attrs = _edge(edges, channel_id(channel), account_id(f"{channel}/{author}"), "authored_by")
        _seen(attrs, date, channel, post_id, max_posts)
        n += 1
    return n


def add_posted(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """(channel, post_id, cluster, date) appearances of a media cluster: `posted` edges (one per post)."""
    seen: set[tuple[str, int, str]] = set()
    for channel, post_id, cluster, date in rows:
        if (channel, post_id, cluster) in seen:  # an album or a thumbnail showing the same picture twice
            continue
        seen.add((channel, post_id, cluster))
        _seen(_edge(edges, channel_id(channel), media_id(cluster), "posted"), date, channel, post_id, max_posts)
    return len(seen)


def add_mirrors(edges: Any, rows: Iterable[tuple], max_posts: int = MAX_POSTS) -> int:
    """bot_mirrors rows (bot, predecessor, kind, evidence, first_seen): `mirror_of` new -> old."""
    n = 0
    for bot, predecessor, kind, evidence, first_seen in rows:
        attrs = _edge(edges, bot_id(bot), bot_id(predecessor), "mirror_of")
        attrs["count"] += 1
        if first_seen:
            if not attrs["first_seen"] or first_seen < attrs["first_seen"]:
                attrs["first_seen"] = first_seen
            attrs["last_seen"] = max(attrs["last_seen"], first_seen)
        for channel, post in post_refs(evidence):
            ref = f"{channel}/{post}"
            if ref not in attrs["posts"] and len(attrs["posts"]) < max_posts:
                attrs["posts"].append(ref)
        attrs.setdefault("evidence", [])
        if len(attrs["evidence"]) < max_posts:
            attrs["evidence"].append(evidence)
        attrs.setdefault("mirror_kinds", [])
        if kind not in attrs["mirror_kinds"]:
            attrs["mirror_kinds"].append(kind)
        n += 1
    return n


def set_channel_nodes(graph: nx.MultiDiGraph, rows: Iterable[tuple], bots: set[str]) -> None:
    """channels rows (username, kind, title, watched, first_seen, last_seen); bots are not channels."""
    for username, entity, title, watched, first_seen, last_seen in rows:
        if username in bots:
            continue
        node = channel_id(username)
        if node not in graph and not watched:
            continue  # a name seen only as a bot candidate or never referenced: not part of the graph
        graph.add_node(node, kind="channel", label=title or username, username=username,
                       entity=entity or "unknown", watched=bool(watched),
                       first_seen=first_seen or "", last_seen=last_seen or "")


def set_bot_nodes(graph: nx.MultiDiGraph, rows: Iterable[tuple]) -> None:
    """bots rows (username, confirmed, title, label, score, reasons, first_seen, last_seen)."""
    for username, confirmed, title, label, score, reasons, first_seen, last_seen in rows:
        node = bot_id(username)
        if node not in graph:
            continue  # never referenced by a post: nothing links to it
        graph.add_node(node, kind="bot", label=label or "unknown", username=username, title=title or "",
                       confirmed={1: "bot", 0: "not a bot"}.get(confirmed, "unknown"),
                       bot_score=float(score) if score is not None else 0.0,
                       bot_reasons=json.loads(reasons) if reasons else [],
                       first_seen=first_seen or "", last_seen=last_seen or "")


def set_media_nodes(graph: nx.MultiDiGraph, clusters: Iterable[tuple], matches: dict[str, list[str]]) -> None:
    """media_clusters rows (id, origin_channel, origin_post, origin_date, files, appearances, channels,
    updated_at); `matches` maps a cluster to its bank matches ("bank/tier")."""
    for cid, origin_channel, origin_post, origin_date, files, appearances, channels, _updated_at in clusters:
        node = media_id(cid)
        if node not in graph:
            continue
        dates = [graph.edges[e]["last_seen"] for e in graph.in_edges(node, keys=True)]
        graph.add_node(node, kind="media", label=cid, cluster=cid,
                       origin=f"{origin_channel}/{origin_post}" if origin_channel else "",
                       origin_channel=origin_channel or "", files=files, appearances=appearances,
                       channels=len(json.loads(channels or "[]")), bank_matches=matches.get(cid, []),
                       first_seen=origin_date or "", last_seen=max([d for d in dates if d] or [origin_date or ""]))


def set_account_nodes(graph: nx.MultiDiGraph) -> None:
    """Accounts carry what their edges tell: first and last post seen."""
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") == "account":
            dates = [graph.edges[e] for e in graph.in_edges(node, keys=True)]
            attrs.setdefault("label", node.split(":", 1)[1])
            attrs["first_seen"] = min((d["first_seen"] for d in dates if d["first_seen"]), default="")
            attrs["last_seen"] = max((d["last_seen"] for d in dates), default="")


def set_escalations(graph: nx.MultiDiGraph, rows: Iterable[tuple]) -> None:
    """escalations rows (subject, score, pagerank, community, reasons); the others get 0.0 in finish_nodes."""
    for subject, score, pagerank, community, reasons in rows:
        if subject in graph:
            graph.nodes[subject].update(escalation=float(score), pagerank=float(pagerank or 0.0),
                                        community=-1 if community is None else int(community),
                                        escalation_reasons=json.loads(reasons) if reasons else [])


def finish_nodes(graph: nx.MultiDiGraph) -> None:
    """Every node has the contract's attributes, whatever its rows were."""
    for node, attrs in graph.nodes(data=True):
        attrs.setdefault("kind", node.split(":", 1)[0])
        attrs.setdefault("label", node.split(":", 1)[1])
        attrs.setdefault("escalation", 0.0)
        attrs.setdefault("first_seen", "")
        attrs.setdefault("last_seen", "")


# -- the I/O edge: the store -> rows -> graph --------------------------------------------------------

# The append-only sources (store/graph.py) and the fold that reads each.
_FOLDS = {"channel_refs": fold_channel_refs, "bot_refs": fold_bot_refs, "hidden_forwards": fold_hidden_forwards,
          "signatures": fold_signatures}


def snapshot_path(database: Path) -> Path:
    """Where the incremental snapshot lives: beside the database."""
    return Path(str(database) + ".graph.pickle")


def _load_snapshot(path: Path) -> dict[str, Any] | None:
    """The snapshot, if it is ours. Unpickling runs code named in the file: only a file this user owns
    and nobody else can write is loaded (anything else costs a rebuild, never someone else's code)."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                log.warning("graph snapshot %s not owned by this user or writable by others: ignored", path)
                return None
            snap = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged snapshot only costs a rebuild
        log.warning("graph snapshot %s unreadable (%r); rebuilding", path, exc)
        return None
    if not isinstance(snap, dict) or snap.get("version") != SNAPSHOT_VERSION:
        return None
    return snap


def _save_snapshot(path: Path, snap: dict[str, Any]) -> bool:
    """Write the snapshot atomically (temp file, then rename); a failure (read-only folder, full disk)
    only means the next build starts from zero, so it is logged, not raised."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink(missing_ok=True)  # created afresh with owner-only permissions (see _load_snapshot)
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            pickle.dump(snap, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.warning("graph snapshot %s not written (%s); the next build starts from zero", path, exc)
        tmp.unlink(missing_ok=True)
        return False


def _read_append_only(store: GraphSource, incremental: bool, snapshot: Path, max_posts: int,
                      stats: dict[str, Any]) -> nx.MultiDiGraph:
    """The append-only part of the graph (runs in a worker thread, on its own read connection).

    Watermarks: per source the highest rowid read and how many rows lay at or below it; a
    snapshot whose row counts no longer match (rows deleted, another database) is not used.
    """
    with store.append_only_read() as read:
        names = read.sources()
        graph, since, snapshot_rows = None, {name: 0 for name in names}, 0
        if incremental:
            snap = _load_snapshot(snapshot)
            if (snap and snap.get("max_posts") == max_posts and set(snap["marks"]) == set(names)
                    and all(mark <= read.top(n) and read.count_upto(n, mark) == rows
                            for n, (mark, rows) in snap["marks"].items())):
                graph = snap["graph"]
                since = {n: mark for n, (mark, _) in snap["marks"].items()}
                snapshot_rows = sum(rows for _, rows in snap["marks"].values())
        stats["snapshot_used"] = graph is not None
        edges = GraphEdges(graph if graph is not None else nx.MultiDiGraph())
        folded = 0
        for name in names:
            folded += _FOLDS[name](edges, read.rows(name, since[name]), max_posts)
        stats["rows_folded"] = folded
        graph = edges.done()
        # Writing the snapshot costs about what loading it does: only when the rows folded on top of
        # it are more than SNAPSHOT_REWRITE of it (until then each build folds them again, cheaply).
        stats["snapshot_written"] = incremental and (not stats["snapshot_used"]
                                                     or folded > SNAPSHOT_REWRITE * max(1, snapshot_rows))
        if stats["snapshot_written"]:
            marks = {n: (read.top(n), read.count_upto(n, read.top(n))) for n in names}
            snap = {"version": SNAPSHOT_VERSION, "max_posts": max_posts, "marks": marks, "graph": graph}
            stats["snapshot_written"] = _save_snapshot(snapshot, snap)
        return graph


async def build_graph(store: GraphSource, max_posts: int = MAX_POSTS, incremental: bool = False,
                      snapshot: Path | None = None, stats: dict[str, Any] | None = None) -> nx.MultiDiGraph:
    """The graph of everything the store holds now (interface 5).

    With `incremental`, the append-only part is read from `snapshot` (default: beside the
    database) and only rows added since are folded in; the snapshot is then updated. `stats`,
    if given, receives what was done (rows folded, whether the snapshot was used).
    """
    stats = stats if stats is not None else {}
    database = Path(store.path)  # the snapshot lives beside the database
    with no_gc():
        graph = await asyncio.to_thread(_read_append_only, store, incremental,
                                        snapshot or snapshot_path(database), max_posts, stats)
        # What other stages rewrite wholesale: re-read every time, on top of the append-only part.
        await _add_volatile(store, graph, max_posts)
    return graph


@contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of dicts and lists are made (half the build time
    went to collections that found nothing to free); restored after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


async def _add_volatile(store: GraphSource, graph: nx.MultiDiGraph, max_posts: int) -> None:
    """What other stages rewrite wholesale: re-read every time, on top of the append-only part."""
    rows = await store.graph_volatile_rows()
    matches: dict[str, list[str]] = defaultdict(list)
    for cluster, bank, tier in rows["bank_matches"]:
        matches[cluster].append(f"{bank}/{tier}")
    volatile: EdgeTable = {}
    # Media nodes: pictures seen more than once, or matching a bank; a picture one channel posted once links nothing.
    add_posted(volatile, rows["posted"], max_posts)
    add_mirrors(volatile, rows["mirrors"], max_posts)
    to_graph(volatile, graph)
    set_bot_nodes(graph, rows["bots"])
    bots = {r[0] for r in rows["bots"] if r[1] != 0}
    set_channel_nodes(graph, rows["channels"], bots)
    set_media_nodes(graph, rows["clusters"], matches)
    set_account_nodes(graph)
    set_escalations(graph, rows["escalations"])
    finish_nodes(graph)
