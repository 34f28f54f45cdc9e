"""Artwork: the one home of Pillow. Checks podcast artwork and draws a placeholder cover.

Directories refuse a show without square artwork, so a new hub gets a plain
generated cover it can build with at once (and replace with its own).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError

COVER_SIZE = 1400


def artwork_problem(body: bytes) -> str | None:
    """Why an image is not podcast artwork (square JPEG/PNG, RGB, 1400-3000 px), or None."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            kind, mode, (width, height) = image.format, image.mode, image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return f"is not a readable image ({exc})"
    if kind not in ("JPEG", "PNG"):
        return f"is {kind}, not JPEG or PNG"
    if mode != "RGB":
        return f"has colour mode {mode}, not RGB"
    if width != height:
        return f"is {width}x{height} px, not square"
    if not 1400 <= width <= 3000:
        return f"is {width}x{height} px, outside 1400-3000 px"
    return None


def placeholder_cover(target: Path, seed: str) -> None:
    """A square RGB JPEG of concentric rings in colours derived from ``seed`` (the title)."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    background = (digest[0] // 3, digest[1] // 3, 60 + digest[2] // 3)
    ring = (200 + digest[3] // 5, 180 + digest[4] // 4, 120 + digest[5] // 3)
    image = Image.new("RGB", (COVER_SIZE, COVER_SIZE), background)
    draw = ImageDraw.Draw(image)
    centre = COVER_SIZE // 2
    for radius in range(COVER_SIZE // 2, 0, -140):
        draw.ellipse(
            (centre - radius, centre - radius, centre + radius, centre + radius),
            outline=ring,
            width=36,
        )
    image.save(target, "JPEG", quality=80)
