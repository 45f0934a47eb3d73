"""The input formats imagequeue accepts, shared by the server's upload check and the worker."""

from __future__ import annotations

from PIL import features

ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    # Pillow format name: (content type, file extension)
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
    "TIFF": ("image/tiff", "tiff"),
    "BMP": ("image/bmp", "bmp"),
}
"""Decoders Pillow may use; ``Image.open(formats=…)`` never tries any other plugin."""

# Pillow 11.3+ ships an AVIF plugin, but only wheels built with libavif can read it.
if features.check("avif"):
    ACCEPTED_FORMATS["AVIF"] = ("image/avif", "avif")

DEFAULT_MAX_PIXELS = 50_000_000
