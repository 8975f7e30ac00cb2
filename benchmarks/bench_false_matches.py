"""False matches of the bank lookup, crop search included, on unrelated realistic pictures.

The list (as a list made elsewhere: the pdqhash PDQ of each picture) holds pictures made from the
24 Kodak photographs: each whole and mirrored, its 2x2 and 3x3 tiles and random crops of 20-80 %.
The queries are pictures unrelated to any of them: photographs shipped with scikit-image and
scikit-learn with their tiles, mirrors and random crops; screenshots rendered from text (chat
bubbles, captions, documents); flat-background pictures (gradients, shapes, soft noise); and the
faces of scikit-image's LFW subset, enlarged. Each query is fingerprinted as a sweep does and
matched with `BankMatcher`; every match is false. Printed per tier (automatic: near-certain or
match; review: weak lead), with the number of pairs, the closest distance, and the rate
extrapolated to one picture against a 10-million-hash list:

- observed: false pairs / pairs; with none, the 95 % upper bound 3 / pairs ("rule of three");
- tail fit: the share of pairs at or under each distance, fitted as an exponential tail on the
  closest 0.1 % of pairs and carried to the tier threshold (a model, not a measurement).

    python benchmarks/bench_false_matches.py [--small] [--save FILE.npz]      # needs the `bench` extra
"""
from __future__ import annotations

import io
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

from detectors.media.banks import BankMatcher, MatchSettings  # noqa: E402
from detectors.media.crops import CropHashes  # noqa: E402
from detectors.media.fingerprints import fingerprint, reference_pdq  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "images"
LIST_SIZE = 10_000_000
AUTO = ("near-certain", "match")
WORDS = ["deal", "tonight", "link", "bio", "free", "the", "channel", "meet", "new", "photos", "lol", "ok",
         "school", "class", "group", "when", "you", "see", "it", "admin", "join", "rules", "post", "here"]


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "PNG")
    return out.getvalue()


