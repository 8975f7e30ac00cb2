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
  picture with flat borders, letterbox bars and caption bars trimmed (when there are any), its
  centre 90 % (a re-upload cropped a few percent per side), and the picture with each corner
  masked (`mask_corner`, hashed at `MASK_SIZE` px: a logo or watermark in a corner). Both sides
  of a comparison carry them, so they work between items hashed here (clusters, our own banks).
- `pdq_crops`: the picture padded back to the frames it may have been cropped from, each with
  the bits it can trust (detectors/media/crops.py): what finds a cropped re-post in a hash list
  made elsewhere, which holds only the original's PDQ; for a trimmed picture, the trimmed
  picture's hypotheses follow (a cropped picture with a caption bar added, `_crop_bases`). Not
  kept for low-quality pictures.
- `pdq_lookup`: the eight rotations/flips (PDQ's dihedral hashes) of the whole and trimmed
  picture, plus the alternates at fixed positions (`lookup_names`): what a lookup compares
  against other items' hashes, so a mirrored or rotated re-upload is still found.

Chosen from measurements (benchmarks/bench_fingerprint_robustness.py, 24 Kodak photos x 22
transforms): caption bars were missed when text rows were dense or a white sky continued the
bar, and a 1 % corner logo moved PDQ by up to 44 bits; the caption-bar rule in `content_box` and
the corner masks bring every transform to recall 1.0 with no false match (closest different
photo at distance 90). Costs: about 6 stored and 15 lookup hashes per picture.

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

from detectors.media.crops import CORNER_H, CORNER_NAMES, CORNER_W, crop_hashes
from tgsweep.config import Fingerprints as FingerprintSettings
from tgsweep.config import Media, default

WORK_SIZE = 512  # PDQ works on <= 512 px (it downsamples to 64x64 itself); pHash needs 32 px
MIN_QUALITY = default(FingerprintSettings, "min_pdq_quality")
DEFAULT_MAX_PIXELS = default(Media, "max_pixels")
CENTRE_CROP = 0.05  # fraction cut from each side for the centre alternate

# Border trimming (measured on the Kodak set, benchmarks/bench_fingerprint_robustness.py):
_BORDER_TOLERANCE = 24  # grey levels from the edge colour that still count as border
_FLAT_FRACTION = 0.97  # ... and a line is plain border (letterbox) at this share
_MAX_TRIM = 0.34  # never trim more than this fraction of a dimension per side
_MIN_TRIM = 0.02  # trims smaller than this are ignored (noise, a frame line)
_NEAR_FLAT = 0.9  # a caption bar's margin lines: this share bar colour
_TEXT_FRACTION = 0.15  # a caption line (text on the bar colour) is at least this share bar colour
_TEXT_BUSY = 0.12  # ... and this share of neighbouring pixels switch (photo lines: 0.01-0.10)
_PLAIN_SHARE = 0.2  # at least this share of a bar's lines are plain (margins, gaps between text lines)
# Corner masks (logos, watermarks): box size as a share of width/height, and the size they are
# hashed at (both sides of a comparison are masked the same way, so a small size is enough).
CORNERS = tuple(CORNER_NAMES)
MASK_SIZE = 128


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
    pdq_crops: bytes | None = None  # crop hypotheses, packed (detectors/media/crops.py)
    trimmed: tuple[int, int, int, int] | None = None  # (top, bottom, left, right) px of the work image cut
    width: int | None = None
    height: int | None = None
    error: str | None = None
    # a video (detectors/media/video.py): its keyframes, each {t, pdq, pdq_quality, phash, pdq_alt, pdq_lookup}
    frames: list[dict[str, Any]] = field(default_factory=list)
    duration: float | None = None  # seconds

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

    A side's edge colour is the median of its outermost line, which must be plain (`_FLAT_FRACTION`
    of it that colour). A plain border or letterbox is the run of plain lines from the edge. Above
    or below the picture a caption bar is also cut: the run of lines that are nearly plain
    (`_NEAR_FLAT`) or lines of text on the bar colour (at least `_TEXT_FRACTION` bar colour, and
    busy: `_TEXT_BUSY` of neighbouring pixels switch between bar colour and not). Photo lines,
    even a bright sky next to a white bar, are rarely that busy, so the run stops where the
    picture starts; textured content (grass, a fence) has no plain lines between, which a bar
    of text has (`_PLAIN_SHARE`). A cut must be at least `_MIN_TRIM` and at most `_MAX_TRIM` of the dimension
    (a run that reaches `_MAX_TRIM` is a flat picture, not a border).
    """
    h, w = gray.shape
    cuts = []
    for side in range(4):
        lines = {0: gray, 1: gray[::-1], 2: gray.T, 3: gray.T[::-1]}[side]
        n = lines.shape[0]
        limit = int(n * _MAX_TRIM)
        edge = float(np.median(lines[0]))
        run = 0
        if (np.abs(lines[0] - edge) <= _BORDER_TOLERANCE).mean() >= _FLAT_FRACTION:  # most pictures stop here
            near = np.abs(lines[: limit + 1] - edge) <= _BORDER_TOLERANCE
            share = near.mean(axis=1)
            if side < 2:
                busy = (near[:, 1:] != near[:, :-1]).mean(axis=1)
                bar = (share >= _NEAR_FLAT) | ((share >= _TEXT_FRACTION) & (busy >= _TEXT_BUSY))
            else:
                bar = share >= _FLAT_FRACTION
            run = int(np.argmin(bar)) if not bar.all() else limit + 1
            if (share[:run] >= _FLAT_FRACTION).mean() < _PLAIN_SHARE:  # text lines need plain gaps
                run = 0
            if run > limit:  # the whole picture is flat this way: not a border
                run = 0
        cuts.append(run if run >= max(2, int(n * _MIN_TRIM)) else 0)
    top, bottom, left, right = cuts
    if top + bottom > h * 0.6 or left + right > w * 0.6:
        return (0, 0, 0, 0)
    return top, bottom, left, right


def mask_corner(rgb: np.ndarray, corner: str, share_w: float = CORNER_W, share_h: float = CORNER_H) -> np.ndarray:
    """The picture with one corner box painted over by the mean colour of the band around it.

    A watermark or channel logo sits in a corner; painting the same box over on both sides
    (the stored item and the re-upload) makes the logo disappear from the comparison.
    """
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    bh, bw = max(1, round(h * share_h)), max(1, round(w * share_w))
    rh, rw = min(h, bh + bh // 2), min(w, bw + bw // 2)  # the box and a band half its size around it
    ys, ry = (slice(0, bh), slice(0, rh)) if corner[0] == "t" else (slice(h - bh, h), slice(h - rh, h))
    xs, rx = (slice(0, bw), slice(0, rw)) if corner[1] == "l" else (slice(w - bw, w), slice(w - rw, w))
    band = out[ry, rx].reshape(-1, out.shape[2]).sum(axis=0) - out[ys, xs].reshape(-1, out.shape[2]).sum(axis=0)
    count = rh * rw - bh * bw
    out[ys, xs] = band / max(count, 1)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


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


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def fingerprint(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, variants: bool = True) -> Fingerprints:
    """Every hash of one picture's bytes; errors are recorded in `error`, never raised."""
    fp = Fingerprints(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))
    try:
        img, fp.width, fp.height = decode_for_hashing(data, max_pixels)
        hash_picture(img, fp, variants)
    except FingerprintError as exc:
        fp.error = str(exc)
    except MemoryError:
        fp.error = "decompression bomb: out of memory while decoding"
    except Exception as exc:  # noqa: BLE001 - a picture never stops a sweep; the reason is recorded
        fp.error = f"could not fingerprint: {type(exc).__name__}: {exc}"
    return fp


