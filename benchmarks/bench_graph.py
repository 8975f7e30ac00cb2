"""The graph at a million edges: build from the store, analysis, incremental update, memory.

Synthetic rows go straight into a fresh store with SQLite inserts (no crawling): channels
forwarding and mentioning each other, channels promoting bots with start codes, reposted
media clusters, signatures, bot mirrors. Then, each timed:

| step | what | requirement / baseline |
|---|---|---|
| `full build` | `graph.build.build_graph(store)`: every row read and folded, volatile parts added | < 30 s |
| `incremental` | the same after 1% new rows, from the snapshot | baseline: full build of the same store |
| `incremental, N posts per edge` | the same on a store of as many rows, each edge seen in N posts | baseline: full build |
| `pagerank + communities (igraph)` | `graph.analysis.pagerank` + `communities` (Leiden, igraph C core) | < 60 s |
| `igraph louvain` (baseline) | `community_multilevel` on the same weighted graph, in a forked child | |
| `networkx louvain` (baseline) | `nx.community.louvain_communities` on the same weighted graph, same child, with a time limit | |
| `networkx pagerank` (baseline) | `nx.pagerank` (SciPy) on the same simple graph | |
| `cascades, hubs, bridges, escalation` | the rest of `graph build` | |

Peak RSS is the process's VmHWM after each step (the baselines run in a child, their own
peak is reported separately). Exit status: 0 PASS, 1 FAIL.

    python benchmarks/bench_graph.py                    # 1,000,000 edges
    python benchmarks/bench_graph.py --edges 100000     # quick look
    python benchmarks/bench_graph.py --nx-timeout 0     # skip the NetworkX baselines
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import networkx as nx  # noqa: E402

from store.sqlite import Store  # noqa: E402
from graph.analysis import bridges, communities, distribution_hubs, pagerank, repost_cascades, to_igraph  # noqa: E402
from graph.analysis import Analysis  # noqa: E402
from graph.build import build_graph  # noqa: E402
from graph.escalation import score_subjects  # noqa: E402


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def fill(path: Path, edges: int, seed: int = 42, start_post: int = 1, repeat: int = 1) -> dict[str, int]:
    """Synthetic rows for about `edges` distinct graph edges: 65% channel refs, 29% bot refs, 6% media;
    each channel or bot reference made by `repeat` posts (the same edge seen again)."""
    rng = random.Random(seed + start_post)
    channels = max(1000, edges // 10)
    bots = max(200, edges // 50)
    clusters = max(100, edges // 40)
    n_channel_refs, n_bot_refs, n_media = int(edges * 0.66), int(edges * 0.30), int(edges * 0.06)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    posts, crefs, brefs, items = [], [], [], []
    post_id = start_post
    t = "2026-01-01T00:00:00+00:00"

    def new_post(channel: str) -> int:
        nonlocal post_id
        post_id += 1
        day = 1 + post_id % 28
        author = f"admin{post_id % 3}" if post_id % 10 == 0 else None
        posts.append((channel, post_id, f"2026-01-{day:02d}T{post_id % 24:02d}:00:00+00:00", "", "web", "{}", t, t,
                      author))
        return post_id

    for _ in range(n_channel_refs):
        a, b = rng.randrange(channels), rng.randrange(channels)
        if a == b:
            continue
        src = f"chan{a:07d}"
        how = "forward" if rng.random() < 0.5 else rng.choice(["link", "mention"])
        for _ in range(repeat):
            crefs.append((src, new_post(src), f"chan{b:07d}", how, rng.randrange(1, 500) if how == "forward" else None))
    for _ in range(n_bot_refs):
        src = f"chan{rng.randrange(channels):07d}"
        bot = f"tool{rng.randrange(bots):06d}_bot"
        for _ in range(repeat):
            how = rng.choice(["deep_link", "button", "mention", "via"])
            brefs.append((src, new_post(src), bot, how,
                          f"ref{rng.randrange(100)}" if how in ("deep_link", "button") else ""))
    for _ in range(n_media):
        src = f"chan{rng.randrange(channels):07d}"
        pid = new_post(src)
        items.append((src, pid, 0, None, "photo", None, None, None, "stored", f"{rng.randrange(clusters):064x}", None,
                      None, t))
    posts.sort()  # in key order: SQLite appends to its B-trees instead of splitting pages all over
    crefs.sort()
    brefs.sort(key=lambda r: r[:2])  # a post's rows stay together, as ingestion writes them
    db.executemany("""INSERT OR IGNORE INTO posts(channel, id, date, text, source, record, first_seen, last_seen,
                      author) VALUES (?,?,?,?,?,?,?,?,?)""", posts)
    db.executemany("INSERT OR IGNORE INTO channel_refs VALUES (?,?,?,?,?)", crefs)
    db.executemany("INSERT OR IGNORE INTO bot_refs VALUES (?,?,?,?,?)", brefs)
    db.executemany("""INSERT OR IGNORE INTO media_items(channel, post_id, position, item_post_id, kind, url, thumb_url,
                      duration, status, sha256, thumb_sha256, error, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                   items)
    if start_post == 1:
        db.executemany("INSERT OR IGNORE INTO channels(username, watched, first_seen, last_seen, title) "
                       "VALUES (?,?,?,?,?)",
                       [(f"chan{i:07d}", int(i < 100), t, t, f"Channel {i}") for i in range(channels)])
        db.executemany("""INSERT OR IGNORE INTO bots(username, confirmed, label, score, reasons, first_seen, last_seen)
                          VALUES (?,?,?,?,?,?,?)""",
                       [(f"tool{i:06d}_bot", 1, "deepfake_generator" if i % 10 == 0 else "unknown",
                         0.9 if i % 10 == 0 else rng.random() * 0.5, "[]", t, t) for i in range(bots)])
        db.executemany("""INSERT OR IGNORE INTO media(sha256, md5, size, first_seen, cluster) VALUES (?,?,?,?,?)""",
                       [(f"{c:064x}", f"{c:032x}", 1000, t, f"{c:016x}") for c in range(clusters)])
        db.executemany("INSERT OR IGNORE INTO media_clusters VALUES (?,?,?,?,?,?,?,?,?,?)",
                       [(f"{c:016x}", f"{c:064x}", None, None, None, 1, 2, "[]", 0, t) for c in range(clusters)])
        db.executemany("INSERT OR IGNORE INTO bot_mirrors VALUES (?,?,?,?,?)",
                       [(f"tool{i:06d}_bot", f"tool{i + 1:06d}_bot", "notice", f"post chan0000001/{i} announces", t)
                        for i in range(0, bots - 1, 50)])
    db.execute("COMMIT")
    db.close()
    return {"posts": len(posts), "channel_refs": len(crefs), "bot_refs": len(brefs), "media_items": len(items),
            "channels": channels, "bots": bots, "clusters": clusters}


