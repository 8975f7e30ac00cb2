"""Evidence bundle of a large channel: time and memory, against `export messages` of the same channel.

Builds a store through the Store's own ingest path: one channel of `--posts` text posts in pages
of 20 (each page a ~30 KB raw capture with its custody entry), every 50th post with a picture of
`--media-kb` KB kept in media_dir. Then, in this process, one after another:

- `baseline export messages`: graph.exports.export_messages of the channel to a JSONL file (what
  any bundle must at least do: read and serialise every post);
- `tgsweep evidence export`: gather_evidence + write_bundle (captures from the database, media
  files streamed from disk into a deterministic zip, manifest, summary), then verify_bundle.

Prints seconds, posts/s, MB/s, the bundle's size, the ratio to the baseline, and the growth of
peak RSS during each step. Requirement checked: peak RSS grows by less than 3x the captures'
bytes + 100 MB whatever the media volume (media are streamed, not held), and the bundle verifies.
The machine may be shared: figures are noisy.

    python benchmarks/bench_evidence.py [--posts 20000] [--media-kb 512]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.media import write_media  # noqa: E402
from crawler.paging import Cursor  # noqa: E402
from store.records import MediaItem, Post  # noqa: E402
from store.records import Capture, StoredMedia
from store.sqlite import Store  # noqa: E402
from graph.evidence.bundle import verify_bundle, write_bundle  # noqa: E402
from graph.evidence.gather import gather_evidence  # noqa: E402
from graph.exports import export_messages  # noqa: E402
from tgsweep.config import parse_config  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fill(config, posts: int, media_kb: int) -> tuple[int, int]:
    store = await Store.open(config.storage.database)
    capture_bytes = media_bytes = 0
    try:
        for start in range(1, posts + 1, 20):
            page = [Post("bigchan", i, f"2026-01-01T00:{i % 60:02d}:00+00:00", f"post {i} about nothing",
                         media=[MediaItem("photo", url=f"http://127.0.0.1:9/file/{i}.jpg")] if i % 50 == 0 else [])
                    for i in range(start, min(start + 20, posts + 1))]
            html = (f"<html><!-- page {start} -->" + "x" * 30_000 + "</html>").encode()
            capture_bytes += len(html)
            await store.ingest_page(1, "bigchan", None, page, Capture("channel_page", f"http://x/s/bigchan?{start}",
                                                                        html), Cursor(page[-1].id), True)
            for p in page:
                if p.media:
                    data = os.urandom(media_kb * 1024)
                    digest = hashlib.sha256(data).hexdigest()
                    path = write_media(config.storage.media_dir, digest, data)
                    media_bytes += len(data)
                    await store.store_media(1, "bigchan", p.id, 0, p.media[0].url, StoredMedia(
                        digest, hashlib.md5(data).hexdigest(), len(data), "image/jpeg", 1, 1, path), None)
    finally:
        await store.close()
    return capture_bytes, media_bytes


async def main(posts: int, media_kb: int) -> int:
    folder = Path(tempfile.mkdtemp(prefix="tgsweep-bench-evidence-"))
    text = '[storage]\ndatabase = "db.sqlite"\nmedia_dir = "media"\n'
    (folder / "config.toml").write_text(text)
    config = parse_config(text, folder / "config.toml")
    t = time.perf_counter()
    capture_bytes, media_bytes = await fill(config, posts, media_kb)
    print(f"store: {posts} posts, {capture_bytes / 1e6:.1f} MB captures, {media_bytes / 1e6:.1f} MB media "
          f"(filled in {time.perf_counter() - t:.1f} s) in {folder}")

    store = await Store.open(config.storage.database)
    try:
        before = peak_mb()
        t = time.perf_counter()
        n = 0
        with (folder / "messages.jsonl").open("w") as handle:
            async for message in export_messages(store, ["bigchan"]):
                handle.write(json.dumps(message, ensure_ascii=False) + "\n")
                n += 1
        base = time.perf_counter() - t
        base_rss = peak_mb() - before
        print(f"baseline export messages   {n} posts in {base:.2f} s: {n / base:,.0f} posts/s, "
              f"peak RSS +{base_rss:.0f} MB")

        before = peak_mb()
        t = time.perf_counter()
        evidence = await gather_evidence(store, config, "channel:bigchan")
        digest = write_bundle(evidence, folder / "bundle.zip")
        took = time.perf_counter() - t
        grew = peak_mb() - before
    finally:
        await store.close()
    size = (folder / "bundle.zip").stat().st_size
    print(f"tgsweep evidence export    {len(evidence.posts)} posts in {took:.2f} s: {len(evidence.posts) / took:,.0f} "
          f"posts/s ({took / base:.1f}x the baseline), bundle {size / 1e6:.1f} MB sha256 {digest[:16]}, "
          f"peak RSS +{grew:.0f} MB")
    t = time.perf_counter()
    problems = verify_bundle(folder / "bundle.zip")
    print(f"evidence verify            {time.perf_counter() - t:.2f} s, {len(problems)} problems")
    limit_mb = 3 * capture_bytes / 1e6 + 100
    ok = grew < limit_mb and not problems
    print(f"bundle throughput          {(capture_bytes + media_bytes) / 1e6 / took:.0f} MB/s of captures and media")
    print(("OK" if ok else "NOT MET") + f": RSS growth {grew:.0f} MB < {limit_mb:.0f} MB "
          f"(media {media_bytes / 1e6:.0f} MB streamed), bundle verified")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--media-kb", type=int, default=512)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.posts, args.media_kb)))
