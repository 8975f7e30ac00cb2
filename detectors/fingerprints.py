"""Media fingerprints: SHA-256, MD5, PDQ (with quality and lookup variants) and pHash.

`fingerprint(data)` is pure: bytes in, a `Fingerprints` out, never an exception. A corrupt,
truncated, empty, non-image or decompression-bomb file gives a `Fingerprints` whose `error`
says why (the cryptographic hashes are still there).

One decode serves every hash: a JPEG is decoded in draft mode (libjpeg's DCT scaling) straight
to the smallest size of at least `WORK_SIZE` px, anything else is decoded and reduced once;
PDQ downsamples to 64x64 internally and pHash to 32x32, so nothing larger is ever needed.

Hashes kept for each picture:

- `pdq`: PDQ of the whole picture, as the reference implementation computes it (so hash lists
  made with other PDQ implementations match it); `pdq_quality` beside it.
- `phash`: imagehash's 64-bit pHash of the whole picture (16 hex digits).
- `pdq_alt`: extra PDQ hashes of the same picture under the *crop-tolerant second check*: the
  picture with flat borders, letterbox bars and caption bars trimmed (when there are any),
  and its centre 90 % (a re-upload cropped a few percent per side). A match may use them.
- `pdq_lookup`: the eight rotations/flips (PDQ's dihedral hashes) of the whole and trimmed
  picture, plus the alternates: what a lookup compares against other items' hashes, so a
  mirrored or rotated re-upload is still found.

A PDQ hash whose quality is under `MIN_QUALITY` (flat or almost featureless pictures) is kept
but never used for a PDQ match (`usable_pdq`).
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

WORK_SIZE = 512  # PDQ works on <= 512 px (it downsamples to 64x64 itself); pHash needs 32 px
MIN_QUALITY = 50
DEFAULT_MAX_PIXELS = 40_000_000
CENTRE_CROP = 0.05  # fraction cut from each side for the centre alternate

# Border trimming (measured on the Kodak set, benchmarks/bench_fingerprint_robustness.py):
_BORDER_TOLERANCE = 24  # grey levels from the edge colour that still count as border
_BAR_FRACTION = 0.5  # a line belongs to a (caption) bar when half of it or more is the edge colour
_FLAT_FRACTION = 0.97  # ... and a line is plain border (letterbox) at this share
_MAX_TRIM = 0.34  # never trim more than this fraction of a dimension per side
_MIN_TRIM = 0.02  # trims smaller than this are ignored (noise, a frame line)


@dataclass(slots=True)
class Fingerprints:
    sha256: str
    md5: str
    size: int
    pdq: str | None = None  # 64 hex digits
    pdq_quality: int | None = None  # 0..100
    phash: str | None = None  # 16 hex digits
    pdq_alt: list[str] = field(default_factory=list)  # trimmed, centre: extra hashes of the same picture
    pdq_lookup: list[str] = field(default_factory=list)  # dihedral variants + alternates, for lookups
    trimmed: tuple[int, int, int, int] | None = None  # (top, bottom, left, right) px of the work image cut
    width: int | None = None
    height: int | None = None
    error: str | None = None

    @property
    def usable_pdq(self) -> bool:
        return self.pdq is not None and (self.pdq_quality or 0) >= MIN_QUALITY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- hex helpers ---------------------------------------------------------------------------------

def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's bit vector (most significant bit first) to the usual 64-digit hex form."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bits(value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes of the same length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


# -- decoding ------------------------------------------------------------------------------------

class FingerprintError(Exception):
    pass


def decode_for_hashing(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS):
    """The picture as RGB, at most WORK_SIZE px on its long side; one decode. Returns (image, w, h)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise FingerprintError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise FingerprintError(f"decompression bomb: {width}x{height} pixels is over the limit of "
                                       f"{max_pixels}; not decoded")
            if img.format == "JPEG":
                img.draft("RGB", (WORK_SIZE, WORK_SIZE))  # DCT scaling: decodes at 1/2, 1/4 or 1/8 size
            img.load()
            if img.mode != "RGB":
                img = img.convert("RGB")
            if max(img.size) > WORK_SIZE:
                img.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
    except FingerprintError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FingerprintError(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise FingerprintError(f"not an image ({len(data)} bytes of an unknown format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct_error()) as exc:
        raise FingerprintError(f"corrupt image: {exc}") from None
    if min(img.size) < 5:
        raise FingerprintError(f"image too small to fingerprint ({img.size[0]}x{img.size[1]})")
    return img, width, height


def struct_error():
    import struct

    return struct.error


# -- border trimming -----------------------------------------------------------------------------

def content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): lines to cut on each side that are border, letterbox or caption bar.

    A side's edge colour is the median of its outermost line. Lines are cut from that edge
    while they are mostly (`_BAR_FRACTION`) that colour; the cut is kept only when the run
    ends at a line that is not (the content starts), and is at least `_MIN_TRIM` and at most
    `_MAX_TRIM` of the dimension. A plain border line (`_FLAT_FRACTION`) always counts.
    """
    h, w = gray.shape
    cuts = []
    for side in range(4):
        lines = {0: gray, 1: gray[::-1], 2: gray.T, 3: gray.T[::-1]}[side]
        n = lines.shape[0]
        limit = int(n * _MAX_TRIM)
        edge = float(np.median(lines[0]))
        share = (np.abs(lines[: limit + 1] - edge) <= _BORDER_TOLERANCE).mean(axis=1)
        run = 0
        needed = _BAR_FRACTION if side < 2 else _FLAT_FRACTION  # caption bars are above or below; side borders plain
        while run <= limit and share[run] >= needed:
            run += 1
        if run > limit:  # the whole picture is flat this way: not a border
            run = 0
        # a caption bar starts with a plain line (the bar's margin), else it is content
        if run and share[0] < _FLAT_FRACTION:
            run = 0
        cuts.append(run if run >= max(2, int(n * _MIN_TRIM)) else 0)
    top, bottom, left, right = cuts
    if top + bottom > h * 0.6 or left + right > w * 0.6:
        return (0, 0, 0, 0)
    return top, bottom, left, right


# -- hashing -------------------------------------------------------------------------------------

def _pdq(rgb: np.ndarray) -> tuple[str, int]:
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)


def _pdq_dihedral(rgb: np.ndarray) -> tuple[list[str], int]:
    import pdqhash

    variants, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [bits_to_hex(v) for v in variants], int(quality)


def _phash(img) -> str:
    import imagehash

    return str(imagehash.phash(img))


def fingerprint(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, variants: bool = True) -> Fingerprints:
    """Every hash of one picture's bytes; errors are recorded in `error`, never raised."""
    fp = Fingerprints(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))
    try:
        img, fp.width, fp.height = decode_for_hashing(data, max_pixels)
        rgb = np.asarray(img)
        fp.phash = _phash(img)
        if variants:
            whole, fp.pdq_quality = _pdq_dihedral(rgb)
            fp.pdq = whole[0]
        else:
            fp.pdq, fp.pdq_quality = _pdq(rgb)
            whole = [fp.pdq]
        if not variants:
            return fp
        lookup = list(whole)
        gray = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        top, bottom, left, right = content_box(gray)
        h, w = gray.shape
        if top or bottom or left or right:
            fp.trimmed = (top, bottom, left, right)
            inner = rgb[top:h - bottom, left:w - right]
            trimmed, quality = _pdq_dihedral(inner)
            if quality >= MIN_QUALITY:
                fp.pdq_alt.append(trimmed[0])
                lookup += trimmed
        dy, dx = round(h * CENTRE_CROP), round(w * CENTRE_CROP)
        centre, quality = _pdq(rgb[dy:h - dy, dx:w - dx])
        if quality >= MIN_QUALITY:
            fp.pdq_alt.append(centre)
            lookup.append(centre)
        fp.pdq_lookup = lookup
    except FingerprintError as exc:
        fp.error = str(exc)
    except MemoryError:
        fp.error = "decompression bomb: out of memory while decoding"
    except Exception as exc:  # noqa: BLE001 - a picture never stops a sweep; the reason is recorded
        fp.error = f"could not fingerprint: {type(exc).__name__}: {exc}"
    return fp


def fingerprint_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Fingerprints:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        fp = Fingerprints("", "", 0, error=f"could not read {path}: {exc.strerror or exc}")
        return fp
    return fingerprint(data, max_pixels)


def reference_pdq(data: bytes) -> tuple[str, int]:
    """PDQ as pdqhash computes it on the fully decoded picture (slow; for tests and benchmarks)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return _pdq(np.asarray(img.convert("RGB")))


DIHEDRAL = ["whole", "rotated 90", "rotated 180", "rotated 270", "flipped vertically", "flipped horizontally",
            "transposed", "transversed"]


def lookup_names(count: int) -> list[str]:
    """What each of `count` lookup hashes is, in the order fingerprint() makes them."""
    names = list(DIHEDRAL)
    if count >= 16:
        names += [f"trimmed, {n}" if n != "whole" else "trimmed" for n in DIHEDRAL]
    if count % 8 == 1:
        names.append("centre crop")
    return names[:count]
