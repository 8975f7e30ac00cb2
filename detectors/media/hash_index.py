"""Near-duplicate search over PDQ hashes, and repost clusters.

`PdqIndex` is multi-index hashing (Norouzi et al.): the 256 bits are cut into 16 chunks of 16
bits and each chunk value has a bucket (a CSR table: `offsets` over 16 x 65,536 keys, `ids`,
built with one linear radix sort per chunk).
Two hashes within distance 31 differ in at most 31 bits over 16 chunks, so (pigeonhole) at
least one chunk differs in at most 1 bit: probing every chunk's own value and its 16 one-bit
neighbours (272 buckets) finds every hash within radius 31, and an exact popcount over the
candidates keeps only the true ones. Candidates are first checked on their first 128 bits
(a packed 16-byte copy: a random hash differs in ~64 of them, so almost all stop there),
then in full; de-duplication runs only on the few that are left. Results are identical to brute force for any radius up
to 31 (`MAX_RADIUS`); a larger radius falls back to the exact scan.

`clusters()` groups items into connected components (union-find) of the "within threshold"
relation over each item's lookup hashes (rotations, flips, trimmed and centre alternates)
against the others' hashes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

CHUNKS = 16
CHUNK_BITS = 16
MAX_RADIUS = 2 * CHUNKS - 1  # 31: pigeonhole with one-bit probes
MAX_UNRELIABLE = 8  # masked search: chunks with more untrusted bits are not probed (2^8 keys each)


def hex_to_words(hashes: Sequence[str]) -> np.ndarray:
    """Hex PDQ hashes -> (n, 4) uint64, most significant word first."""
    if not len(hashes):
        return np.zeros((0, 4), dtype=np.uint64)
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 4).astype(np.uint64)


def bytes_to_words(packed: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 packed bits (faiss layout) -> (n, 4) uint64."""
    return np.ascontiguousarray(packed).view(">u8").reshape(-1, 4).astype(np.uint64)


