"""Video fingerprints: one frame per second (PyAV), near-repeats dropped, each frame hashed like a picture.

`fingerprint_video(data)` is pure like `fingerprints.fingerprint`: bytes in, a `Fingerprints`
out, never an exception. SHA-256 and MD5 are of the whole file (what StopNCII-style video lists
hold). The frames are decoded in order; the first frame at or after each whole second is taken,
scaled by FFmpeg straight to the working size, and kept unless its PDQ is within
`dedupe_distance` of the last kept frame (a still scene gives one keyframe, not sixty). Only the
first `max_seconds` are sampled, which bounds the work a long or hostile file can cause.

A kept keyframe gets every hash a picture gets (`fingerprints.hash_picture`). The file's `pdq`,
`pdq_quality` and `phash` are those of its first keyframe of usable quality; `pdq_alt` holds the
other keyframes' PDQ and all their alternates, `pdq_lookup` all their lookup hashes, so a
picture of any frame, or another copy of the video, is found by the index and the banks;
`frames` lists each keyframe with its time.
"""
from __future__ import annotations

import hashlib
import io
from typing import Any, Iterator

import numpy as np

from detectors.media.fingerprints import (
    DEFAULT_MAX_PIXELS,
    MIN_QUALITY,
    WORK_SIZE,
    FingerprintError,
    Fingerprints,
    _fit,
    _pdq,
    fingerprint,
    hamming,
    hash_picture,
)
from tgsweep.config import Media, default

DEFAULT_MAX_SECONDS = default(Media, "max_video_seconds")
DEFAULT_DEDUPE_DISTANCE = default(Media, "video_dedupe_distance")  # PDQ bits; a still scene re-encoded stays well under it
FRAME_INTERVAL = 1.0  # seconds between sampled frames

_SIGNATURES = (
    (4, b"ftyp"),  # MP4, MOV, 3GP
    (0, b"\x1aE\xdf\xa3"),  # Matroska, WebM
    (0, b"FLV"),
)


def is_video(data: bytes) -> bool:
    """Container magic of the formats Telegram serves (MP4/MOV, WebM/MKV, FLV, AVI)."""
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return True
    return any(data[at:at + len(magic)] == magic for at, magic in _SIGNATURES)


def sample_frames(data: bytes, max_seconds: float = DEFAULT_MAX_SECONDS, interval: float = FRAME_INTERVAL,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[tuple[float, Any]]:
    """(time in seconds, RGB PIL image of at most WORK_SIZE px) for the first frame of each interval."""
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except av.FFmpegError as exc:
        raise FingerprintError(f"corrupt video: {exc}") from None
    try:
        if not container.streams.video:
            raise FingerprintError("not a video: the file has no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > max_pixels:
            raise FingerprintError(f"decompression bomb: {width}x{height} video frames are over the limit of "
                                   f"{max_pixels}; not decoded")
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 25)
        due = 0.0
        for count, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else count / rate
            if t > max_seconds:
                break
            if t + 1e-6 < due:
                continue
            w, h = _fit((frame.width, frame.height), WORK_SIZE) if max(frame.width, frame.height) > WORK_SIZE \
                else (frame.width, frame.height)
            yield t, frame.to_image(width=w, height=h)
            due = (int(t / interval + 1e-6) + 1) * interval
    except av.FFmpegError as exc:
        raise FingerprintError(f"corrupt video: {exc}") from None
    finally:
        container.close()


def fingerprint_video(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, max_seconds: float = DEFAULT_MAX_SECONDS,
                      dedupe_distance: int = DEFAULT_DEDUPE_DISTANCE) -> Fingerprints:
    """SHA-256/MD5 of the file and the hashes of its keyframes; errors are recorded, never raised."""
    fp = Fingerprints(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))
    if not data:
        fp.error = "empty file (0 bytes)"
        return fp
    kept: list[Fingerprints] = []
    times: list[float] = []
    try:
        last: str | None = None
        for t, img in sample_frames(data, max_seconds, FRAME_INTERVAL, max_pixels):
            fp.width, fp.height = fp.width or img.width, fp.height or img.height
            fp.duration = t
            quick, _ = _pdq(np.asarray(img))
            if last is not None and hamming(quick, last) <= dedupe_distance:
                continue  # the same scene as the last keyframe
            last = quick
            kept.append(hash_picture(img, crops=False))  # no crop hypotheses for keyframes (not matched as crops)
            times.append(round(t, 3))
    except FingerprintError as exc:
        fp.error = str(exc)
    except MemoryError:
        fp.error = "video: out of memory while decoding"
    except Exception as exc:  # noqa: BLE001 - a file never stops a sweep; the reason is recorded
        fp.error = f"could not fingerprint the video: {type(exc).__name__}: {exc}"
    if fp.error and kept:  # keyframes before the damage are kept (banks match them); the error says so
        fp.error = f"{fp.error} (after {times[-1]:.0f} s; {len(kept)} keyframes hashed before it)"
    if not kept:
        fp.error = fp.error or "corrupt video: no frame could be decoded"
        return fp
    fp.frames = [{"t": t, "pdq": k.pdq, "pdq_quality": k.pdq_quality, "phash": k.phash, "pdq_alt": k.pdq_alt,
                  "pdq_lookup": k.pdq_lookup} for t, k in zip(times, kept)]
    usable = [k for k in kept if (k.pdq_quality or 0) >= MIN_QUALITY]
    first = usable[0] if usable else kept[0]
    fp.pdq, fp.pdq_quality, fp.phash = first.pdq, first.pdq_quality, first.phash
    fp.pdq_alt = [h for k in usable for h in ([k.pdq] if k is not first else []) + k.pdq_alt]
    fp.pdq_lookup = [h for k in usable for h in k.pdq_lookup]
    return fp


def fingerprint_any(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, max_video_seconds: float | None = None,
                    dedupe_distance: int = DEFAULT_DEDUPE_DISTANCE) -> Fingerprints:
    """A video's or a picture's fingerprints, told apart by the bytes (not by what the page said)."""
    if is_video(data):
        return fingerprint_video(data, max_pixels, max_video_seconds or DEFAULT_MAX_SECONDS, dedupe_distance)
    return fingerprint(data, max_pixels)


def frame_names(frames: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(lookup hash, what it is) for every usable keyframe: 'keyframe at 12 s, mirrored'..."""
    from detectors.media.fingerprints import lookup_names

    out = []
    for frame in frames:
        if (frame.get("pdq_quality") or 0) < MIN_QUALITY:
            continue
        lookup = frame.get("pdq_lookup") or [frame["pdq"]]
        for value, name in zip(lookup, lookup_names(len(lookup))):
            out.append((value, f"keyframe at {frame['t']:.0f} s" + ("" if name == "whole" else f", {name}")))
    return out
