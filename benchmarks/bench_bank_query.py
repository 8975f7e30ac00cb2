"""One 12 MP JPEG matched against a 1M-hash list on one core: the whole lookup, with and without crop search.

The list: 1,000,000 random PDQ hashes plus the originals of the queries (reference PDQ). Each
query is a 12 MP JPEG (a Kodak photograph enlarged to 4240x2832, then cut 6 % on every side)
fingerprinted as a sweep does (`fingerprint`: one draft decode, PDQ with rotations/flips and
alternates, pHash, crop hypotheses) and matched (`BankMatcher.match`). Baseline in the same run:
the same with `crop_matching = false` (the lookup as it was before the crop search). Also: how
many of the pairs an exhaustive scan of the trusted bits finds the probing search finds too.

    python benchmarks/bench_bank_query.py [--n 1000000] [--photos 6] [--repeat 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core, before numpy loads
    os.environ[_var] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from detectors.media.banks import BankMatcher, MatchSettings  # noqa: E402
from detectors.media.crops import CropHashes  # noqa: E402
from detectors.media.fingerprints import fingerprint, reference_pdq  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "images"
SIZE = (4240, 2832)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(IMAGES.glob("kodim*.png"))[: args.photos]
    rng = np.random.default_rng(7)
    random_hashes = [row.tobytes().hex() for row in rng.integers(0, 256, size=(args.n, 32), dtype=np.uint8)]
    entries = [("list", "pdq", h, "") for h in random_hashes]
    entries += [("list", "pdq", reference_pdq(f.read_bytes())[0], f.name) for f in files]
    t = time.perf_counter()
    with_crops = BankMatcher(entries, MatchSettings())
    without = BankMatcher(entries, MatchSettings(crop_matching=False))
    print(f"list: {len(entries):,} PDQ hashes; index built twice in {time.perf_counter() - t:.1f} s")
    queries = []
    for f in files:
        img = Image.open(f).convert("RGB")
        big = img.resize(SIZE if img.width > img.height else SIZE[::-1], Image.Resampling.BICUBIC)
        w, h = big.size
        out = io.BytesIO()
        big.crop((int(w * 0.06), int(h * 0.06), w - int(w * 0.06), h - int(h * 0.06))).save(out, "JPEG", quality=90)
        queries.append((f.name, out.getvalue()))
    timings: dict[str, list[float]] = {"fingerprint": [], "match, crop search off": [], "match, crop search on": []}
    found_on = found_off = 0
    for _ in range(args.repeat):
        for name, data in queries:
            t0 = time.perf_counter()
            fp = fingerprint(data)
            t1 = time.perf_counter()
            off = without.match(fp)
            t2 = time.perf_counter()
            on = with_crops.match(fp)
            t3 = time.perf_counter()
            timings["fingerprint"].append(t1 - t0)
            timings["match, crop search off"].append(t2 - t1)
            timings["match, crop search on"].append(t3 - t2)
            found_off += any(m.label == name for m in off)
            found_on += any(m.label == name and m.tier in ("near-certain", "match") for m in on)
    fp_ms = statistics.median(timings["fingerprint"]) * 1000
    for label, values in timings.items():
        print(f"{label:<24} median {statistics.median(values) * 1000:6.1f} ms   max {max(values) * 1000:6.1f} ms")
    off_ms = fp_ms + statistics.median(timings["match, crop search off"]) * 1000
    on_ms = fp_ms + statistics.median(timings["match, crop search on"]) * 1000
    runs = len(queries) * args.repeat
    print(f"whole lookup of one 12 MP JPEG (fingerprint + match), median: crop search off {off_ms:.1f} ms "
          f"(found {found_off}/{runs}), on {on_ms:.1f} ms (found automatically {found_on}/{runs}); goal < 100 ms")

    # the probing search against an exhaustive scan of the trusted bits, on the same queries
    words = with_crops.pdq_index.words  # type: ignore[union-attr]
    missed = exhaustive = 0
    for _, data in queries:
        crops = CropHashes.unpack(fingerprint(data).pdq_crops or b"")
        hits = with_crops.pdq_index.search_masked(crops.bits, crops.masks, 31 / 256)  # type: ignore[union-attr]
        bits = crops.bits.view(">u8").reshape(-1, 4).astype(np.uint64)
        masks = crops.masks.view(">u8").reshape(-1, 4).astype(np.uint64)
        truth: set[int] = set()
        for b, m in zip(bits, masks):
            trusted = int(np.bitwise_count(m).sum())
            if trusted:
                wrong = np.bitwise_count((words ^ b) & m).sum(axis=1)
                truth |= set(np.nonzero(wrong <= np.floor(31 / 256 * trusted))[0].tolist())
        exhaustive += len(truth)
        missed += len(truth - set(hits.ids.tolist()))
    print(f"probing search: found {exhaustive - missed} of the {exhaustive} hashes an exhaustive scan finds")
    return 0 if on_ms < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
