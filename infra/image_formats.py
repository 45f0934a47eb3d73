"""The input formats imagequeue accepts, shared by the server's upload check and the worker."""

from __future__ import annotations

import pillow_heif
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

# iPhones save HEIC by default. pillow-heif's opener is a Pillow plugin like the built-in
# ones, so it is registered where the format list is made: every process that checks or
# decodes images (the server, the worker and its spawned pool processes) imports this.
pillow_heif.register_heif_opener()
ACCEPTED_FORMATS["HEIF"] = ("image/heic", "heic")

DEFAULT_MAX_PIXELS = 50_000_000
