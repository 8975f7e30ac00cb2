"""The PDQ index gives exactly the brute-force answers; the demo's reposted picture is one cluster."""
from __future__ import annotations

import json

import numpy as np
import pytest

from detectors.media.hash_index import PdqIndex, brute_force, clusters, near_duplicate_links


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 1 << 63, size=(n, 4), dtype=np.uint64) << np.uint64(1) | rng.integers(
        0, 2, size=(n, 4), dtype=np.uint64)


def near(rng: np.random.Generator, word: np.ndarray, bits: int) -> np.ndarray:
    out = word.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


@pytest.mark.parametrize("radius", [0, 10, 31, 40])
def test_range_search_is_identical_to_brute_force(radius):
    rng = np.random.default_rng(radius)
    words = random_words(rng, 20_000)
    # plant neighbours at every distance 0..45 of a few hashes, and clumps sharing chunks
    planted = [near(rng, words[i % 50], d) for i, d in enumerate(range(0, 46))]
    words = np.vstack([words, np.array(planted)])
    index = PdqIndex(words)
    for q in [words[i] for i in range(50)] + [near(rng, words[3], 29), random_words(rng, 1)[0]]:
        ids, d = index.search(q, radius)
        bids, bd = brute_force(words, q, radius)
        assert np.array_equal(ids, bids) and np.array_equal(d, bd)


def test_masked_search_finds_what_a_full_scan_finds_on_the_trusted_bits():
    rng = np.random.default_rng(5)
    bank = random_words(rng, 30_000)
    index = PdqIndex(bank)
    queries, masks = [], []
    for i in range(12):
        mask = np.full(4, np.uint64(0xFFFFFFFFFFFFFFFF))
        for b in rng.choice(256, size=96, replace=False):  # 96 bits untrusted: random on the bank side
            mask[b // 64] &= ~(np.uint64(1) << np.uint64(63 - b % 64))
        noisy = bank[i * 100] ^ (rng.integers(0, 1 << 63, size=4, dtype=np.uint64) & ~mask)
        queries.append(near(rng, noisy, 2 * i))  # 0..22 more bits flipped, some of them trusted
        masks.append(mask)
    as_bytes = lambda words: np.array(words).astype(">u8").view(np.uint8).reshape(-1, 32)  # noqa: E731
    hits = index.search_masked(as_bytes(queries), as_bytes(masks), 31 / 256)
    trusted = np.bitwise_count(np.array(masks)).sum(axis=1)
    for q, (query, mask) in enumerate(zip(queries, masks)):
        wrong = np.bitwise_count((bank ^ query) & mask).sum(axis=1)
        expected = set(np.nonzero(wrong <= np.floor(31 / 256 * trusted[q]))[0].tolist())
        got = {int(i) for i, owner in zip(hits.ids, hits.query) if owner == q}
        assert got <= expected and q * 100 in expected
        assert q * 100 in {int(i) for i in hits.ids}  # planted: found (by this query or a closer one)
    for i, q, w in zip(hits.ids, hits.query, hits.wrong):  # every hit is true, with its exact count
        assert w == np.bitwise_count((bank[i] ^ queries[q]) & masks[q]).sum()
        assert w <= np.floor(31 / 256 * trusted[q])


def test_clusters_are_connected_components():
    rng = np.random.default_rng(7)
    base = random_words(rng, 3)
    a2, a3 = near(rng, base[0], 20), None
    a3 = near(rng, a2, 20)  # 40 from a1 but linked through a2
    hexes = [w.astype(">u8").tobytes().hex() for w in (base[0], a2, a3, base[1], base[2])]
    links = near_duplicate_links([[h] for h in hexes], [[h] for h in hexes], 31)
    assert {(l.a, l.b) for l in links} == {(0, 1), (1, 2)}
    assert clusters(5, links) == [0, 0, 0, 3, 4]


def test_the_demo_reposted_picture_is_one_cluster_across_three_channels(tmp_path, sweeps):
    """The demo corpus posts one picture re-encoded (q92, q55, resized) in three channels."""
    import sqlite3
    import subprocess
    import sys

    from tgsweep.demo.corpus import SHARED_PICTURE

    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(tmp_path)], capture_output=True,
                         text=True, timeout=300, env=sweeps.env(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "repost clusters:" in run.stdout
    db = sqlite3.connect(tmp_path / "tgsweep.db")
    rows = db.execute(
        "SELECT i.channel, m.cluster FROM media_items i JOIN media m ON m.sha256 = i.sha256 WHERE "
        + " OR ".join("i.url LIKE ?" for _ in SHARED_PICTURE), [f"%{name}" for name in SHARED_PICTURE]).fetchall()
    assert len({c for c, _ in rows}) == 3 and len({cl for _, cl in rows}) == 1, rows
    (cluster,) = {cl for _, cl in rows}
    origin, channels, files = db.execute(
        "SELECT origin_channel, channels, files FROM media_clusters WHERE id=?", (cluster,)).fetchone()
    assert files == 3 and len(json.loads(channels)) == 3 and origin == json.loads(channels)[0]
    exported = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text().splitlines()]
    items = [m for msg in exported for m in msg["media"] if m.get("cluster") == cluster]
    # the demo's hash list holds this picture: every copy in the cluster carries the bank match
    assert len(items) >= 3 and all(m["pdq"] and [b["bank"] for b in m["bank_matches"]] == ["demo_case"]
                                   for m in items)