def _chunks(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 -> (n, 16) int64 chunk values (16 bits each)."""
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    parts = (words[:, :, None] >> shifts[None, None, :]) & np.uint64(0xFFFF)
    return parts.reshape(len(words), CHUNKS).astype(np.int64)


def distances(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance from one query (4,) to each of (n, 4) hashes."""
    bits = np.bitwise_count(words ^ query)
    d = bits[:, 0].astype(np.int32)
    d += bits[:, 1]
    d += bits[:, 2]
    d += bits[:, 3]
    return d


class PdqIndex:
    """Range search over PDQ hashes; exact (same answers as a full scan) up to radius 31."""

    def __init__(self, words: np.ndarray):
        self.words = np.ascontiguousarray(words, dtype=np.uint64)
        n = len(self.words)
        chunks = _chunks(self.words).astype(np.uint16)  # (n, 16)
        # one bucket table per chunk: a stable radix sort of 16-bit keys is linear and fast
        self.ids = np.empty(CHUNKS * n, dtype=np.int32)
        self.offsets = np.zeros((CHUNKS << CHUNK_BITS) + 1, dtype=np.int64)
        for c in range(CHUNKS):
            column = np.ascontiguousarray(chunks[:, c])
            self.ids[c * n:(c + 1) * n] = np.argsort(column, kind="stable")
            counts = np.bincount(column, minlength=1 << CHUNK_BITS)
            base = c << CHUNK_BITS
            self.offsets[base + 1:base + (1 << CHUNK_BITS) + 1] = c * n + np.cumsum(counts)
        del chunks
        self._rows = self.words.view(np.dtype((np.void, 32))).ravel()  # one 32-byte item per hash: fast take
        # the first 128 bits again, packed: a candidate more than `radius` away on them is out
        # (random hashes differ in ~64 of them), so most candidates cost a 16-byte read
        self._heads = np.ascontiguousarray(self.words[:, :2]).view(np.dtype((np.void, 16))).ravel()
        self.size = n

    @classmethod
    def from_hex(cls, hashes: Sequence[str]) -> "PdqIndex":
        return cls(hex_to_words(hashes))

    @property
    def nbytes(self) -> int:
        return self.words.nbytes + self._heads.nbytes + self.ids.nbytes + self.offsets.nbytes

    def _probe_keys(self, query: np.ndarray) -> np.ndarray:
        value = (int(query[0]) << 192) | (int(query[1]) << 128) | (int(query[2]) << 64) | int(query[3])
        chunks = np.array([(value >> (CHUNK_BITS * (CHUNKS - 1 - c))) & 0xFFFF for c in range(CHUNKS)],
                          dtype=np.int64)
        return ((chunks[:, None] ^ _PROBES[None, :]) + _BASES[:, None]).ravel()  # (16 * 17,)

    def _gather(self, query: np.ndarray) -> np.ndarray:
        """Ids in every probed bucket, with repeats (a near hash sits in several buckets)."""
        keys = self._probe_keys(query)
        starts, ends = self.offsets[keys], self.offsets[keys + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, dtype=np.int32)
        # every bucket's ids without a Python loop: ranges [start, end) back to back
        steps = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return self.ids[steps + np.arange(total)]

    def candidates(self, query: np.ndarray) -> np.ndarray:
        return np.unique(self._gather(query))

    def search(self, query: np.ndarray, radius: int = MAX_RADIUS) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) of every hash within `radius` of `query` ((4,) uint64), ids ascending."""
        if radius > MAX_RADIUS:
            return brute_force(self.words, query, radius)
        cand = self._gather(query)
        heads = np.take(self._heads, cand).view(np.uint64).reshape(-1, 2)
        near = np.bitwise_count(heads[:, 0] ^ query[0]).astype(np.int32)
        near += np.bitwise_count(heads[:, 1] ^ query[1])
        cand = cand[near <= radius]
        d = distances(np.take(self._rows, cand).view(np.uint64).reshape(-1, 4), query)
        keep = d <= radius
        ids, first = np.unique(cand[keep], return_index=True)  # only the few true ones are de-duplicated
        return ids, d[keep][first]

    def search_hex(self, query: str, radius: int = MAX_RADIUS) -> tuple[np.ndarray, np.ndarray]:
        return self.search(hex_to_words([query])[0], radius)

    def search_masked(self, bits: np.ndarray, masks: np.ndarray, max_share: float,
                      max_unreliable: int = MAX_UNRELIABLE) -> MaskedHits:
        """Hashes that agree with some query on all but `max_share` of the bits its mask trusts.

        `bits`, `masks`: (q, 32) packed queries and their reliability masks (detectors/media/crops.py).
        Probing: for every chunk with at most `max_unreliable` untrusted bits, every setting of
        those bits (a chunk with no trusted bit wrong is then hit exactly). A match is found when
        one probed chunk has none of its trusted bits wrong; benchmarks/bench_hash_index.py
        measures what this misses against a full scan. Best query per hash.
        """
        q_words, m_words = bytes_to_words(bits), bytes_to_words(masks)
        trusted = np.bitwise_count(m_words).sum(axis=1).astype(np.int32)
        keys, owner = _masked_probe_keys(_chunks(q_words), _chunks(m_words), trusted > 0, max_unreliable)
        starts, lengths = self.offsets[keys], self.offsets[keys + 1] - self.offsets[keys]
        total = int(lengths.sum())
        if not total:
            return MaskedHits.empty()
        steps = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        cand = self.ids[steps + np.arange(total)]
        query = np.repeat(owner, lengths)
        allowed = np.floor(max_share * trusted).astype(np.int32)
        heads = np.take(self._heads, cand).view(np.uint64).reshape(-1, 2)
        wrong = np.bitwise_count((heads ^ q_words[query, :2]) & m_words[query, :2]).sum(axis=1, dtype=np.int32)
        keep = wrong <= allowed[query]
        cand, query = cand[keep], query[keep]
        rows = np.take(self._rows, cand).view(np.uint64).reshape(-1, 4)
        wrong = np.bitwise_count((rows ^ q_words[query]) & m_words[query]).sum(axis=1, dtype=np.int32)
        keep = wrong <= allowed[query]
        cand, query, wrong = cand[keep], query[keep], wrong[keep]
        share = wrong / trusted[query]
        order = np.lexsort((share, cand))  # per hash, its best query first
        cand, query, wrong, share = cand[order], query[order], wrong[order], share[order]
        first = np.ones(len(cand), dtype=bool)
        first[1:] = cand[1:] != cand[:-1]
        return MaskedHits(cand[first], query[first], wrong[first], trusted[query[first]])


@dataclass(slots=True)
class MaskedHits:
    """One row per hash found: its id, the query that came closest, trusted bits wrong, bits trusted."""

    ids: np.ndarray
    query: np.ndarray
    wrong: np.ndarray
    trusted: np.ndarray

    @classmethod
    def empty(cls) -> "MaskedHits":
        z = np.zeros(0, dtype=np.int32)
        return cls(z, z, z, z)

    def distance(self) -> np.ndarray:
        """Trusted bits wrong, scaled to 256 bits (comparable with a plain PDQ distance)."""
        return np.rint(self.wrong * 256 / np.maximum(self.trusted, 1)).astype(np.int32)


def _subset_table(bits: int) -> np.ndarray:
    """(2^bits, bits) 0/1: every subset of `bits` positions."""
    return ((np.arange(1 << bits)[:, None] >> np.arange(bits)[None, :]) & 1).astype(np.int64)


_SUBSETS = [_subset_table(u) for u in range(17)]


def _masked_probe_keys(values: np.ndarray, masks: np.ndarray, usable: np.ndarray,
                       max_unreliable: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket keys for every chunk with few untrusted bits, every setting of them; and each key's query."""
    untrusted = (~masks) & 0xFFFF  # (q, 16) chunk masks of the bits not trusted
    counts = np.bitwise_count(untrusted.astype(np.uint16)).astype(np.int64)
    keys, owners = [], []
    positions = (1 << np.arange(CHUNK_BITS, dtype=np.int64))
    for u in range(max_unreliable + 1):
        q, c = np.nonzero((counts == u) & usable[:, None])
        if not len(q):
            continue
        flags = (untrusted[q, c][:, None] & positions[None, :]) != 0  # (k, 16), u set per row
        where = np.nonzero(flags)[1].reshape(len(q), u)
        settings = _SUBSETS[u] @ (1 << where).T  # (2^u, k): the untrusted bits' values to try
        base = (values[q, c] & ~untrusted[q, c] & 0xFFFF) + (c << CHUNK_BITS)
        keys.append((base[None, :] | settings).T.ravel())
        owners.append(np.repeat(q, 1 << u))
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(keys), np.concatenate(owners)