def pieces(img: Image.Image, rng: random.Random, crops: int) -> list[Image.Image]:
    """The picture, mirrored, its 2x2 and 3x3 tiles, and `crops` random crops of 20-80 % per side."""
    w, h = img.size
    out = [img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    for n in (2, 3):
        out += [img.crop((w * i // n, h * j // n, w * (i + 1) // n, h * (j + 1) // n)) for i in range(n) for j in range(n)]
    for _ in range(crops):
        cw, ch = int(w * rng.uniform(0.2, 0.8)), int(h * rng.uniform(0.2, 0.8))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        out.append(img.crop((x, y, x + cw, y + ch)))
    return [p for p in out if min(p.size) >= 32]


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def screenshot(rng: random.Random) -> Image.Image:
    """A chat, caption or document screenshot rendered from text."""
    w, h = rng.choice([(540, 960), (720, 1280), (1080, 720), (800, 600)])
    dark = rng.random() < 0.4
    img = Image.new("RGB", (w, h), (24, 28, 34) if dark else (245, 245, 245))
    draw = ImageDraw.Draw(img)
    y = rng.randint(10, 60)
    while y < h - 40:
        size = rng.choice([16, 20, 24, 28])
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
        x = rng.choice([12, w // 3]) if rng.random() < 0.5 else 12
        bubble = rng.random() < 0.6
        tw = int(draw.textlength(line, font=font(size)))
        if bubble:
            colour = (43, 82, 120) if dark else rng.choice([(220, 248, 198), (255, 255, 255), (200, 220, 255)])
            draw.rounded_rectangle((x - 8, y - 6, min(w - 4, x + tw + 8), y + size + 8), 10, fill=colour)
        draw.text((x, y), line, fill=(230, 230, 230) if dark else (20, 20, 20), font=font(size))
        y += size + rng.randint(14, 40)
    return img


def flat(rng: random.Random) -> Image.Image:
    """A flat or gradient background with a few shapes and soft noise (the low-detail pictures)."""
    w, h = rng.choice([(512, 512), (640, 480), (480, 640), (800, 450)])
    a = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float64)
    b = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float64)
    t = np.linspace(0, 1, h if rng.random() < 0.5 else w)
    grad = a[None, :] * (1 - t[:, None]) + b[None, :] * t[:, None]
    arr = np.repeat(grad[:, None, :], w, axis=1) if len(t) == h else np.repeat(grad[None, :, :], h, axis=0)
    arr += np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, rng.choice([0.5, 2, 6]), arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(0, 4)):
        x, y = rng.randint(0, w), rng.randint(0, h)
        r = rng.randint(10, min(w, h) // 3)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(rng.choice([0, 1, 3])))


def unrelated(rng: random.Random, small: bool) -> dict[str, list[Image.Image]]:
    import skimage.data as data
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(getattr(data, n)()).convert("RGB") for n in
              ("astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
               "retina", "moon", "coins", "clock", "brick", "grass", "gravel", "page", "text", "horse")]
    photos += [Image.fromarray(a) for a in load_sample_images().images]
    faces = data.lfw_subset()
    k = 4 if small else 1
    return {
        "photographs and their pieces": [p for img in photos for p in pieces(img, rng, 60 // k)],
        "text screenshots": [screenshot(rng) for _ in range(600 // k)],
        "flat backgrounds": [flat(rng) for _ in range(400 // k)],
        "faces (LFW subset, enlarged)": [Image.fromarray((f * 255).astype(np.uint8)).convert("RGB").resize(
            (200, 200), Image.Resampling.BICUBIC) for f in faces[: 200 // k]],
    }


def pair_distances(bank_words: np.ndarray, plain: str | None, crops: bytes | None, lookup: list[str]) -> np.ndarray:
    """For one query, its best distance to every list entry: plain (all lookup hashes) or crop (trusted bits)."""
    best = np.full(len(bank_words), 256, dtype=np.int32)
    if lookup:
        q = np.frombuffer(bytes.fromhex("".join(lookup)), dtype=">u8").reshape(-1, 4).astype(np.uint64)
        for row in q:
            best = np.minimum(best, np.bitwise_count(bank_words ^ row).sum(axis=1, dtype=np.int32))
    if crops:
        c = CropHashes.unpack(crops)
        bits = c.bits.view(">u8").reshape(-1, 4).astype(np.uint64)
        masks = c.masks.view(">u8").reshape(-1, 4).astype(np.uint64)
        trusted = np.bitwise_count(masks).sum(axis=1)
        for b, m, t in zip(bits, masks, trusted):
            if t:
                wrong = np.bitwise_count((bank_words ^ b) & m).sum(axis=1, dtype=np.int32)
                best = np.minimum(best, np.rint(wrong * 256 / t).astype(np.int32))
    return best


def tail_fit(distances: np.ndarray, threshold: int) -> float:
    """Share of pairs at or under `threshold`, from an exponential fit to the closest 0.1 % of pairs."""
    d = np.sort(distances)
    n = len(d)
    top = d[: max(20, n // 1000)]
    xs = np.unique(top)
    shares = np.array([(d <= x).sum() / n for x in xs])
    if len(xs) < 3:
        return float("nan")
    slope, intercept = np.polyfit(xs, np.log(shares), 1)
    return float(math.exp(intercept + slope * threshold))


def main() -> int:
    small = "--small" in sys.argv
    rng = random.Random(20261203)
    kodak = [Image.open(f).convert("RGB") for f in sorted(IMAGES.glob("kodim*.png"))]
    t0 = time.perf_counter()
    listed = [p for img in kodak for p in pieces(img, rng, 40 if not small else 10)]
    entries = [("list", "pdq", reference_pdq(png(p))[0], f"kodak piece {i}") for i, p in enumerate(listed)]
    bank_words = np.frombuffer(bytes.fromhex("".join(e[2] for e in entries)), dtype=">u8").reshape(-1, 4).astype(np.uint64)
    settings = MatchSettings()
    matcher = BankMatcher(entries, settings)
    print(f"list: {len(entries)} PDQ hashes of Kodak pictures and pieces ({time.perf_counter() - t0:.0f} s)")
    groups = unrelated(rng, small)
    print(f"{'queries':<30} {'n':>5} {'gated':>6} {'pairs':>10} {'auto':>5} {'review':>7} {'closest plain':>14} "
          f"{'closest crop':>13}")
    all_plain, all_crop = [], []
    total_auto = total_review = pairs = 0
    for name, pictures in groups.items():
        auto = review = gated = 0
        closest_plain = closest_crop = 256
        for img in pictures:
            fp = fingerprint(jpeg(img))
            if fp.error or not fp.pdq:
                continue
            found = matcher.match(fp)
            auto += sum(m.tier in AUTO for m in found)
            review += sum(m.tier not in AUTO for m in found)
            usable = (fp.pdq_quality or 0) >= settings.min_pdq_quality
            searched = usable and (fp.pdq_quality or 0) >= settings.crop_min_quality and fp.pdq_crops
            gated += not searched
            plain = pair_distances(bank_words, None, None, fp.pdq_lookup if usable else [])
            crop = pair_distances(bank_words, None, fp.pdq_crops if searched else None, [])
            if usable:
                all_plain.append(plain)
                closest_plain = min(closest_plain, int(plain.min()))
            if searched:
                all_crop.append(crop)
                closest_crop = min(closest_crop, int(crop.min()))
        n = len(pictures)
        pairs += n * len(entries)
        total_auto += auto
        total_review += review
        print(f"{name:<30} {n:>5} {gated:>6} {n * len(entries):>10,} {auto:>5} {review:>7} {closest_plain:>14} "
              f"{closest_crop:>13}")
    plain_d = np.concatenate(all_plain) if all_plain else np.zeros(0)
    crop_d = np.concatenate(all_crop) if all_crop else np.zeros(0)
    if "--save" in sys.argv:  # every pair's distance, to study thresholds without re-running
        np.savez_compressed(sys.argv[sys.argv.index("--save") + 1], plain=plain_d, crop=crop_d)
    print(f"pairs: {pairs:,}; false matches: automatic {total_auto}, review {total_review} "
          f"(gated: quality under {settings.crop_min_quality}, never searched as a crop)")
    print(f"\nextrapolated to one picture against a {LIST_SIZE:,}-hash list (expected false matches):")
    for label, d, tiers in (("plain PDQ + rotations/alternates", plain_d, (("near-certain", settings.pdq_near_certain),
                                                                          ("match", settings.pdq_match),
                                                                          ("weak lead", settings.pdq_threshold))),
                            ("crop hypotheses (trusted bits)", crop_d, (("match", settings.crop_match),
                                                                        ("weak lead", settings.crop_review)))):
        if not len(d):
            continue
        for tier_name, threshold in tiers:
            observed = int((d <= threshold).sum())
            rate = observed / len(d) if observed else 3 / len(d)
            fit = tail_fit(d, threshold)
            print(f"  {label:<34} {tier_name:<12} <= {threshold:>2}: {observed} of {len(d):,} pairs; "
                  f"{'observed' if observed else 'upper bound'} {rate * LIST_SIZE:.3g}, tail fit {fit * LIST_SIZE:.3g}")
    return 0 if total_auto == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
