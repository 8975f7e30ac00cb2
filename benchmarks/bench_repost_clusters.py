"""Repost clusters that survive crops: same-source pairs linked, and false pairs, with and without the crop links.

The 24 Kodak photographs and, for each, re-posts cut by the crop transforms of
bench_fingerprint_robustness.py (2-10 % on every side, 5-15 % of one side, 16:9 and 4:3 centre
crops, crop + JPEG, crop + resize, crop + caption bar), all fingerprinted as a sweep does. Links
as `tgsweep enrich` builds them: PDQ within 31 (with rotations and alternates: the baseline, the
clusters as they were), then crop candidates (`crop_candidates`) confirmed by keypoints on both
pictures (`geometry.confirm`). Counted over every pair of pictures: same-source pairs joined in
one cluster (recall) and different-source pairs joined (false pairs).

    python benchmarks/bench_repost_clusters.py [--photos 24]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from bench_fingerprint_robustness import IMAGES, TUNED, jpeg  # noqa: E402
from detectors.media.banks import MatchSettings  # noqa: E402
from detectors.media.fingerprints import fingerprint  # noqa: E402
from detectors.media.geometry import confirm  # noqa: E402
from detectors.media.hash_index import clusters, crop_candidates, near_duplicate_links  # noqa: E402


def pairs_joined(roots: list[int], source: list[int]) -> tuple[int, int, int, int]:
    """(same-source pairs joined, same-source pairs, different-source pairs joined, different pairs)."""
    same = same_total = false = different = 0
    for i in range(len(roots)):
        for j in range(i + 1, len(roots)):
            if source[i] == source[j]:
                same_total += 1
                same += roots[i] == roots[j]
            else:
                different += 1
                false += roots[i] == roots[j]
    return same, same_total, false, different


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=24)
    args = parser.parse_args()
    settings = MatchSettings()
    crops = {name: make for name, make in TUNED.items() if "crop" in name}
    data, source = [], []
    for k, f in enumerate(sorted(IMAGES.glob("kodim*.png"))[: args.photos]):
        img = Image.open(f).convert("RGB")
        data.append(jpeg(img))
        source.append(k)
        for make in crops.values():
            data.append(make(img, k))
            source.append(k)
    fps = [fingerprint(d) for d in data]
    primary = [[fp.pdq, *fp.pdq_alt] if fp.usable_pdq else [] for fp in fps]
    lookup = [fp.pdq_lookup if fp.usable_pdq else [] for fp in fps]
    t = time.perf_counter()
    plain = near_duplicate_links(primary, lookup, settings.pdq_threshold)
    searched = [fp.pdq_crops if (fp.pdq_quality or 0) >= settings.crop_min_quality else None for fp in fps]
    targets = [p if s else [] for p, s in zip(primary, searched)]
    candidates = crop_candidates(targets, searched, settings.crop_review / 256)
    base_roots = clusters(len(fps), plain)
    confirmed, compared = [], 0
    for link in candidates:
        if base_roots[link.a] == base_roots[link.b]:
            continue
        compared += 1
        if confirm(data[link.a], data[link.b]).same:
            confirmed.append(link)
    elapsed = time.perf_counter() - t
    before = pairs_joined(base_roots, source)
    after = pairs_joined(clusters(len(fps), plain + confirmed), source)
    unconfirmed = pairs_joined(clusters(len(fps), plain + candidates), source)
    print(f"{len(fps)} pictures ({args.photos} photographs, {len(crops)} crops of each); {before[1]} same-source "
          f"pairs, {before[3]} different-source pairs")
    print(f"{'links':<42} {'same-source joined':>19} {'false pairs':>12}")
    for label, (same, total, false, _) in (("PDQ within 31 (clusters as they were)", before),
                                           ("+ crop candidates, confirmed by keypoints", after),
                                           ("+ crop candidates, unconfirmed", unconfirmed)):
        print(f"{label:<42} {same / total:>19.3f} {false:>12}")
    print(f"{len(candidates)} crop candidates, {compared} compared on their pixels, {len(confirmed)} confirmed "
          f"({elapsed:.1f} s for search and comparisons)")
    return 0 if after[2] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
