"""The explorer's graph view in a real browser: time until a big graph is drawn and answers a click.

A synthetic store of N nodes (channels, bots, media clusters in communities) and M edges
(forwards, promotions, reposts) is served by `tgsweep serve` (a child process); headless
Chromium (Debian's, driven by Playwright) opens the graph page; the clock runs from the start
of navigation until the graph is drawn (the page's `explorer.ready` flag, set on cytoscape's
first render after the layout) and then until a click on a node has filled the details panel.
Requirement: 10,000 nodes and 50,000 edges interactive within 3 s of opening the page.

The page places nodes at positions the server computed once (tgsweep/explorer/layout.py). A
graph of more than 4,000 edges has its edges drawn on a canvas layer, and one of more than 3,000
nodes its nodes too (the overview; cytoscape keeps pan, zoom and taps, a click finds its node in
a grid). Baselines, in the same run and the same browser:

- `node-elements`: nodes as cytoscape elements (`preset`), edges on the canvas (`/?nodes=elements`);
- `cytoscape-elements`: every node and edge a cytoscape element, same positions (`/?edges=elements`);
- `cose`: cytoscape's default force-directed layout run in the browser (`/?layout=cose`).

    python benchmarks/bench_explorer.py [--nodes 10000] [--edges 50000] [--runs 3] [--baseline-timeout 60] [--no-baseline]

`--workbench` measures the analyst's workbench instead (issue 17), on a store of 20,000 nodes and
100,000 edges with 100,000 scored subjects and 100,000 alerts:

- cold start: from starting `tgsweep serve` until the landing graph view (`#/graph`, the escalated
  neighbourhood) is drawn and answers a click; requirement 3 s. Baseline, same run: the whole
  graph (`#/graph?focus=all`) after a cold start;
- the queue page (`#/queue`, then its last page) and the alerts page (`#/alerts`, then sorted by
  severity): from navigation until the table is on screen; requirement 1 s each. Baseline, same
  run: the same pages on the same store with the store's indexes on escalations and alerts
  dropped (what an un-indexed store would cost).

    python benchmarks/bench_explorer.py --workbench [--nodes 20000] [--edges 100000] [--subjects 100000] [--alerts 100000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGET_SECONDS = 3.0
PAGE_SECONDS = 1.0


def make_store(folder: Path, nodes: int, edges: int, seed: int = 7) -> Path:
    """A store whose graph has `nodes` nodes and about `edges` distinct edges; returns the config file."""
    import asyncio

    from store.sqlite import Store

    database = folder / "bench.db"

    async def create() -> None:
        store = await Store.open(database)
        await store.close()

    # In a thread of its own: callers may run an event loop already (Playwright's sync API does).
    worker = threading.Thread(target=asyncio.run, args=(create(),))
    worker.start()
    worker.join()
    rng = random.Random(seed)
    n_channels, n_bots = int(nodes * 0.6), int(nodes * 0.25)
    n_media = nodes - n_channels - n_bots
    communities = max(nodes // 150, 1)
    channels = [f"chan{i:06d}" for i in range(n_channels)]
    bots = [f"tool{i:06d}_bot" for i in range(n_bots)]
    clusters = [f"{i:016x}" for i in range(n_media)]

    def group(i: int, size: int) -> int:
        return i * communities // size

    by_group: dict[str, dict[int, list[str]]] = {"channel": {}, "bot": {}, "media": {}}
    for kind, names in (("channel", channels), ("bot", bots), ("media", clusters)):
        for i, name in enumerate(names):
            by_group[kind].setdefault(group(i, len(names)), []).append(name)

    def pick(kind: str, near: int) -> str:
        g = near if rng.random() < 0.85 else rng.randrange(communities)
        return rng.choice(by_group[kind].get(g) or by_group[kind][0])

    wanted = {"forward": int(edges * 0.5), "promote": int(edges * 0.3)}
    wanted["posted"] = edges - wanted["forward"] - wanted["promote"]
    seen: set[tuple[str, str, str]] = set()
    posts, channel_refs, bot_refs, items = [], [], [], []
    media_rows = {}
    next_id: dict[str, int] = {}
    t = "2026-01-01T00:00:00+00:00"
    for kind, count in wanted.items():
        made = 0
        while made < count:
            index = rng.randrange(len(channels))
            source, g = channels[index], group(index, len(channels))
            target = pick({"forward": "channel", "promote": "bot", "posted": "media"}[kind], g)
            if (source, target, kind) in seen or target == source:
                continue
            seen.add((source, target, kind))
            made += 1
            post_id = next_id[source] = next_id.get(source, 0) + 1
            date = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00+00:00"
            posts.append((source, post_id, date, target if kind == "forward" else None, "{}", t, t))
            if kind == "forward":
                channel_refs.append((source, post_id, target, "forward", 1))
            elif kind == "promote":
                bot_refs.append((source, post_id, target, "deep_link", f"ref{rng.randrange(1000)}"))
            else:
                sha = f"{int(target, 16):064x}"
                media_rows[sha] = (sha, "0" * 32, 1000, "image/jpeg", target, t)
                items.append((source, post_id, 0, "photo", "stored", sha))
    db = sqlite3.connect(database)
    with db:
        db.executemany("INSERT INTO channels(username, kind, title, watched, first_seen, last_seen) "
                       "VALUES (?, 'channel', ?, 0, ?, ?)", [(c, f"Channel {c[4:]}", t, t) for c in channels])
        labels = ["unknown", "unknown", "benign", "deepfake_generator"]
        db.executemany("INSERT INTO bots(username, confirmed, title, label, score, reasons, first_seen, last_seen) "
                       "VALUES (?, 1, ?, ?, ?, '[]', ?, ?)",
                       [(b, f"Tool {b[4:10]}", rng.choice(labels), rng.random(), t, t) for b in bots])
        db.executemany("INSERT INTO posts(channel, id, date, forwarded_channel, source, record, first_seen, last_seen) "
                       "VALUES (?, ?, ?, ?, 'web', ?, ?, ?)", posts)
        db.executemany("INSERT INTO channel_refs VALUES (?,?,?,?,?)", channel_refs)
        db.executemany("INSERT INTO bot_refs VALUES (?,?,?,?,?)", bot_refs)
        db.executemany("INSERT INTO media(sha256, md5, size, mime, cluster, first_seen) VALUES (?,?,?,?,?,?)",
                       list(media_rows.values()))
        db.executemany("INSERT INTO media_items(channel, post_id, position, kind, status, sha256) "
                       "VALUES (?,?,?,?,?,?)", items)
        appearances: dict[str, list[str]] = {}
        for source, _post, _pos, _kind, _status, sha in items:
            appearances.setdefault(f"{int(sha, 16):016x}", []).append(source)
        db.executemany("INSERT INTO media_clusters(id, origin_sha256, origin_channel, origin_post, files, appearances, "
                       "channels, updated_at) VALUES (?,?,?,?,1,?,?,?)",
                       [(c, f"{int(c, 16):064x}", chans[0], 1, max(len(chans), 2), json.dumps(chans[:20]), t)
                        for c, chans in appearances.items()])
    db.close()
    config = folder / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{database.name}"\nmedia_dir = "media"\n', encoding="utf-8")
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "serve", "--port",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               cwd=config.parent)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/info", timeout=2).read()
            return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit("tgsweep serve did not start") from None
            time.sleep(0.2)


def open_graph(browser, url: str, timeout_s: float) -> dict:
    """Open the page; seconds until drawn, and until a click on a node filled the details panel."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        try:
            page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=timeout_s * 1000,
                                   polling=20)
        except Exception:
            return {"drawn": None, "click": None, "interactive": None}
        drawn = time.perf_counter() - start
        # the node nearest the middle of the view: a click there must hit it
        target = page.evaluate("""() => {
            const cy = explorer.cy, w = cy.width() / 2, h = cy.height() / 2;
            const ids = explorer.overview ? explorer.edgeLayer.nodes.map(n => n.id) : cy.nodes().map(n => n.id());
            let best = null, bestD = Infinity;
            for (const id of ids) { const p = explorer.nodeScreenPosition(id), b = cy.container().getBoundingClientRect();
                                    const d = (p.x - b.left - w) ** 2 + (p.y - b.top - h) ** 2;
                                    if (d < bestD) { bestD = d; best = id; } }
            return best; }""")
        spot = page.evaluate("id => explorer.nodeScreenPosition(id)", target)
        clicked_at = time.perf_counter()
        page.mouse.click(spot["x"], spot["y"])
        page.wait_for_selector("#details-body", timeout=timeout_s * 1000)
        answered = time.perf_counter() - clicked_at
        clicked = page.get_attribute("#details-body", "data-node")
        timings = page.evaluate("() => explorer.timings")
        counts = page.evaluate("() => [explorer.overview ? explorer.edgeLayer.nodes.length : explorer.cy.nodes().length,"
                               " explorer.edgeLayer ? explorer.edgeLayer.ends.length / 2 : explorer.cy.edges().length]")
        # interactive: drawn, then a click answered (finding a node to click is the script's, not counted)
        return {"drawn": drawn, "click": answered, "interactive": drawn + answered, "clicked": clicked,
                "timings": timings, "nodes": counts[0], "edges": counts[1]}
    finally:
        page.close()


