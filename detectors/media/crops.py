"""Crop-tolerant PDQ: the query picture padded back to the frames it may have been cropped from.

Hash lists made elsewhere hold one PDQ per original picture; a re-post cut a few percent off the
sides is 30-60 bits from it and is missed. Nothing can be added on the list's side, so the query
side hypothesises the crop: "the original was this picture plus 8 % at the top", pads the picture
back to that frame and hashes it (`HYPOTHESES`, 0-16 % per side in 4 % steps: every side alike,
one side, top and bottom / left and right; and 20 or 24 % off both ends of one axis, a centre crop
to another aspect ratio such as a square cut to 16:9: 44). Two adjacent sides (a corner region
kept) were tried and left out: they brought unrelated pictures to 32 bits in
benchmarks/bench_false_matches.py and tripled the extrapolated false matches. A logo or watermark
added in a corner is the same problem (part of the original unknown): each corner painted over
is 4 more variants (`VARIANTS` records per picture).

PDQ is linear up to its median threshold (luma, Jarosz box blur, 64x64 decimation, 16x16 DCT),
so every hypothesis comes from one blur of the picture and one small matrix product: the padded
frame's 64 sample rows are picked from the picture's rows or filled, then the DCT rows are applied
(`_axis_operator`); the hypothesis `(top, bottom, left, right)` is `A_tb @ luma @ A_lr.T`. The
fill is a fade from the edge value to the column (row) mean. With no padding this is exactly
PDQ (tests check it bit for bit against pdqhash).

The fill is a guess, so each hypothesis also says which of its 256 bits to trust: a bit is
reliable when its coefficient is further from the median than the padding could move it
(`RELIABILITY` x the median coefficient margin x the share of the basis function's energy that
lies in the padding). A crop is matched on the reliable bits only (`PdqIndex.search_masked`,
scaled to 256 bits), which is what finds an 8 %-per-side crop (plain PDQ: 0 of 24 Kodak photos; padded
hashes compared on all bits: 8 of 24; on the reliable bits: 23 of 24 within 24 bits).
Measured in benchmarks/bench_fingerprint_robustness.py (tuned on Kodak, held out on other
photographs and off-grid crops) and benchmarks/bench_false_matches.py.

A picture's variants are kept as one bytes value (`pack`): for each, 32 bytes of hash bits and
32 bytes of reliability mask, the crops in `HYPOTHESES` order, then the corners. Pure: arrays
in, arrays out.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

STEPS = (0.0, 0.04, 0.08, 0.12, 0.16)  # share of the original cut away on a side
ASPECT_STEPS = (0.20, 0.24)  # ... and off both ends of one axis only (a centre crop to another aspect ratio)
RELIABILITY = 2.0  # a bit is trusted when its margin exceeds this x the typical margin x sqrt(padding energy)
MIN_RELIABLE_BITS = 96  # a hypothesis trusting fewer bits is not used
RECORD = 64  # bytes per hypothesis: 32 of bits, 32 of mask
# A logo or watermark in a corner (a box of this share of the width and height): the corner is
# painted over by the mean of the band around it, and its bits are trusted as a crop's are.
CORNER_W, CORNER_H = 0.2, 0.15
CORNER_NAMES = {"tl": "top-left", "tr": "top-right", "bl": "bottom-left", "br": "bottom-right"}


def _hypotheses(steps: tuple[float, ...], aspect: tuple[float, ...]) -> list[tuple[float, float, float, float]]:
    """(top, bottom, left, right) shares cut away: every side alike, one side, each axis alike, one axis."""
    cuts = steps[1:]
    out = [(s, s, s, s) for s in cuts]
    out += [side for s in cuts for side in ((s, 0.0, 0.0, 0.0), (0.0, s, 0.0, 0.0), (0.0, 0.0, s, 0.0), (0.0, 0.0, 0.0, s))]
    out += [(a, a, b, b) for a in steps for b in steps if a != b and (a, b) != (0.0, 0.0)]
    out += [pair for a in aspect for pair in ((a, a, 0.0, 0.0), (0.0, 0.0, a, a))]
    return out


HYPOTHESES = _hypotheses(STEPS, ASPECT_STEPS)
VARIANTS = len(HYPOTHESES) + len(CORNER_NAMES)  # records per picture hashed: the crops, then the corners


def _dct_rows() -> np.ndarray:
    """PDQ's 16x64 DCT matrix (frequencies 1..16: the DC row is left out)."""
    i = np.arange(16)[:, None]
    j = np.arange(64)[None, :]
    return np.sqrt(2 / 64) * np.cos(np.pi / 2 / 64 * (i + 1) * (2 * j + 1))


