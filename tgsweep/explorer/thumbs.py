"""Blurred previews of media: analysts see as little harmful material as possible. Pure.

A preview is a small JPEG of the picture, strongly blurred, so that one can tell a photo from a
screenshot or a meme without seeing who or what is in it. The unblurred bytes are only ever
served on an explicit per-item request (app.py), never by default.
"""
from __future__ import annotations

import io

from PIL import Image, ImageFilter

from tgsweep.config import Media, Serve, default

THUMB_SIZE = 256  # longest side of a preview, in pixels
MIN_BLUR = 6.0  # the weakest blur a setting may ask for (on a 256 px preview)


class NotAPicture(ValueError):
    """The bytes are not a picture Pillow can decode (video, voice, document, corrupt)."""


def blurred_thumbnail(data: bytes, radius: float = default(Serve, "blur"),
                      max_pixels: int = default(Media, "max_pixels")) -> bytes:
    """A JPEG preview of at most THUMB_SIZE px with a Gaussian blur of `radius` (at least MIN_BLUR)."""
    radius = max(float(radius), MIN_BLUR)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise NotAPicture(f"{image.width}x{image.height} is over the decoding limit")
            image.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))  # JPEG: decode at a reduced scale
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            small = image.convert("RGB")
    except NotAPicture:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAPicture(f"not a picture that can be previewed: {exc}") from None
    # Twice, so that even the strongest edges of a small picture are smeared beyond recognition.
    blurred = small.filter(ImageFilter.GaussianBlur(radius)).filter(ImageFilter.GaussianBlur(radius / 2))
    out = io.BytesIO()
    blurred.save(out, format="JPEG", quality=60)
    return out.getvalue()