_PROBES = np.concatenate(([0], 1 << np.arange(CHUNK_BITS))).astype(np.int64)  # the value and its 1-bit flips
_BASES = np.arange(CHUNKS, dtype=np.int64) << CHUNK_BITS


def brute_force(words: np.ndarray, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    d = distances(words, query)
    ids = np.nonzero(d <= radius)[0]
    return ids.astype(np.int32), d[ids]


# -- repost clusters -------------------------------------------------------------------------------

class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(slots=True)
class Link:
    a: int
    b: int
    distance: int


def _links(primary: Sequence[Sequence[str]],
           search: Callable[[PdqIndex, int], Iterable[tuple[np.ndarray, np.ndarray]]]) -> list[Link]:
    """Pairs (a < b) at their smallest distance: `search(index, item)` gives (ids, distances) of the
    hashes item's queries found in one index over every item's `primary` hashes."""
    owners = [item for item, own in enumerate(primary) for _ in own]
    if not owners:
        return []
    index = PdqIndex.from_hex([h for own in primary for h in own])
    owner = np.asarray(owners, dtype=np.int64)
    best: dict[tuple[int, int], int] = {}
    for item in range(len(primary)):
        for ids, d in search(index, item):
            for other, dist in zip(owner[ids].tolist(), d.tolist()):
                if other != item:
                    key = (min(item, other), max(item, other))
                    best[key] = min(dist, best.get(key, 1 << 30))
    return [Link(a, b, d) for (a, b), d in sorted(best.items())]


def near_duplicate_links(primary: Sequence[Sequence[str]], lookup: Sequence[Sequence[str]],
                         radius: int) -> list[Link]:
    """Pairs of items (a < b) where a lookup hash of one is within `radius` of a hash of the other.

    `primary[i]` are the hashes item i is found by (whole picture and alternates, usable
    quality only); `lookup[i]` the hashes it searches with (adds rotations and flips).
    """
    return _links(primary, lambda index, item: (  # a low-quality alternate repeats the whole hash: ask once
        index.search_hex(q, radius) for q in dict.fromkeys(lookup[item])))


def crop_candidates(primary: Sequence[Sequence[str]], crops: Sequence[bytes | None], max_share: float) -> list[Link]:
    """Pairs (a < b) where a crop hypothesis of one is within `max_share` of a hash of the other, on the bits
    it trusts (detectors/media/crops.py): one may be a crop of the other. Distance scaled to 256 bits."""
    from detectors.media.crops import CropHashes

    def search(index: PdqIndex, item: int) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        blob = crops[item]
        if blob:
            hypotheses = CropHashes.unpack(blob)
            hits = index.search_masked(hypotheses.bits, hypotheses.masks, max_share)
            yield hits.ids, hits.distance()

    return _links(primary, search)


def clusters(count: int, links: Iterable[Link]) -> list[int]:
    """Component root (the smallest item index in it) for each of `count` items."""
    uf = UnionFind(count)
    for link in links:
        uf.union(link.a, link.b)
    return [uf.find(i) for i in range(count)]