def hash_picture(img, fp: Fingerprints | None = None, variants: bool = True, crops: bool = True) -> Fingerprints:
    """The perceptual hashes of a decoded RGB picture (at most WORK_SIZE px), into `fp`.

    Shared by pictures and video keyframes (detectors/media/video.py; `crops=False`: keyframes are not
    looked up as crops); raises on failure.
    """
    from PIL import Image

    fp = fp if fp is not None else Fingerprints("", "", 0)
    rgb = np.asarray(img)
    luma = img.convert("L")  # one conversion serves pHash (imagehash converts to L first) and trimming
    fp.phash = _phash(luma)
    if not variants:
        fp.pdq, fp.pdq_quality = _pdq(rgb)
        return fp
    whole, fp.pdq_quality = _pdq_dihedral(rgb)
    fp.pdq = whole[0]
    lookup = list(whole)
    gray = np.asarray(luma, dtype=np.float32)
    top, bottom, left, right = content_box(gray)
    h, w = gray.shape
    inner = rgb
    if top or bottom or left or right:
        fp.trimmed = (top, bottom, left, right)
        inner = rgb[top:h - bottom, left:w - right]
        trimmed, quality = _pdq_dihedral(inner)
        if quality >= MIN_QUALITY:
            fp.pdq_alt.append(trimmed[0])
            lookup += trimmed
    if crops and fp.pdq_quality >= MIN_QUALITY:
        fp.pdq_crops = b"".join(crop_hashes(part).pack() for part in _crop_bases(rgb, fp.trimmed))
    dy, dx = round(h * CENTRE_CROP), round(w * CENTRE_CROP)
    tail = [_pdq(rgb[dy:h - dy, dx:w - dx])]
    small = img if max(img.size) <= MASK_SIZE else img.resize(_fit(img.size, MASK_SIZE), Image.Resampling.BOX)
    small_rgb = np.asarray(small)  # mask_corner paints on a copy
    tail += [_pdq(mask_corner(small_rgb, corner)) for corner in CORNERS]
    for value, quality in tail:
        if quality >= MIN_QUALITY:
            fp.pdq_alt.append(value)
    # fixed positions (lookup_names): a low-quality alternate is replaced by the whole hash
    lookup += [value if quality >= MIN_QUALITY else fp.pdq for value, quality in tail]
    fp.pdq_lookup = lookup
    return fp


