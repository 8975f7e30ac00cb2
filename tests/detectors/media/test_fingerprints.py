"""Fingerprints: pdqhash's reference output, transformed Kodak photos, and files that cannot be hashed."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from detectors.media.fingerprints import (Fingerprints, bits_to_hex, content_box, fingerprint, hamming, hex_to_bits,
                                    lookup_names, reference_pdq)

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"  # tests/fixtures/images
KODAK = sorted(IMAGES.glob("kodim*.png"))


def encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def kodak(n: int) -> Image.Image:
    return Image.open(KODAK[n - 1]).convert("RGB")


def best(query: Fingerprints, ref: Fingerprints) -> int:
    """The matching rule of the index and the banks: query's lookup hashes against ref's hashes."""
    return min(hamming(q, r) for q in query.pdq_lookup for r in [ref.pdq, *ref.pdq_alt])


def test_hex_round_trip_and_pdqhash_reference_bits():
    img = kodak(3)
    bits, quality = pdqhash.compute(np.asarray(img))
    value = bits_to_hex(bits)
    assert len(value) == 64 and np.array_equal(hex_to_bits(value), bits)
    assert reference_pdq(encode(img, "PNG")) == (value, quality)


def test_small_picture_gives_exactly_pdqhash_and_imagehash():
    img = kodak(7).resize((384, 256))  # under the 512 px working size: no resampling of ours
    fp = fingerprint(encode(img, "PNG"))
    bits, quality = pdqhash.compute(np.asarray(img))
    assert fp.pdq == bits_to_hex(bits) and fp.pdq_quality == quality
    assert fp.phash == str(imagehash.phash(img))
    assert fp.pdq_lookup[0] == fp.pdq and len(fp.pdq_lookup) >= 8


@pytest.mark.parametrize("n", [1, 8, 13, 23])
def test_fast_path_stays_near_the_full_size_reference(n):
    data = encode(kodak(n), "JPEG", quality=95)
    fp = fingerprint(data)
    ref, quality = reference_pdq(data)
    assert hamming(fp.pdq, ref) <= 20, "draft decoding moved PDQ too far from pdqhash on the full decode"
    assert abs(fp.pdq_quality - quality) <= 10
    assert fp.sha256 == hashlib.sha256(data).hexdigest() and fp.md5 == hashlib.md5(data).hexdigest()


def transforms(img: Image.Image) -> dict[str, Image.Image]:
    w, h = img.size
    bar = Image.new("RGB", (w, h + int(h * 0.15)), "white")
    bar.paste(img, (0, int(h * 0.15)))
    ImageDraw.Draw(bar).text((10, 10), "CAPTION TEXT HERE", fill="black")
    box = Image.new("RGB", (w, int(h * 1.25)), "black")
    box.paste(img, (0, int(h * 0.125)))
    return {
        "jpeg q30": img, "half size": img.resize((w // 2, h // 2)), "darker": ImageEnhance.Brightness(img).enhance(0.7),
        "mirror": img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "rotate 90": img.transpose(Image.Transpose.ROTATE_90),
        "caption bar": bar, "letterbox": box, "crop 5%": img.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
    }


def test_a_transformed_kodak_photo_matches_its_original_and_none_of_the_other_23():
    originals = [fingerprint(encode(kodak(i + 1), "PNG")) for i in range(24)]
    for name, img in transforms(kodak(5)).items():
        query = fingerprint(encode(img, "JPEG", quality=30 if name == "jpeg q30" else 85))
        distances = [best(query, ref) for ref in originals]
        assert distances[4] <= 31, f"{name}: distance {distances[4]} to its original"
        others = [d for i, d in enumerate(distances) if i != 4]
        assert min(others) > 31, f"{name}: matched another photo at distance {min(others)}"


def test_letterbox_and_caption_bar_are_trimmed():
    img = kodak(2)
    w, h = img.size
    framed = Image.new("RGB", (w, h + 120), "black")
    framed.paste(img, (0, 60))
    top, bottom, left, right = content_box(np.asarray(framed.convert("L"), dtype=np.float64))
    assert abs(top - 60) <= 2 and abs(bottom - 60) <= 2 and left == right == 0
    plain = content_box(np.asarray(img.convert("L"), dtype=np.float64))
    assert plain[1:] == (0, 0, 0)


def caption_bar(img: Image.Image, share: float) -> Image.Image:
    """A meme-style white bar above the picture with lines of text reaching the bar's edge."""
    w, h = img.size
    bar = int(h * share)
    out = Image.new("RGB", (w, h + bar), "white")
    out.paste(img, (0, bar))
    draw = ImageDraw.Draw(out)
    for row in range(bar // 14):
        draw.text((8, 4 + row * 14), "when the caption says it all #meme " * 3, fill="black")
    return out


@pytest.mark.parametrize("n, share", [(4, 0.15), (10, 0.08), (20, 0.08), (19, 0.15), (24, 0.08)])
def test_caption_bars_are_cut_where_the_picture_starts(n, share):
    # portrait photos (dense text rows), a white sky under the bar (20, 24), textured grass at the bottom (19)
    img = kodak(n)
    query = fingerprint(encode(caption_bar(img, share), "JPEG", quality=90))
    original = fingerprint(encode(img, "PNG"))
    assert query.trimmed is not None and query.trimmed[1:] == (0, 0, 0), query.trimmed  # only the top is cut
    # the trimmed hash is the original's own, so a bank holding only the whole-picture PDQ matches
    assert min(hamming(q, original.pdq) for q in query.pdq_lookup) <= 16


def test_textured_or_uniform_content_is_not_mistaken_for_a_bar():
    # grass, sea, fences at the bottom or sides of the Kodak photos are never cut (a plain sky on top may be:
    # the same rows are cut from every copy, so that is harmless)
    for n in range(1, 25):
        top, bottom, left, right = content_box(np.asarray(kodak(n).convert("L"), dtype=np.float32))
        assert bottom == left == right == 0, (n, top, bottom, left, right)


def test_a_corner_logo_is_masked_on_both_sides():
    img = kodak(2)
    w, h = img.size
    logo = img.copy()
    draw = ImageDraw.Draw(logo)
    draw.rectangle((w - w // 8 - 8, h - h // 12 - 8, w - 8, h - 8), fill=(250, 250, 250))
    draw.text((w - w // 8 - 2, h - h // 12 - 2), "@channel", fill=(200, 0, 0))
    query, original = fingerprint(encode(logo, "JPEG", quality=85)), fingerprint(encode(img, "PNG"))
    assert hamming(query.pdq, original.pdq) > 31  # the whole-picture hash alone misses it
    assert best(query, original) <= 10
    names = lookup_names(len(query.pdq_lookup))
    assert names[-1] == "bottom-right corner masked" and len(names) == len(query.pdq_lookup)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("data, expected", [
    (b"", "empty file"),
    (b"this is a text file, not a picture\n" * 10, "not an image"),
    ("corrupt png", "corrupt image"),
    (_png_header_only(40000, 40000), "decompression bomb"),
    (_png_header_only(20000, 3000), "decompression bomb"),
])
def test_files_that_cannot_be_hashed_give_a_recorded_error(data, expected):
    if data == "corrupt png":  # a real PNG with its compressed pixels overwritten
        png = bytearray(encode(kodak(6).resize((200, 150)), "PNG"))
        png[len(png) // 2: len(png) // 2 + 200] = b"\x55" * 200
        data = bytes(png)
    fp = fingerprint(data, max_pixels=40_000_000)
    assert fp.error and expected in fp.error
    assert fp.pdq is None and fp.phash is None
    assert fp.sha256 == hashlib.sha256(data).hexdigest()  # the bytes are still identified


def test_truncated_jpeg_gives_a_recorded_error():
    data = encode(kodak(4), "JPEG", quality=90)
    fp = fingerprint(data[: len(data) // 2])
    assert fp.error and "truncated" in fp.error and fp.pdq is None


def test_flat_picture_has_low_quality_and_is_never_usable():
    fp = fingerprint(encode(Image.new("RGB", (300, 200), (120, 120, 120)), "PNG"))
    assert fp.error is None and fp.pdq_quality < 50 and not fp.usable_pdq
