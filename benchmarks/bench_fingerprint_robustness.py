"""Robustness of the fingerprints on the 24 Kodak photographs under common re-upload transforms.

For every photo and transform, the transformed copy (saved as JPEG) is fingerprinted and
compared with every original: recall = copies whose best PDQ distance to their own original
is within the threshold (31); a false match = a copy (or an original) within the threshold of
a *different* photo. This is the repost-cluster rule: the copy's lookup hashes against the
original's whole-picture hash and its alternates (trimmed, centre crop, corner masks).
A second column is the bank rule for lists made elsewhere, which hold only the whole-picture
hash: the copy's lookup hashes against the original's `pdq` alone. Baseline in the same run:
plain PDQ (pdqhash on the fully decoded picture, whole picture only, no rotations/flips, no
trimming, no alternates).

    python benchmarks/bench_fingerprint_robustness.py
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps  # noqa: E402

from detectors.media.fingerprints import fingerprint, hamming, reference_pdq  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
THRESHOLD = 31


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def caption(img: Image.Image, share: float) -> Image.Image:
    w, h = img.size
    bar = int(h * share)
    out = Image.new("RGB", (w, h + bar), "white")
    out.paste(img, (0, bar))
    draw = ImageDraw.Draw(out)
    for row in range(max(1, bar // 14)):
        draw.text((8, 4 + row * 14), "when the caption says it all, lol #meme " * 2, fill="black")
    return out


def logo(img: Image.Image) -> Image.Image:
    out = img.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((w - w // 8 - 8, h - h // 12 - 8, w - 8, h - 8), fill=(250, 250, 250))  # ~1 % of the area
    draw.text((w - w // 8 - 2, h - h // 12 - 2), "@channel", fill=(200, 0, 0))
    return out


def letterbox(img: Image.Image, share: float = 0.2) -> Image.Image:
    w, h = img.size
    pad = int(h * share / 2)
    out = Image.new("RGB", (w, h + 2 * pad), "black")
    out.paste(img, (0, pad))
    return out


def crop(img: Image.Image, share: float = 0.05) -> Image.Image:
    w, h = img.size
    return img.crop((int(w * share), int(h * share), w - int(w * share), h - int(h * share)))


def scale(img: Image.Image, f: float) -> Image.Image:
    return img.resize((int(img.width * f), int(img.height * f)), Image.Resampling.LANCZOS)


def thumb(img: Image.Image) -> Image.Image:
    out = img.copy()
    out.thumbnail((320, 320))
    return out


TRANSFORMS = {
    "jpeg q30": lambda i: jpeg(i, 30), "jpeg q50": lambda i: jpeg(i, 50), "jpeg q75": lambda i: jpeg(i, 75),
    "jpeg q95": lambda i: jpeg(i, 95),
    "resize 0.25x": lambda i: jpeg(scale(i, 0.25)), "resize 0.5x": lambda i: jpeg(scale(i, 0.5)),
    "resize 1.5x": lambda i: jpeg(scale(i, 1.5)), "resize 2x": lambda i: jpeg(scale(i, 2)),
    "thumbnail 320px": lambda i: jpeg(thumb(i)),
    "brightness +30%": lambda i: jpeg(ImageEnhance.Brightness(i).enhance(1.3)),
    "brightness -30%": lambda i: jpeg(ImageEnhance.Brightness(i).enhance(0.7)),
    "grayscale": lambda i: jpeg(ImageOps.grayscale(i).convert("RGB")),
    "blur r2": lambda i: jpeg(i.filter(ImageFilter.GaussianBlur(2))),
    "mirror": lambda i: jpeg(i.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    "rotate 90": lambda i: jpeg(i.transpose(Image.Transpose.ROTATE_90)),
    "rotate 180": lambda i: jpeg(i.transpose(Image.Transpose.ROTATE_180)),
    "rotate 270": lambda i: jpeg(i.transpose(Image.Transpose.ROTATE_270)),
    "caption bar 8%": lambda i: jpeg(caption(i, 0.08)), "caption bar 15%": lambda i: jpeg(caption(i, 0.15)),
    "corner logo": lambda i: jpeg(logo(i)),
    "letterbox 20%": lambda i: jpeg(letterbox(i)),
    "crop 5% per side": lambda i: jpeg(crop(i)),
}


def main() -> int:
    files = sorted(IMAGES.glob("kodim*.png"))
    assert len(files) == 24, f"expected the 24 Kodak photographs in {IMAGES}"
    originals = [Image.open(f).convert("RGB") for f in files]
    raw = [f.read_bytes() for f in files]
    ours = [fingerprint(b) for b in raw]
    ours_ref = [[fp.pdq, *fp.pdq_alt] for fp in ours]
    base = [reference_pdq(b)[0] for b in raw]

    def best(lookup: list[str], refs: list[str]) -> int:
        return min(hamming(q, r) for q in lookup for r in refs)

    false_ours = sum(best(ours[i].pdq_lookup, ours_ref[j]) <= THRESHOLD for i in range(24) for j in range(24) if i != j)
    false_base = sum(hamming(base[i], base[j]) <= THRESHOLD for i in range(24) for j in range(24) if i != j)
    false_whole = sum(best(ours[i].pdq_lookup, [ours[j].pdq]) <= THRESHOLD
                      for i in range(24) for j in range(24) if i != j)
    print(f"{'transform':<20} {'ours recall':>11} {'vs whole only':>13} {'plain PDQ':>10} {'ours worst d':>13}")
    total = hits = hits_base = hits_whole = 0
    stored = lookups = 0
    nearest_other = min(best(ours[i].pdq_lookup, ours_ref[j]) for i in range(24) for j in range(24) if i != j)
    fails = []
    for name, make in TRANSFORMS.items():
        got = got_base = got_whole = 0
        worst = 0
        for i, img in enumerate(originals):
            data = make(img)
            fp = fingerprint(data)
            d = [best(fp.pdq_lookup, ours_ref[j]) for j in range(24)]
            worst = max(worst, d[i])
            got += d[i] <= THRESHOLD
            false_ours += sum(x <= THRESHOLD for j, x in enumerate(d) if j != i)
            nearest_other = min(nearest_other, min(x for j, x in enumerate(d) if j != i))
            dw = [best(fp.pdq_lookup, [ours[j].pdq]) for j in range(24)]
            got_whole += dw[i] <= THRESHOLD
            false_whole += sum(x <= THRESHOLD for j, x in enumerate(dw) if j != i)
            stored += 1 + len(fp.pdq_alt)
            lookups += len(set(fp.pdq_lookup))
            b, _ = reference_pdq(data)
            db = [hamming(b, base[j]) for j in range(24)]
            got_base += db[i] <= THRESHOLD
            false_base += sum(x <= THRESHOLD for j, x in enumerate(db) if j != i)
        total += 24
        hits += got
        hits_base += got_base
        hits_whole += got_whole
        if got / 24 < 0.9:
            fails.append(name)
        print(f"{name:<20} {got / 24:>11.3f} {got_whole / 24:>13.3f} {got_base / 24:>10.3f} {worst:>13}")
    print(f"{'overall':<20} {hits / total:>11.3f} {hits_whole / total:>13.3f} {hits_base / total:>10.3f}")
    print(f"false matches among pairs of different photos: ours {false_ours}, vs whole only {false_whole}, "
          f"plain PDQ {false_base}; closest different photo: distance {nearest_other} (threshold {THRESHOLD})")
    print(f"PDQ hashes per picture: {stored / total:.1f} stored (whole + alternates), "
          f"{lookups / total:.1f} distinct lookup hashes")
    ok = hits / total >= 0.95 and not fails and false_ours == 0
    print("requirement (recall >= 0.95 overall, >= 0.9 per transform, no false match):",
          "met" if ok else f"NOT met ({', '.join(fails) or 'overall/false matches'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