def measure(url: str, timeout_s: float) -> dict:
    """One page opening in its own browser process, killed when over time.

    A layout running in the page (the cose baseline) blocks the page's thread, and with it every
    timeout Playwright keeps inside the page: only killing the browser ends it.
    """
    child = subprocess.Popen([sys.executable, __file__, "--open-url", url, "--timeout", str(timeout_s)],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = child.communicate(timeout=timeout_s + 30)
        return json.loads(out.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        os.killpg(child.pid, signal.SIGKILL)  # the child's own session: it, its Playwright driver, its Chromium
        child.communicate()
        return {"drawn": None, "click": None, "interactive": None}


def open_in_browser(url: str, timeout_s: float) -> None:
    """The child of `measure`: print one JSON result line."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        result = open_graph(browser, url, timeout_s)
        browser.close()
    print(json.dumps(result), flush=True)


def add_workbench_rows(database: Path, subjects: int, alerts: int, seed: int = 11) -> None:
    """`subjects` escalation rows (the graph's nodes first, then more) and `alerts` alerts with a delivery
    row each, about 1 % of subjects escalated."""
    rng = random.Random(seed)
    db = sqlite3.connect(database)
    t = "2026-01-01T00:00:00+00:00"
    nodes = [f"channel:{r[0]}" for r in db.execute("SELECT username FROM channels")]
    nodes += [f"bot:{r[0]}" for r in db.execute("SELECT username FROM bots")]
    nodes += [f"media:{r[0]}" for r in db.execute("SELECT id FROM media_clusters")]
    nodes += [f"channel:extra{i:07d}" for i in range(max(0, subjects - len(nodes)))]
    rows = []
    for subject in nodes[:subjects]:
        score = 0.6 + 0.4 * rng.random() if rng.random() < 0.01 else 0.6 * rng.random() ** 4  # 1 % escalated
        escalated = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00+00:00" if score >= 0.6 else None
        rows.append((subject, subject.split(":")[0], score, json.dumps([f"synthetic reason {rng.randrange(100)}"]),
                     rng.random() / 1000, rng.randrange(150), t, "{}", escalated))
    severities = ["medium", "high", "critical"]
    states = ["delivered"] * 8 + ["pending", "dead"]
    alert_rows, deliveries = [], []
    for i in range(alerts):
        state = rng.choice(states)
        at = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{i % 60:02d}:00+00:00"
        alert_rows.append((f"alert{i:08d}", rng.choice(["escalation", "bank_match", "deepfake_bot"]),
                           rng.choice(nodes), rng.choice(severities), at, json.dumps({"reasons": ["synthetic"]}),
                           state, 1, None, "gave up" if state == "dead" else None, at if state == "delivered" else None))
        deliveries.append((f"alert{i:08d}", "jsonl:alerts.jsonl", state, 1, None, at, None, None,
                           at if state == "delivered" else None))
    with db:
        db.executemany("INSERT OR REPLACE INTO escalations(subject, kind, score, reasons, pagerank, community, "
                       "computed_at, signals, escalated_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO alerts(id, type, subject, severity, created_at, payload, state, attempts, "
                       "next_attempt_at, last_error, delivered_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", alert_rows)
        db.executemany("INSERT INTO alert_deliveries(alert_id, sink, state, attempts, next_attempt_at, window_start, "
                       "last_status, last_error, delivered_at) VALUES (?,?,?,?,?,?,?,?,?)", deliveries)
    db.close()


def cold_start(browser, config: Path, url_tail: str, timeout_s: float) -> dict:
    """Seconds from starting `tgsweep serve` until the page at `url_tail` is drawn and a click is answered."""
    started = time.perf_counter()
    process, base = start_server(config)
    up = time.perf_counter() - started
    try:
        opened = open_graph(browser, f"{base}/{url_tail}", timeout_s)
    finally:
        stop_server(process)
    total = None if opened["interactive"] is None else up + opened["interactive"]
    return opened | {"server_up": up, "cold": total}


def page_seconds(browser, base: str, view: str, ready: str) -> float:
    """From navigation until `ready` (a table) is on screen."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(f"{base}/#/info")  # the page's script loaded once, as when an analyst moves between views
        page.wait_for_load_state("load")
        start = time.perf_counter()
        page.evaluate("view => { location.hash = view; }", view)
        page.wait_for_selector(ready, timeout=60_000)
        return time.perf_counter() - start
    finally:
        page.close()


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


WORKBENCH_PAGES = (("queue, first page", "#/queue", "#page-queue table"),
                   ("queue, last page", "#/queue?offset=99950", "#page-queue table"),
                   ("alerts, newest first", "#/alerts", "#page-alerts table"),
                   ("alerts, by severity", "#/alerts?sort=severity", "#page-alerts table"),
                   ("alerts, last page", "#/alerts?offset=99900", "#page-alerts table"))


def workbench(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-workbench-") as tmp:
        started = time.perf_counter()
        config = make_store(Path(tmp), args.nodes, args.edges)
        add_workbench_rows(Path(tmp) / "bench.db", args.subjects, args.alerts)
        print(f"synthetic store: {args.nodes:,} nodes, {args.edges:,} edges, {args.subjects:,} scored subjects, "
              f"{args.alerts:,} alerts; written in {time.perf_counter() - started:.1f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            first = cold_start(browser, config, "#/graph", 60)  # nothing saved yet: the graph is built first
            colds = [cold_start(browser, config, "#/graph", 60) for _ in range(args.runs)]
            whole = cold_start(browser, config, "#/graph?focus=all", 120)

            def said(r: dict) -> str:
                if r["cold"] is None:
                    return "not drawn in time"
                t = r.get("timings") or {}
                return (f"server up {r['server_up']:.2f} s, graph drawn {r['drawn']:.2f} s later ({r['nodes']:,} nodes, "
                        f"{r['edges']:,} edges; fetched {t.get('fetched', 0) / 1000:.2f} s, cytoscape built "
                        f"{t.get('built', 0) / 1000:.2f} s after navigation), click answered {r['click']:.2f} s: "
                        f"interactive {r['cold']:.2f} s after the server was started")

            print(f"  first start ever (no saved graph: built, laid out and saved): {said(first)}")
            for i, r in enumerate(colds, 1):
                print(f"  restart {i}: {said(r)}")
            print(f"  baseline, the whole graph (#/graph?focus=all) after a restart: {said(whole)}")
            best = statistics.median(r["cold"] if r["cold"] is not None else float("inf") for r in colds)
            print(f"cold start (a restart) to an interactive landing graph: {best:.2f} s (median of {len(colds)})")
            ok &= best <= TARGET_SECONDS
            print(f"{'PASS' if best <= TARGET_SECONDS else 'FAIL'}: cold start within {TARGET_SECONDS:.0f} s")

            timings: dict[str, dict[str, float]] = {}
            for setting in ("indexed", "no index"):
                if setting == "no index":
                    db = sqlite3.connect(Path(tmp) / "bench.db")
                    db.executescript("DROP INDEX escalations_rank; DROP INDEX alerts_state; DROP INDEX alerts_created;")
                    db.close()
                process, base = start_server(config)
                try:
                    for name, view, ready in WORKBENCH_PAGES:
                        page_seconds(browser, base, view, ready)  # the first opening warms SQLite's page cache
                        runs = [page_seconds(browser, base, view, ready) for _ in range(args.runs)]
                        timings.setdefault(name, {})[setting] = statistics.median(runs)
                finally:
                    stop_server(process)
            browser.close()
    for name, t in timings.items():
        passed = t["indexed"] <= PAGE_SECONDS
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}: {name}: {t['indexed']:.2f} s (requirement {PAGE_SECONDS:.0f} s); "
              f"baseline without the store's indexes {t['no index']:.2f} s")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="page openings of the measured page (median counts)")
    parser.add_argument("--baseline-timeout", type=float, default=60.0, help="give each baseline this long")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workbench", action="store_true", help="cold start, queue and alerts pages (issue 17)")
    parser.add_argument("--subjects", type=int, default=100_000, help="--workbench: scored subjects")
    parser.add_argument("--alerts", type=int, default=100_000, help="--workbench: alerts")
    parser.add_argument("--open-url", help=argparse.SUPPRESS)  # internal: one measurement (see measure)
    parser.add_argument("--timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open_url:
        open_in_browser(args.open_url, args.timeout)
        return 0
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    if args.workbench:
        if "--nodes" not in sys.argv:
            args.nodes, args.edges = 20_000, 100_000
        return workbench(args)
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        started = time.perf_counter()
        config = make_store(Path(tmp), args.nodes, args.edges)
        print(f"synthetic store: {args.nodes:,} nodes, {args.edges:,} edges wanted, "
              f"written in {time.perf_counter() - started:.1f} s")
        process, base = start_server(config)
        try:
            started = time.perf_counter()
            body = urllib.request.urlopen(f"{base}/api/graph", timeout=600).read()
            first = time.perf_counter() - started
            graph = json.loads(body)
            started = time.perf_counter()
            urllib.request.urlopen(f"{base}/api/graph", timeout=600).read()
            cached = time.perf_counter() - started
            print(f"server: /api/graph {len(graph['nodes']):,} nodes, {len(graph['edges']):,} edges, "
                  f"{len(body) / 1e6:.1f} MB; first answer (build + layout, once) {first:.2f} s, "
                  f"then {cached:.2f} s per answer")
            results = [measure(f"{base}/#/graph?focus=all", 60) for _ in range(args.runs)]
            baselines = {} if args.no_baseline else {
                name: measure(f"{base}/?{query}#/graph?focus=all", args.baseline_timeout)
                for name, query in (("node-elements (nodes cytoscape elements, edges on the canvas)", "nodes=elements"),
                                    ("cytoscape-elements (every node and edge an element, same positions)",
                                     "edges=elements"),
                                    ("cose (cytoscape's force-directed layout in the browser)", "layout=cose"))}
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    for i, r in enumerate(results, 1):
        if r["interactive"] is None:
            print(f"  run {i}: not drawn within 60 s")
            continue
        t = r.get("timings") or {}
        print(f"  run {i}: drawn {r['drawn']:.2f} s, click answered in {r['click']:.2f} s: interactive "
              f"{r['interactive']:.2f} s "
              f"[fetch {t.get('fetched', 0) / 1000:.2f} s, cytoscape built {t.get('built', 0) / 1000:.2f} s; "
              f"press to tap {(t.get('tap', 0) - t.get('tapstart', 0)) / 1000:.2f} s, tap to details "
              f"{(t.get('details', 0) - t.get('tap', 0)) / 1000:.2f} s]; "
              f"{r['nodes']:,} nodes, {r['edges']:,} edges drawn; clicked {r['clicked']}")
    best = statistics.median(r["interactive"] if r["interactive"] is not None else float("inf") for r in results)
    print(f"tgsweep explorer (server layout, overview drawn on a canvas, cytoscape viewport): interactive in {best:.2f} s "
          f"(median of {len(results)})")
    for name, baseline in baselines.items():
        if baseline["interactive"] is None:
            print(f"baseline {name}: not drawn within {args.baseline_timeout:.0f} s "
                  f"(more than {args.baseline_timeout / best:.0f}x slower)")
        else:
            print(f"baseline {name}: drawn {baseline['drawn']:.2f} s, interactive {baseline['interactive']:.2f} s "
                  f"({baseline['interactive'] / best:.1f}x slower)")
    ok = best <= TARGET_SECONDS
    print(f"{'PASS' if ok else 'FAIL'}: requirement {args.nodes:,} nodes / {args.edges:,} edges interactive within "
          f"{TARGET_SECONDS:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
