"""PDQ range search, radius 31: our multi-index hashing against faiss IndexBinaryFlat (brute force).

Random 256-bit hashes plus planted near-duplicates at distances 0..40. Two query sets: hashes
from the set with planted neighbours (a repost), and fresh random hashes with no neighbour (the
common case: new material). Answers are checked against an exact scan and against faiss.
Reports build time, memory and time per query, one thread, against IndexBinaryFlat in the same run.

    python benchmarks/bench_hash_index.py [--n 1000000] [--queries 200] [--faiss-multihash]
    python benchmarks/bench_hash_index.py --n 10000000 --queries 50
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from detectors.media.hash_index import PdqIndex, brute_force, bytes_to_words  # noqa: E402


def main() -> int:
    import faiss

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--radius", type=int, default=31)
    parser.add_argument("--faiss-multihash", action="store_true", help="also time faiss IndexBinaryMultiHash")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    packed = rng.integers(0, 256, size=(args.n, 32), dtype=np.uint8)
    queries = packed[rng.choice(args.n, args.queries, replace=False)].copy()
    for i, q in enumerate(queries):  # plant neighbours of the queries at distances 0..40
        for d in range(0, 41, 4):
            near = np.unpackbits(q).copy()
            near[rng.choice(256, d, replace=False)] ^= 1
            packed[(i * 11 + d) % args.n] = np.packbits(near)
    fresh = rng.integers(0, 256, size=(args.queries, 32), dtype=np.uint8)  # no planted neighbours
    words = bytes_to_words(packed)
    qwords, fwords = bytes_to_words(queries), bytes_to_words(fresh)

    t = time.perf_counter()
    index = PdqIndex(words)
    build = time.perf_counter() - t
    t = time.perf_counter()
    ours = [index.search(q, args.radius) for q in qwords]
    per_query = (time.perf_counter() - t) / len(qwords)
    t = time.perf_counter()
    ours_fresh = [index.search(q, args.radius) for q in fwords]
    per_fresh = (time.perf_counter() - t) / len(fwords)

    flat = faiss.IndexBinaryFlat(256)
    t = time.perf_counter()
    flat.add(packed)
    flat_build = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    for q in queries:
        flat.range_search(q[None, :], args.radius + 1)  # faiss keeps distances < radius
    flat_query = (time.perf_counter() - t) / len(queries)

    identical = True
    checked = min(50, len(qwords))
    for qs, got, qp in ((qwords, ours, queries), (fwords, ours_fresh, fresh)):
        for q, (ids, d) in zip(qs[:checked], got[:checked]):
            bids, bd = brute_force(words, q, args.radius)
            identical &= np.array_equal(ids, bids) and np.array_equal(d, bd)
        lims, _, labels = flat.range_search(qp[:checked], args.radius + 1)
        for i, (ids, _) in enumerate(got[:checked]):
            identical &= np.array_equal(np.sort(labels[lims[i]:lims[i + 1]]), ids)
    found = sum(len(ids) for ids, _ in ours)
    found_fresh = sum(len(ids) for ids, _ in ours_fresh)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"{args.n:,} PDQ hashes, radius {args.radius}, {len(qwords)} queries with neighbours ({found} results) "
          f"and {len(fwords)} without ({found_fresh} results), one thread")
    print(f"ours (multi-index hashing, 16x16 bits): build {build:.2f} s, memory {index.nbytes / 1e6:.0f} MB, "
          f"{per_query * 1e3:.3f} ms/query with neighbours, {per_fresh * 1e3:.3f} ms/query without")
    print(f"faiss IndexBinaryFlat:                  build {flat_build:.2f} s, memory {args.n * 32 / 1e6:.0f} MB, "
          f"{flat_query * 1e3:.3f} ms/query")
    print(f"peak memory of this process: {peak:.0f} MB")
    if args.faiss_multihash:
        mh = faiss.IndexBinaryMultiHash(256, 16, 16)
        mh.nflip = 1
        t = time.perf_counter()
        mh.add(packed)
        mh_build = time.perf_counter() - t
        t = time.perf_counter()
        for q in queries:
            mh.range_search(q[None, :], args.radius + 1)
        print(f"faiss IndexBinaryMultiHash(16x16, nflip 1): build {mh_build:.2f} s, "
              f"{(time.perf_counter() - t) / len(queries) * 1e3:.3f} ms/query")
    slowest = max(per_query, per_fresh)
    print(f"results identical to brute force and faiss: {identical}; speed-up over IndexBinaryFlat: "
          f"{flat_query / per_query:.1f}x with neighbours, {flat_query / per_fresh:.1f}x without (requirement 10x)")
    return 0 if identical and flat_query / slowest >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