def _simple(graph: nx.MultiDiGraph) -> nx.Graph:
    simple = nx.Graph()
    for u, v, c in graph.edges(data="count", default=1):
        if u != v:
            simple.add_edge(u, v, weight=(simple[u][v]["weight"] if simple.has_edge(u, v) else 0) + c)
    return simple


def _networkx_pagerank(graph: nx.MultiDiGraph) -> str:
    nx.pagerank(nx.DiGraph(graph))
    return ""


def _igraph_louvain(graph: nx.MultiDiGraph) -> str:
    g, _ = to_igraph(graph, directed=False)
    return f"{len(g.community_multilevel(weights='weight')):,} communities"


def _networkx_louvain(graph: nx.MultiDiGraph) -> str:
    return f"{len(nx.community.louvain_communities(_simple(graph), weight='weight', seed=42)):,} communities"


BASELINES = [("networkx pagerank (baseline)", _networkx_pagerank),
             ("igraph louvain, community_multilevel (baseline)", _igraph_louvain),
             ("networkx louvain_communities (baseline)", _networkx_louvain)]


def _child(work, graph: nx.MultiDiGraph, queue: mp.Queue) -> None:
    t = time.perf_counter()
    detail = work(graph)
    queue.put((time.perf_counter() - t, rss_mb()[1], detail))


def run_baselines(graph: nx.MultiDiGraph, timeout: float) -> list[str]:
    """Each baseline in its own forked child (it inherits the graph), stopped after `timeout` seconds."""
    ctx = mp.get_context("fork")
    lines = []
    for name, work in BASELINES:
        queue = ctx.Queue()
        child = ctx.Process(target=_child, args=(work, graph, queue))
        child.start()
        try:
            seconds, peak, detail = queue.get(timeout=timeout)
            lines.append(f"{name}: {seconds:.1f} s" + (f", {detail}" if detail else "")
                         + f" (child peak RSS {peak:.0f} MB)")
        except Exception:  # noqa: BLE001 - queue.Empty: the time limit
            lines.append(f"{name}: not finished in {timeout:.0f} s (stopped)")
        if child.is_alive():
            child.terminate()
        child.join()
    return lines