def _crop_bases(rgb: np.ndarray, trimmed: tuple[int, int, int, int] | None) -> list[np.ndarray]:
    """The pictures a crop is hypothesised from: the whole; trimmed (a border or caption bar is not
    part of the original); and, when several sides were trimmed, each side alone (a dark or flat
    edge of the photo itself is trimmed as a border too, and would cut the photo further)."""
    bases = [rgb]
    if trimmed:
        h, w = rgb.shape[:2]
        top, bottom, left, right = trimmed
        bases.append(rgb[top:h - bottom, left:w - right])
        sides = [i for i, cut in enumerate(trimmed) if cut]
        for i in sides if len(sides) > 1 else []:
            t, b, l, r = (trimmed[j] if j == i else 0 for j in range(4))
            bases.append(rgb[t:h - b, l:w - r])
    return bases


def fingerprint_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS, max_video_seconds: float | None = None,
                     dedupe_distance: int | None = None) -> Fingerprints:
    """A picture's or a video's fingerprints (videos are recognised by their bytes), as enrich makes them."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        fp = Fingerprints("", "", 0, error=f"could not read {path}: {exc.strerror or exc}")
        return fp
    from detectors.media.video import fingerprint_any

    if dedupe_distance is None:
        return fingerprint_any(data, max_pixels, max_video_seconds)
    return fingerprint_any(data, max_pixels, max_video_seconds, dedupe_distance)


def reference_pdq(data: bytes) -> tuple[str, int]:
    """PDQ as pdqhash computes it on the fully decoded picture (slow; for tests and benchmarks)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return _pdq(np.asarray(img.convert("RGB")))


DIHEDRAL = ["whole", "rotated 90", "rotated 180", "rotated 270", "flipped vertically", "flipped horizontally",
            "transposed", "transversed"]


ALTERNATES = ["centre crop", *(f"{name} corner masked" for name in CORNER_NAMES.values())]


def lookup_names(count: int) -> list[str]:
    """What each of `count` lookup hashes is, in the order fingerprint() makes them.

    Now: 8 dihedral hashes, 8 more of the trimmed picture when it was trimmed, then the
    alternates (centre crop, four corner masks) at fixed positions. Rows hashed before the
    corner masks existed have 8, 9, 16 or 17 hashes (an optional centre crop last).
    """
    names = list(DIHEDRAL)
    trimmed = [f"trimmed, {n}" if n != "whole" else "trimmed" for n in DIHEDRAL]
    if count in (8 + len(ALTERNATES), 16 + len(ALTERNATES)):
        return (names + (trimmed if count > 16 else []) + ALTERNATES)[:count]
    if count >= 16:
        names += trimmed
    if count % 8 == 1:
        names.append("centre crop")
    return names[:count]
