"""Checking fetched media bytes and keeping them content-addressed.

`inspect_media` is pure: bytes in, facts or a reason out. A truncated image, bytes that are
not an image, or a decompression bomb become an error string on that media item; the sweep
goes on. The pixel limit is checked from the header, before anything is decoded.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from PIL import Image, UnidentifiedImageError

from store.collection import CollectionStore
from store.records import StoredMedia

IMAGE_KINDS = {"photo", "sticker", "link_preview_photo", "thumb"}
_MAGIC = [(b"\x1aE\xdf\xa3", "video/webm"), (b"OggS", "audio/ogg"), (b"%PDF", "application/pdf")]


@dataclass(slots=True)
class Inspected:
    media: StoredMedia
    error: str | None


def _sniff(data: bytes) -> str | None:
    if len(data) > 12 and data[4:8] == b"ftyp":
        return "video/mp4"
    return next((mime for magic, mime in _MAGIC if data.startswith(magic)), None)


def inspect_media(data: bytes, kind: str, max_pixels: int) -> Inspected:
    """Hashes always; for images also size, type and a full decode to catch truncation and bombs."""
    media = StoredMedia(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))
    if not data:
        return Inspected(media, "empty file (0 bytes)")
    if kind not in IMAGE_KINDS:
        media.mime = _sniff(data)
        return Inspected(media, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                media.mime = Image.MIME.get(img.format or "", None)
                media.width, media.height = img.size
                if img.width * img.height > max_pixels:
                    return Inspected(media, f"decompression bomb: {img.width}x{img.height} pixels is over the "
                                            f"limit of {max_pixels} ([media] max_pixels); not decoded")
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return Inspected(media, f"decompression bomb: {exc}")
    except UnidentifiedImageError:
        return Inspected(media, f"not an image ({_sniff(data) or 'unknown format'}, {len(data)} bytes)")
    except (OSError, SyntaxError, ValueError) as exc:
        return Inspected(media, f"corrupt image: {exc}")
    return Inspected(media, None)


def media_relpath(digest: str) -> str:
    return f"{digest[:2]}/{digest}"


def write_media(media_dir: Path, digest: str, data: bytes) -> str:
    """Write once, atomically (temp file then rename): a crash leaves no partial file."""
    rel = media_relpath(digest)
    target = media_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{digest[:8]}-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)  # same content whoever wins: content-addressed
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return rel


FingerprintHook = Callable[[str, bytes, str], Awaitable[None]]  # (sha256, bytes, kind): fingerprint and save


def require_fingerprint(config: Any, fingerprint: FingerprintHook | None) -> None:
    """Hash-only mode drops the bytes once hashed, so their fingerprints must be taken before: a sweep
    in that mode without the detectors' hook (the shell passes it) would lose them silently."""
    if config.media.keep == "none" and config.media.download and fingerprint is None:
        raise ValueError("[media] keep = \"none\" needs the media fingerprinter: the sweep was started without "
                         "one (tgsweep.sweep passes detectors.media.stage.fingerprint_fetched)")


async def keep_fetched(store: CollectionStore, config: Any, sweep_id: int | None, channel: str, post_id: int,
                       position: int, url: str, data: bytes, kind: str, role: str = "main",
                       fingerprint: FingerprintHook | None = None) -> str | None:
    """Check, keep (content-addressed) and record fetched bytes on their media item; returns the error, if any.

    Both collectors' media path (TmeSpider.parse_media, the Telethon collector): hash-only mode
    fingerprints the bytes before discarding them, through `fingerprint` (the detectors' hook: the
    crawler does not import the detectors).
    """
    kind = "thumb" if role == "thumb" else kind
    inspected = await asyncio.to_thread(inspect_media, data, kind, config.media.max_pixels)
    media = inspected.media
    if config.media.keep == "all":
        try:
            media.path = await asyncio.to_thread(write_media, Path(config.storage.media_dir), media.sha256, data)
        except OSError as exc:  # a full or read-only disk: keep the hashes, leave the item retryable
            await store.record_error(sweep_id, "media", f"could not write media file: {exc}", channel, url)
            return f"could not write media file: {exc}"
    await store.store_media(sweep_id, channel, post_id, position, url, media, inspected.error, role)
    if config.media.keep == "none" and not inspected.error and fingerprint is not None:
        await fingerprint(media.sha256, data, kind)
    return inspected.error