async def incremental_with_repeats(folder: Path, rows: int, repeat: int) -> None:
    """Where a snapshot pays: the same number of rows, each edge seen in `repeat` posts."""
    path = folder / "repeat.db"
    store = await Store.open(path)
    await store.close()
    fill(path, rows // repeat, repeat=repeat, seed=7)
    store = await Store.open(path)
    try:
        snap = folder / "repeat.pickle"
        await build_graph(store, incremental=True, snapshot=snap)
        fill(path, rows // repeat // 100, repeat=repeat, seed=8, start_post=10_000_000)
        t = time.perf_counter()
        stats: dict = {}
        graph = await build_graph(store, incremental=True, snapshot=snap, stats=stats)
        inc = time.perf_counter() - t
        t = time.perf_counter()
        await build_graph(store)
        full = time.perf_counter() - t
        print(f"incremental, {repeat} posts per edge ({graph.number_of_edges():,} edges): after 1% new rows "
              f"{inc:.1f} s ({stats['rows_folded']:,} rows folded) vs full rebuild {full:.1f} s (baseline): "
              f"{full / inc:.2f}x")
    finally:
        await store.close()


async def bench(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    path = folder / "graph.db"
    store = await Store.open(path)
    await store.close()
    t = time.perf_counter()
    made = fill(path, args.edges)
    print(f"store: {made} rows inserted in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    ok = True
    store = await Store.open(path)
    try:
        t = time.perf_counter()
        stats: dict = {}
        graph = await build_graph(store, stats=stats)
        full = time.perf_counter() - t
        n_edges = graph.number_of_edges()
        print(f"full build: {graph.number_of_nodes():,} nodes, {n_edges:,} edges in {full:.1f} s "
              f"({stats['rows_folded']:,} rows folded); RSS {rss_mb()[0]:.0f} MB, peak {rss_mb()[1]:.0f} MB")
        ok &= full < 30 and n_edges >= args.edges * 0.95
        del graph
        snap = folder / "snap.pickle"
        t = time.perf_counter()
        await build_graph(store, incremental=True, snapshot=snap)
        first_inc = time.perf_counter() - t
        fill(path, args.edges // 100, start_post=10_000_000)  # 1% new rows
        t = time.perf_counter()
        stats = {}
        await build_graph(store, incremental=True, snapshot=snap, stats=stats)
        inc = time.perf_counter() - t
        t = time.perf_counter()
        graph = await build_graph(store)
        full2 = time.perf_counter() - t
        print(f"incremental: first run (writes the snapshot, {snap.stat().st_size / 1e6:.0f} MB) {first_inc:.1f} s; "
              f"after 1% new rows {inc:.1f} s ({stats['rows_folded']:,} rows folded, snapshot used: "
              f"{stats['snapshot_used']}) vs full rebuild {full2:.1f} s (baseline): {full2 / inc:.2f}x")
    finally:
        await store.close()
    if args.repeat > 1:
        await incremental_with_repeats(folder, args.edges, args.repeat)
    gc.disable()  # as `graph build` runs the analysis (graph.build.no_gc)
    t = time.perf_counter()
    ranks = pagerank(graph)
    pr = time.perf_counter() - t
    t = time.perf_counter()
    parts = communities(graph, seed=42)
    cm = time.perf_counter() - t
    again = communities(graph, seed=42) == parts if args.check_repeat else None
    print(f"pagerank (igraph) {pr:.1f} s + communities (igraph Leiden) {cm:.1f} s = {pr + cm:.1f} s; "
          f"{len(set(parts.values())):,} communities" + ("" if again is None else f", identical on re-run: {again}")
          + f"; peak RSS {rss_mb()[1]:.0f} MB")
    ok &= pr + cm < 60 and again is not False
    t = time.perf_counter()
    result = Analysis(ranks, parts, repost_cascades(graph), distribution_hubs(graph), bridges(graph, parts))
    rest = time.perf_counter() - t
    t = time.perf_counter()
    scored = score_subjects(graph, result)
    esc = time.perf_counter() - t
    gc.enable()
    print(f"cascades {len(result.cascades):,}, hubs {len(result.hubs):,}, bridges in {rest:.1f} s; "
          f"escalation of {len(scored):,} subjects in {esc:.1f} s; peak RSS {rss_mb()[1]:.0f} MB")
    if args.nx_timeout > 0:
        for line in run_baselines(graph, args.nx_timeout):
            print(line)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: figures are noisy)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--nx-timeout", type=float, default=150, help="seconds for each baseline (0: skip them)")
    parser.add_argument("--check-repeat", action="store_true", help="run communities twice and compare")
    parser.add_argument("--repeat", type=int, default=5,
                        help="also time incremental vs full on a store whose edges have this many posts each (1: skip)")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