_DCT = _dct_rows()


def _box(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """PDQ's box filter along `axis` (the reference's window placement, edges averaged over what is
    there): OpenCV's unnormalised box sum, divided by how many pixels each window holds."""
    import cv2

    n = values.shape[axis]
    half = (window + 2) // 2
    i = np.arange(n)
    counts = (np.minimum(n - 1, i + half - 1) - np.maximum(0, i + half - window) + 1).astype(np.float32)
    size, anchor = ((window, 1), (window - half, 0)) if axis == 1 else ((1, window), (0, window - half))
    sums = cv2.boxFilter(values, -1, size, anchor=anchor, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return sums / (counts[None, :] if axis == 1 else counts[:, None])


def blurred_luma(rgb: np.ndarray) -> np.ndarray:
    """PDQ's luma after its two Jarosz passes, at the picture's own size (float32 as the reference, h x w)."""
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    h, w = luma.shape
    rows, cols = (h + 127) // 128, (w + 127) // 128
    for _ in range(2):
        luma = _box(luma, cols, 1)
        luma = _box(luma, rows, 0)
    return luma


@lru_cache(maxsize=4096)  # pictures come in a few sizes: an operator is built once per size and crop
def _axis_operator(n: int, before: float, after: float) -> tuple[np.ndarray, np.ndarray]:
    """(16 x n operator, 16 padding energies) for one axis padded by shares `before`/`after` of the original.

    The padded frame's 64 PDQ sample positions each take a picture line, or a fill line fading
    from the edge line to the mean line; then the DCT rows. `energy[k]`: the share of DCT row k's
    energy on padded samples (how far the fill can move that frequency).
    """
    keep = 1.0 - before - after
    pad_a, pad_b = round(before * n / keep), round(after * n / keep)
    total = n + pad_a + pad_b
    samples = ((np.arange(64) + 0.5) * total / 64).astype(int)
    op = np.zeros((16, n))
    inside = (samples >= pad_a) & (samples < pad_a + n)
    np.add.at(op.T, samples[inside] - pad_a, _DCT[:, inside].T)
    padded = ~inside
    if padded.any():
        top = samples < pad_a
        depth = np.where(top, pad_a - samples, samples - (pad_a + n) + 1)
        length = np.where(top, max(pad_a, 1), max(pad_b, 1))
        fade = np.minimum(1.0, depth / length)[padded]  # 0 at the edge, 1 (the mean) at the far end
        edges = np.where(top, 0, n - 1)[padded]
        weights = _DCT[:, padded]
        np.add.at(op.T, edges, (weights * (1.0 - fade)).T)
        op += (weights * fade).sum(axis=1, keepdims=True) / n
    energy = (_DCT[:, padded] ** 2).sum(axis=1) / (_DCT ** 2).sum(axis=1)
    op.setflags(write=False)  # cached: shared by every picture of this size
    energy.setflags(write=False)
    return op, energy


@dataclass(slots=True)
class CropHashes:
    """Each hypothesis' PDQ bits and reliability mask, packed (n, 32) uint8 in pdqhash's bit order."""

    bits: np.ndarray
    masks: np.ndarray

    def pack(self) -> bytes:
        return np.concatenate([self.bits, self.masks], axis=1).tobytes()

    @classmethod
    def unpack(cls, blob: bytes) -> "CropHashes":
        rows = np.frombuffer(blob, dtype=np.uint8).reshape(-1, RECORD)
        return cls(rows[:, :32], rows[:, 32:])


def coefficients(luma: np.ndarray, hypotheses: list[tuple[float, float, float, float]] = HYPOTHESES
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 16, 16) DCT coefficients of every padded hypothesis and (n, 16, 16) padding energies,
    from the picture's `blurred_luma`."""
    h, w = luma.shape
    row_keys = sorted({(t, b) for t, b, _, _ in hypotheses})
    col_keys = sorted({(left, right) for _, _, left, right in hypotheses})
    rows = [_axis_operator(h, *k) for k in row_keys]
    cols = [_axis_operator(w, *k) for k in col_keys]
    projected = (np.concatenate([op for op, _ in rows]).astype(np.float32) @ luma).reshape(len(rows), 16, w)  # one product
    ri = np.array([row_keys.index((t, b)) for t, b, _, _ in hypotheses])
    ci = np.array([col_keys.index((left, right)) for _, _, left, right in hypotheses])
    col_ops = np.stack([op for op, _ in cols]).astype(np.float32)
    coefs = projected[ri] @ col_ops[ci].transpose(0, 2, 1)
    er = np.stack([e for _, e in rows])[ri]
    ec = np.stack([e for _, e in cols])[ci]
    energy = 1.0 - (1.0 - er)[:, :, None] * (1.0 - ec)[:, None, :]
    return coefs, energy


def corner_coefficients(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4, 16, 16) coefficients with each corner box painted over on PDQ's 64x64 grid, and their energies."""
    h, w = luma.shape
    grid = luma[((np.arange(64) + 0.5) * h / 64).astype(int)][:, ((np.arange(64) + 0.5) * w / 64).astype(int)]
    bh, bw = round(64 * CORNER_H), round(64 * CORNER_W)
    rh, rw = bh + bh // 2, bw + bw // 2  # the box and a band half its size around it
    coefs, energy = [], []
    for corner in CORNER_NAMES:
        ys, ry = (slice(0, bh), slice(0, rh)) if corner[0] == "t" else (slice(64 - bh, 64), slice(64 - rh, 64))
        xs, rx = (slice(0, bw), slice(0, rw)) if corner[1] == "l" else (slice(64 - bw, 64), slice(64 - rw, 64))
        painted = grid.copy()
        painted[ys, xs] = (grid[ry, rx].sum() - grid[ys, xs].sum()) / (rh * rw - bh * bw)
        coefs.append(_DCT @ painted @ _DCT.T)
        energy.append((_DCT[:, ys] ** 2).sum(axis=1)[:, None] * (_DCT[:, xs] ** 2).sum(axis=1)[None, :])
    return np.stack(coefs), np.stack(energy)


def _to_pdq_order(flags: np.ndarray) -> np.ndarray:
    """(n, 16, 16) booleans -> (n, 32) packed bytes in pdqhash's order (last coefficient first)."""
    return np.packbits(flags.reshape(len(flags), 256)[:, ::-1], axis=1)


def crop_hashes(rgb: np.ndarray) -> CropHashes:
    """Every crop hypothesis' and covered corner's hash and the bits it can trust (`VARIANTS` records;
    one trusting too few bits has an empty mask)."""
    luma = blurred_luma(rgb)
    crops, crop_energy = coefficients(luma)
    corners, corner_energy = corner_coefficients(luma)
    coefs = np.concatenate([crops, corners])
    energy = np.concatenate([crop_energy, corner_energy])
    flat = coefs.reshape(len(coefs), 256)
    median = np.median(flat, axis=1)[:, None, None]
    margin = np.abs(coefs - median)
    typical = np.median(margin.reshape(len(coefs), 256), axis=1)[:, None, None]
    reliable = margin >= RELIABILITY * typical * np.sqrt(energy)
    reliable[reliable.reshape(len(coefs), 256).sum(axis=1) < MIN_RELIABLE_BITS] = False
    return CropHashes(_to_pdq_order(coefs > median), _to_pdq_order(reliable))


def plain_hash(rgb: np.ndarray) -> str:
    """PDQ of the whole picture by this module's pipeline (equal to pdqhash's; for tests)."""
    coefs, _ = coefficients(blurred_luma(rgb), [(0.0, 0.0, 0.0, 0.0)])
    return _to_pdq_order(coefs > np.median(coefs))[0].tobytes().hex()


def describe(index: int) -> str:
    """What hypothesis `index` says, for a reason: "original = this picture + about 8 % at the top".

    Records come `VARIANTS` per picture hashed: the crop hypotheses, then the covered corners;
    the records past the first picture's are the trimmed picture's (borders or a caption bar cut).
    """
    trimmed, index = divmod(index, VARIANTS)
    picture = "this picture without a border or caption bar" if trimmed else "this picture"
    if index >= len(HYPOTHESES):
        corner = list(CORNER_NAMES.values())[index - len(HYPOTHESES)]
        return f"{picture} with its {corner} corner covered (a logo or watermark there)"
    top, bottom, left, right = HYPOTHESES[index]

    def pct(x: float) -> str:
        return f"{round(x * 100)} %"

    if top == bottom == left == right:
        where = f"{pct(top)} on every side"
    else:
        parts = []
        if top and top == bottom:
            parts.append(f"{pct(top)} at the top and bottom")
        else:
            parts += [f"{pct(top)} at the top"] if top else []
            parts += [f"{pct(bottom)} at the bottom"] if bottom else []
        if left and left == right:
            parts.append(f"{pct(left)} on the left and right")
        else:
            parts += [f"{pct(left)} on the left"] if left else []
            parts += [f"{pct(right)} on the right"] if right else []
        where = " and ".join(parts)
    return f"cropped: original = {picture} + about {where}"
