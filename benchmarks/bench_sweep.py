"""Benchmark: a whole web sweep of 100,000 text posts from a loopback t.me server.

The requirement (issue): "A web sweep of 100,000 text posts from a loopback server with no
delay stores at least 2,000 posts/s, and the process stays under 400 MB RSS."

What runs, each in its own process so that CPU and memory are counted where they belong
(the machine this was written on has 2 cores: one serves, one sweeps):

- the server: ``python -m tgsweep.demo.tme_server --world world.json --port 0`` serving a seeded
  synthetic world of N text posts (default 100,000) in 10 channels, each post a few sentences
  with 1-3 links or mentions (sites, t.me posts, @channels, @bots, bot deep links), plus one
  20,000-post channel (t.me pages one channel sequentially, so a lone channel is the slow case),
  plus the referenced bots' profile pages. Every page is fetched once before timing so the
  server's per-post render cache is warm and both timed runs see the same server.
- the baseline, named ``scrapy-parse-only``: the same Scrapy settings (from
  ``crawler.web.stage.scrapy_settings``, same concurrency, no delay) and the same parser
  (``crawler.web.tme_parse.parse_channel_page``) paging the same channels, but storing nothing.
  The difference between it and the sweep is what the store costs. For reference only, a
  plain ``http.client`` keep-alive loop that fetches and parses one page after another.
- the sweep: ``python -m tgsweep.cli --config <tmp>/config.toml sweep --no-progress`` with
  ``[web] request_delay = 0`` and ``[media] download = false``, on a new database; then the
  database is checked to hold exactly N distinct posts (the single-channel sweep exactly its
  posts), a raw capture per page, no recorded errors and status ok.

Measured for every process: peak RSS (VmHWM polled from /proc every 20 ms; not ru_maxrss,
which Linux carries across fork and exec, so a child would report this script's own peak), CPU
seconds (its rusage), wall time from spawn to exit, and "other load": the machine's busy CPU
during the run minus this child, the server and this script, i.e. other people's processes on a
shared machine. Runs with more than 0.15 cores of other load are flagged: their figures are low.

posts/s and pages/s are over the collection, by each process's own clock (for the sweep, the
``seconds`` it records in the ``sweeps`` table): the requirement is about storing, and
``tgsweep sweep`` also runs the later stages (enrich, detect) after collecting. The rate over
the whole process (start-up and later stages included) is printed beside it. With --repeat N
the measurements are interleaved and the fastest of each counts (noise only slows a run down).

Pass: sweep posts/s >= --min-rate (2,000) and the sweep process's peak RSS < --max-rss-mb
(400; the whole process, later stages included). Exit 1 on FAIL, 2 when a run breaks (a
subprocess fails or the stored counts are wrong).

Usage: python3 benchmarks/bench_sweep.py [--posts N] [--channels C] [--single N] [--repeat N]
         [--concurrency K] [--no-reference] [--profile FILE] [--keep DIR]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MIN_RATE = 2000.0  # posts/s
MAX_RSS_MB = 400.0
CHANNEL_PREFIX = "bench_feed_"
SINGLE = "bench_single_feed"
BOTS = ["photo_helper_bot", "quick_edit_bot", "news_digest_bot", "poll_maker_bot", "weather_now_bot",
        "translate_it_bot", "file_convert_bot", "sticker_pack_bot", "music_finder_bot", "remind_me_bot",
        "price_watch_bot", "qr_code_maker_bot"]
OUTSIDE = ["world_news_daily", "tech_talk_hub", "city_events", "travel_notes", "market_watch",
           "science_daily", "photo_club", "gadget_reviews", "startup_digest", "music_weekly"]
SITES = ["https://example.com", "https://news.example.org", "https://blog.example.net",
         "https://github.com/example", "https://docs.example.io"]

_SUBJECTS = ["The city council", "A new study", "Our editors", "The weekly market report", "Local volunteers",
             "The research team", "A popular photo app", "The transport authority", "Readers",
             "The organisers", "An independent lab", "The museum", "Our correspondent", "The league"]
_VERBS = ["announced", "published", "confirmed", "reviewed", "shared", "explained", "tested", "updated",
          "released", "described", "compared", "questioned"]
_OBJECTS = ["a plan for new cycle lanes", "the results of the spring survey", "an update to the privacy policy",
            "the schedule for next week", "a guide to better night photos", "new figures on energy prices",
            "the shortlist for the photo contest", "changes to the opening hours", "a faster export option",
            "a report on online safety", "the winners of the hackathon", "a map of the new routes",
            "tips for keeping your accounts secure", "the budget for the coming year"]
_TAILS = ["", " today", " this morning", " after a long debate", " in a short statement", " on Monday",
          " for the first time", " earlier than expected", " with some surprises", " at last"]
_EXTRA = ["More details below.", "Read the full story at the link.", "What do you think?",
          "Share this with your friends.", "We will follow up tomorrow.", "Thanks to everyone who wrote in.",
          "Corrections are welcome in the comments.", "Photos to follow.", "Stay tuned!",
          "The discussion continues in our chat."]
_TAGS = ["news", "update", "tips", "photo", "tech", "city", "weekly", "safety", "events", "review"]


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}."


def _reference(rng: random.Random, channels: list[str], max_ids: dict[str, int]) -> str:
    """One link or mention, of the kinds real channel posts carry."""
    kind = rng.random()
    if kind < 0.30:
        return f"{rng.choice(SITES)}/{rng.choice(_TAGS)}/{rng.randrange(10**6)}"
    if kind < 0.50:
        return f"@{rng.choice(channels + OUTSIDE)}"
    if kind < 0.65:
        ch = rng.choice(channels)
        return f"https://t.me/{ch}/{rng.randint(1, max(1, max_ids.get(ch, 1)))}"
    if kind < 0.85:
        return f"@{rng.choice(BOTS)}"
    bot = rng.choice(BOTS)
    return f"https://t.me/{bot}?start=ref{rng.randrange(1000)}"


def post_text(rng: random.Random, channels: list[str], max_ids: dict[str, int]) -> str:
    """A post of 1-4 sentences with 1-3 links or mentions woven in, sometimes a hashtag."""
    parts = [_sentence(rng) for _ in range(rng.randint(1, 3))]
    refs = [_reference(rng, channels, max_ids) for _ in range(rng.randint(1, 3))]
    for ref in refs:
        at = rng.randrange(len(parts) + 1)
        lead = rng.choice(["More: ", "Via ", "Details: ", "See ", "Source: ", ""])
        parts.insert(at, f"{lead}{ref}")
    if rng.random() < 0.5:
        parts.append(rng.choice(_EXTRA))
    if rng.random() < 0.4:
        parts.append(" ".join(f"#{t}" for t in rng.sample(_TAGS, rng.randint(1, 2))))
    sep = "\n" if rng.random() < 0.3 else " "
    return sep.join(parts)


def build_world(sizes: dict[str, int], seed: int = 20260105):
    """Channels of text posts (ids 1..n with a few gaps, dates ascending) and the referenced bots."""
    from store.records import Post
    from tgsweep.demo.tme_server import Entity, World, fill_text_entities

    rng = random.Random(seed)
    world = World()
    names = list(sizes)
    max_ids = {name: n for name, n in sizes.items()}
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i, (name, count) in enumerate(sizes.items()):
        entity = Entity(username=name, id=1900000000 + i, title=f"Bench Feed {i}",
                        description=f"Synthetic benchmark channel {i}: news-like text posts. Chat: @{OUTSIDE[i % 10]}",
                        counters={"subscribers": 1000 + 137 * i, "links": count // 2})
        when, next_id = start, 1
        for _ in range(count):
            post = Post(channel=name, id=next_id, date=when.isoformat(), text=post_text(rng, names, max_ids),
                        channel_id=entity.id, views=rng.randint(100, 999))
            if rng.random() < 0.05:
                post.author = rng.choice(["Anna", "Ben", "Chris", "Dana"])
            fill_text_entities(post)
            entity.posts.append(post)
            next_id += 1 if rng.random() < 0.98 else 2  # deleted posts leave gaps
            when += timedelta(minutes=rng.randint(1, 90))
        world.add(entity)
    for j, bot in enumerate(BOTS):
        world.add(Entity(username=bot, id=7100000000 + j, title=bot.replace("_", " ").title(), kind="bot",
                         description="A harmless utility bot used in the sweep benchmark.", preview=False))
    return world


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    posts: int
    pages: int
    wall: float  # spawn to exit of the process
    crawl: float  # the collection itself, by the process's own clock (for the sweep: sweeps.stats.seconds)
    rss_mb: float  # peak resident set of the process
    cpu: float  # CPU seconds of the process (all its threads)
    other_load: float  # CPU of every other process on the machine during the run, in cores (server excluded)

    @property
    def rate(self) -> float:
        """Posts per second of collection: what the requirement measures."""
        return self.posts / self.crawl if self.crawl else 0.0

    def line(self) -> str:
        return (f"{self.name:<27} {self.posts:6d} posts {self.pages:5d} pages in {self.crawl:5.1f} s: "
                f"{self.rate:5.0f} posts/s {self.pages / self.crawl:5.1f} pages/s | process {self.wall:5.1f} s "
                f"({self.posts / self.wall:5.0f} posts/s), CPU {self.cpu:5.1f} s, peak RSS {self.rss_mb:5.1f} MB"
                + (f" | OTHER LOAD {self.other_load:.2f} cores" if self.other_load > 0.15 else ""))


@dataclass
class Measured:
    wall: float
    rss_mb: float
    cpu: float
    other_load: float
    stdout: str
    stderr: str


def _vm_hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def run_measured(cmd: list[str], server_pid: int | None = None, env: dict[str, str] | None = None,
                 timeout: float = 3600) -> Measured:
    """Run a child to completion and measure it.

    Peak RSS is the child's VmHWM, polled from /proc every 20 ms until it exits (VmHWM only
    grows, so the last reading is the peak up to then). Not ru_maxrss: Linux carries a
    process's max RSS across fork and exec, so a child would report this script's own peak.
    CPU time is the child's own rusage. "Other load" is the machine's busy time during the run
    minus the child, the server and this script: other people's processes on a shared machine,
    which make the figures slower than they should be.
    """
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    busy0, mine0 = _busy_seconds(), sum(os.times()[:2])
    server0 = _cpu_seconds(server_pid) if server_pid else 0.0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=err)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _vm_hwm_kib(proc.pid) or 0)
        if time.perf_counter() - started > timeout:
            proc.kill()
        time.sleep(0.02)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    server = (_cpu_seconds(server_pid) - server0) if server_pid else 0.0
    other = (_busy_seconds() - busy0) - cpu - server - (sum(os.times()[:2]) - mine0)
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{stdout}\n{stderr}")
    return Measured(wall, peak / 1024, cpu, max(0.0, other / wall), stdout, stderr)


class Server:
    """The loopback t.me server in a subprocess (its CPU and memory are not the sweeper's)."""

    def __init__(self, world_file: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "tgsweep.demo.tme_server", "--world", str(world_file),
                                      "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status}")
    return body


def fetch_loop(base_url: str, channels: list[str], parse: bool) -> tuple[int, int]:
    """Page every channel back to its start over one keep-alive connection: (posts, pages)."""
    from crawler.web.tme_parse import parse_channel_page

    host = urlsplit(base_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    posts = pages = 0
    for channel in channels:
        before = None
        while True:
            body = _get(conn, f"/s/{channel}" + (f"?before={before}" if before else ""))
            pages += 1
            if parse:
                page = parse_channel_page(body, channel)
                posts += len(page.posts)
                before = page.before
            else:  # warm-up: find the "older" link cheaply
                at = body.find(b'data-before="')
                before = int(body[at + 13:body.index(b'"', at + 13)]) if at >= 0 else None
            if before is None:
                break
    conn.close()
    return posts, pages


def warm(base_url: str, channels: list[str]) -> int:
    """Fetch every page once (in parallel, one thread per channel) so the server's render cache is full."""
    counts: list[int] = []
    threads = [threading.Thread(target=lambda c=c: counts.append(fetch_loop(base_url, [c], parse=False)[1]))
               for c in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


# --------------------------------------------------------------------------------------------
# Child modes (run by this script in a subprocess, so their RSS is theirs alone)
# --------------------------------------------------------------------------------------------


def child_scrapy_parse_only(base_url: str, channels: list[str], concurrency: int) -> None:
    """Baseline: the sweep's Scrapy settings and parser, paging the same channels, storing nothing."""
    import scrapy

    from crawler.web.tme_parse import parse_channel_page
    from crawler.web.stage import run_async, scrapy_settings
    from scrapy.crawler import AsyncCrawlerRunner
    from tgsweep.config import parse_config

    config = parse_config(_config_text(Path("unused.db"), base_url, channels, concurrency), Path("."))
    totals = {"posts": 0, "pages": 0}

    class ParseOnly(scrapy.Spider):
        name = "parse_only"

        async def start(self):
            for channel in channels:
                yield self._page(channel, None)

        def _page(self, channel: str, before: int | None) -> scrapy.Request:
            url = f"{base_url}/s/{channel}" + (f"?before={before}" if before else "")
            return scrapy.Request(url, callback=self.parse_page, dont_filter=True, meta={"channel": channel})

        async def parse_page(self, response):
            channel = response.meta["channel"]
            page = parse_channel_page(response.body, channel)
            totals["posts"] += len(page.posts)
            totals["pages"] += 1
            if page.before is not None:
                yield self._page(channel, page.before)

    async def main() -> float:
        runner = AsyncCrawlerRunner(scrapy_settings(config))
        started = time.monotonic()
        await runner.crawl(ParseOnly)
        return time.monotonic() - started

    seconds = run_async(main)
    print(json.dumps(totals | {"seconds": seconds}))


def child_loop_parse(base_url: str, channels: list[str]) -> None:
    started = time.monotonic()
    posts, pages = fetch_loop(base_url, channels, parse=True)
    print(json.dumps({"posts": posts, "pages": pages, "seconds": time.monotonic() - started}))


# --------------------------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------------------------


def _config_text(db: Path, base_url: str, channels: list[str], concurrency: int, warc: bool = True,
                 url: str | None = None) -> str:
    return f"""
[storage]
database = "{db}"
media_dir = "{db.parent / 'media'}"
warc = {'true' if warc else 'false'}
{f'url = "{url}"' if url else ''}

[web]
base_url = "{base_url}"
request_delay = 0
concurrent_requests = {concurrency}

[media]
download = false

[watch]
channels = {json.dumps(channels)}

[discovery]
enabled = false

[logging]
level = "WARNING"
"""


def run_child(name: str, mode: str, server: "Server", channels: list[str], concurrency: int) -> Run:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", mode, "--_base-url", server.url,
           "--concurrency", str(concurrency), "--_channels", ",".join(channels)]
    m = run_measured(cmd, server.proc.pid)
    result = json.loads(m.stdout.strip().splitlines()[-1])
    return Run(name, result["posts"], result["pages"], m.wall, result["seconds"], m.rss_mb, m.cpu, m.other_load)


def run_sweep(name: str, workdir: Path, server: "Server", channels: list[str], concurrency: int,
              expected_posts: int, profile: str | None = None, warc: bool = True) -> Run:
    """The real thing, as a user runs it, on a new database; then check what it stored."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    db = workdir / "tgsweep.db"
    config = workdir / "config.toml"
    config.write_text(_config_text(db, server.url, channels, concurrency, warc), encoding="utf-8")
    prefix = [sys.executable] + (["-m", "cProfile", "-o", profile] if profile else [])
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    m = run_measured(prefix + ["-m", "tgsweep.cli", "--config", str(config), "sweep", "--no-progress"],
                     server.proc.pid, env=env)
    with sqlite3.connect(db) as conn:
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        distinct = conn.execute("SELECT count(*) FROM (SELECT DISTINCT channel, id FROM posts)").fetchone()[0]
        status, stats = conn.execute("SELECT status, stats FROM sweeps ORDER BY id DESC LIMIT 1").fetchone()
        stats = json.loads(stats)
        captures = conn.execute("SELECT count(*) FROM raw_captures WHERE kind='channel_page'").fetchone()[0]
        errors = conn.execute("SELECT count(*) FROM sweep_errors").fetchone()[0]
    if posts != expected_posts or distinct != posts or status != "ok" or errors or captures != stats["pages"]:
        raise RuntimeError(f"{name}: stored {posts} posts (expected {expected_posts}), status {status}, "
                           f"{errors} errors, {captures} page captures for {stats['pages']} pages\n"
                           f"{m.stdout}\n{m.stderr}")
    return Run(name, posts, stats["pages"], m.wall, stats["seconds"], m.rss_mb, m.cpu, m.other_load)


def best(runs: list[Run]) -> Run:
    """The fastest of repeated runs (noise only ever slows a run down), with the highest peak RSS seen."""
    top = max(runs, key=lambda r: r.rate)
    return Run(top.name, top.posts, top.pages, top.wall, top.crawl, max(r.rss_mb for r in runs), top.cpu,
               top.other_load)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts in the multi-channel sweep")
    parser.add_argument("--channels", type=int, default=10, help="channels the posts are split across")
    parser.add_argument("--single", type=int, default=20_000, help="posts in the single-channel run (0: skip)")
    parser.add_argument("--concurrency", type=int, default=16, help="[web] concurrent_requests")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the fastest counts")
    parser.add_argument("--min-rate", type=float, default=MIN_RATE, help="required sweep posts/s")
    parser.add_argument("--max-rss-mb", type=float, default=MAX_RSS_MB, help="allowed sweep peak RSS")
    parser.add_argument("--no-reference", action="store_true", help="skip the http.client reference loop")
    parser.add_argument("--profile", metavar="FILE", help="run the multi-channel sweep under cProfile into FILE")
    parser.add_argument("--keep", metavar="DIR", help="keep world, databases and configs in DIR")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_base-url", help=argparse.SUPPRESS)
    parser.add_argument("--_channels", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._child == "scrapy":
        child_scrapy_parse_only(args._base_url, args._channels.split(","), args.concurrency)
        return 0
    if args._child == "loop":
        child_loop_parse(args._base_url, args._channels.split(","))
        return 0

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    workdir.mkdir(parents=True, exist_ok=True)
    channels = [f"{CHANNEL_PREFIX}{i:02d}" for i in range(args.channels)]
    per, extra = divmod(args.posts, args.channels)
    sizes = {name: per + (1 if i < extra else 0) for i, name in enumerate(channels)}
    if args.single:
        sizes[SINGLE] = args.single

    from tgsweep.demo.tme_server import world_to_json

    t0 = time.perf_counter()
    world = build_world(sizes)
    world_file = workdir / "world.json"
    world_file.write_text(world_to_json(world), encoding="utf-8")
    del world
    print(f"world: {args.posts} posts in {args.channels} channels + {args.single} in {SINGLE}, "
          f"{len(BOTS)} bots; built in {time.perf_counter() - t0:.1f} s ({world_file.stat().st_size >> 20} MiB JSON)")

    server = None
    try:
        t0 = time.perf_counter()
        server = Server(world_file)
        print(f"server: {server.url} (subprocess {server.proc.pid}), up in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        pages = warm(server.url, list(sizes))
        print(f"warm-up: {pages} pages rendered and cached by the server in {time.perf_counter() - t0:.1f} s")
        print(f"concurrent_requests = {args.concurrency}, request_delay = 0, media download off; "
              f"{os.cpu_count()} CPUs; best of {args.repeat} run(s)")
        print("posts/s and pages/s are over the collection (each process's own clock); 'process' is spawn to exit,")
        print("which for `tgsweep sweep` adds start-up and the later stages (enrich, detect)")
        print()

        baselines, references, sweeps, single_bases, singles, no_warcs = [], [], [], [], [], []
        for _ in range(args.repeat):  # interleaved, so that a slow spell of the machine hits all alike
            baselines.append(run_child("baseline scrapy-parse-only", "scrapy", server, channels, args.concurrency))
            print(baselines[-1].line(), flush=True)
            if not args.no_reference:
                references.append(run_child("reference http.client loop", "loop", server, channels,
                                            args.concurrency))
                print(references[-1].line(), flush=True)
            sweeps.append(run_sweep("tgsweep sweep", workdir / "multi", server, channels, args.concurrency,
                                    args.posts, args.profile))
            print(sweeps[-1].line(), flush=True)
            no_warcs.append(run_sweep("tgsweep sweep, WARC off", workdir / "nowarc", server, channels,
                                      args.concurrency, args.posts, warc=False))
            print(no_warcs[-1].line(), flush=True)
            if args.single:
                single_bases.append(run_child("single: scrapy-parse-only", "scrapy", server, [SINGLE],
                                              args.concurrency))
                print(single_bases[-1].line(), flush=True)
                singles.append(run_sweep("single: tgsweep sweep", workdir / "single", server, [SINGLE],
                                         args.concurrency, args.single))
                print(singles[-1].line(), flush=True)
    except RuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        if server:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    baseline, sweep = best(baselines), best(sweeps)
    if args.repeat > 1:
        print()
        for run in [baseline] + ([best(references)] if references else []) + [sweep] + \
                ([best(single_bases), best(singles)] if singles else []):
            print(run.line())
    print()
    cost = 1 / sweep.rate - 1 / baseline.rate
    print(f"store cost: sweep {sweep.rate:.0f} posts/s vs baseline {baseline.rate:.0f} posts/s "
          f"= {sweep.rate / baseline.rate:.0%} of the baseline rate; storing adds {cost * 1e6:.0f} us per post")
    no_warc = best(no_warcs)
    warc_ok = sweep.rate >= 0.9 * no_warc.rate
    print(f"{'PASS' if warc_ok else 'FAIL'}: WARC captures on: {sweep.rate:.0f} posts/s vs {no_warc.rate:.0f} with "
          f"[storage] warc = false = {sweep.rate / no_warc.rate:.0%} (required >= 90 %)")
    if singles:
        single, single_base = best(singles), best(single_bases)
        print(f"single channel: sweep {single.rate:.0f} posts/s vs baseline {single_base.rate:.0f} posts/s "
              "(pages of one channel are fetched one after another; informational)")
    if max(r.other_load for r in baselines + sweeps) > 0.15:
        print("WARNING: other processes used the CPU during the runs (OTHER LOAD above): the figures are low")
    rate_ok = sweep.rate >= args.min_rate
    rss_ok = sweep.rss_mb < args.max_rss_mb
    print(f"{'PASS' if rate_ok else 'FAIL'}: sweep stores {sweep.rate:.0f} posts/s (required >= {args.min_rate:g}); "
          f"{sweep.posts / sweep.wall:.0f} posts/s counting the whole `tgsweep sweep` process")
    print(f"{'PASS' if rss_ok else 'FAIL'}: sweep peak RSS {sweep.rss_mb:.0f} MB (required < {args.max_rss_mb:g})")
    return 0 if rate_ok and rss_ok and warc_ok else 1


if __name__ == "__main__":
    sys.exit(main())
