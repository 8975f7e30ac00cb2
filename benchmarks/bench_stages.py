"""Stage scaling: does a later stage stay linear in posts when a spam network posts one text in
2,000 of 20,000 channels? The automation stage was posts x channels there (a 20,000-channel sweep
ran it for more than 15 minutes); this times `detectors.automation.scores.score_all` at N and 2N posts,
against a named baseline in the same run: the previous code, which compared every LSH candidate
(every earlier copy of a spam text) and took a set difference of the whole cluster's channels
for every post.

    python benchmarks/bench_stages.py [--posts N]

Requirement: 2x the posts costs at most 2.2x the time.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.automation import scores as automation  # noqa: E402
from detectors.automation.scores import PostSample, Settings, score_all  # noqa: E402

CHANNELS = 20_000
SPAM_CHANNELS = 2_000
SPAM = "Join the best channel for daily giveaways and prizes, click the link and win today"


def corpus(posts: int, seed: int = 7) -> list[PostSample]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    words = [f"word{i}" for i in range(5000)]
    out = []
    for n in range(posts):
        channel = f"chan{n % CHANNELS:05d}"
        spam = n % CHANNELS < SPAM_CHANNELS and rng.random() < 0.5
        # each spam copy carries its own referral code, as spam does: thousands of near-duplicate forms
        text = f"{SPAM} ref{rng.randrange(10**6)}" if spam else " ".join(rng.choice(words) for _ in range(12))
        out.append(PostSample(channel, n // CHANNELS + 1, (start + timedelta(minutes=n)).isoformat(), text))
    return out


def baseline_duplicates(posts, forms, clusters, cluster_channels, min_text_posts):
    """The previous code: a set difference per post, so cost = posts x channels of their cluster."""
    own = [(p, clusters[forms[(p.channel, p.id)]]) for p in posts if (p.channel, p.id) in forms]
    if len(own) < min_text_posts:
        empty = (0.0, None, {"text_posts": len(own)})
        return {"duplicates": empty, "repeats": empty}
    others: set[str] = set()
    copied = 0
    for p, cluster in own:
        elsewhere = cluster_channels[cluster] - {p.channel}
        if elsewhere:
            copied += 1
            others |= elsewhere
    return {"duplicates": (0.0, None, {}), "repeats": (0.0, None, {})}


def baseline_clusters(forms, jaccard, num_perm=64):
    """The previous near-duplicate join: a Jaccard comparison with every LSH candidate."""
    import hashlib
    import zlib

    from datasketch import LeanMinHash, MinHash, MinHashLSH

    distinct = list(dict.fromkeys(f for f in forms if f))
    parent = list(range(len(distinct)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lsh = MinHashLSH(threshold=jaccard, num_perm=num_perm)
    lean = [LeanMinHash(m) for m in MinHash.bulk([automation._shingles(f) for f in distinct], num_perm=num_perm,
                                                   hashfunc=zlib.crc32)]
    for i, mh in enumerate(lean):
        for j in lsh.query(mh):
            if mh.jaccard(lean[j]) >= jaccard:
                parent[find(i)] = find(j)
        lsh.insert(i, mh)
    return {f: hashlib.blake2b(distinct[find(i)].encode(), digest_size=8).hexdigest() for i, f in enumerate(distinct)}


def timed(posts: list[PostSample]) -> float:
    started = time.process_time()
    score_all(posts, Settings(min_posts=2, min_text_posts=2))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    small, large = corpus(args.posts), corpus(2 * args.posts)
    ours = timed(small), timed(large)
    current = automation.duplicates, automation.duplicate_clusters
    automation.duplicates, automation.duplicate_clusters = baseline_duplicates, baseline_clusters
    try:
        base = timed(small), timed(large)
    finally:
        automation.duplicates, automation.duplicate_clusters = current
    print(f"{CHANNELS} channels, one spam text in {SPAM_CHANNELS}; CPU seconds of score_all")
    print(f"{'':28} {args.posts:>10,} posts {2 * args.posts:>10,} posts   ratio")
    print(f"{'ours (per cluster)':28} {ours[0]:>16.2f} {ours[1]:>16.2f}   {ours[1] / ours[0]:.2f}x")
    print(f"{'baseline (per post)':28} {base[0]:>16.2f} {base[1]:>16.2f}   {base[1] / base[0]:.2f}x")
    print(f"requirement 2x posts <= 2.2x time: {'met' if ours[1] / ours[0] <= 2.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
