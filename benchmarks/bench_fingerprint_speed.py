"""Fingerprinting speed on 2 to 12 megapixel JPEGs, against the naive way, side by side.

Baseline: `imagehash.phash(Image.open(f))` plus `pdqhash.compute` on the fully decoded picture.
Ours: `detectors.media.fingerprints.fingerprint` (draft decoding, one decode, every hash including
the rotations/flips and the trimmed/centre alternates). One process each; images/s.

    python benchmarks/bench_fingerprint_speed.py [--repeat N]
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

from detectors.media.fingerprints import fingerprint  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
SIZES = {2: (1728, 1152), 5: (2736, 1824), 8: (3456, 2304), 12: (4240, 2832)}  # megapixels -> px (3:2)


def baseline(data: bytes) -> None:
    imagehash.phash(Image.open(io.BytesIO(data)))
    pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--photos", type=int, default=6)
    args = parser.parse_args()
    photos = [Image.open(f).convert("RGB") for f in sorted(IMAGES.glob("kodim*.png"))[: args.photos]]
    print(f"{'size':<8} {'ours img/s':>10} {'baseline img/s':>15} {'speed-up':>9}")
    worst = None
    for mp, size in SIZES.items():
        files = []
        for img in photos:
            out = io.BytesIO()
            img.resize(size if img.width > img.height else size[::-1], Image.Resampling.BICUBIC).save(out, "JPEG", quality=90)
            files.append(out.getvalue())
        fingerprint(files[0])  # warm up
        baseline(files[0])
        t = time.perf_counter()
        for _ in range(args.repeat):
            for data in files:
                fingerprint(data)
        ours = len(files) * args.repeat / (time.perf_counter() - t)
        t = time.perf_counter()
        for _ in range(args.repeat):
            for data in files:
                baseline(data)
        base = len(files) * args.repeat / (time.perf_counter() - t)
        worst = min(worst or 1e9, ours / base)
        print(f"{mp:>2} MP    {ours:>10.1f} {base:>15.1f} {ours / base:>8.1f}x")
    print(f"smallest speed-up {worst:.1f}x (requirement: 4x)")
    return 0 if worst >= 4 else 1


if __name__ == "__main__":
    sys.exit(main())
