"""The input formats imagequeue accepts, shared by the server's upload check and the worker."""

from __future__ import annotations

import re
import warnings
from typing import BinaryIO

import pillow_heif
from PIL import Image, features

from infra.units import format_megapixels, format_megapixels_over

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

# Pillow's JPEG opener returns a JPEG with more pictures appended (MPF: a depth map, a
# preview, the other half of a stereo pair) as "MPO". Its first picture is the photo, which
# is all a JPEG reader (a browser, our worker) shows, so the file is taken as a JPEG.
_FILE_TYPE_OF_VARIANT = {"MPO": "JPEG"}

# Other spellings of the extensions above, as files named by people or other programs have.
_EXTENSION_ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff", "heif": "heic"}

DEFAULT_MAX_PIXELS = 50_000_000

UNREADABLE_DATA: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    RuntimeError,
)
"""What Pillow raises for data it cannot read (truncated, corrupt, malformed), at the
server's header check and the worker's decode alike. RuntimeError: its AVIF plugin passes
libavif's failures on with it ("Failed to decode frame 0: …"). An OSError with an errno is
the disk, not the data: callers that can retry check for that."""


def stored_as(image_format: str) -> tuple[str, str] | None:
    """(content type, file extension) for an opened image's format; None if not accepted."""
    return ACCEPTED_FORMATS.get(_FILE_TYPE_OF_VARIANT.get(image_format, image_format))


def content_type_of(image_format: str | None, path: str) -> str | None:
    """The content type of a stored file: from its detected format, else its extension.

    For rows that never recorded one (the original design's); None when neither says.
    """
    if image_format and (file_type := stored_as(image_format)):
        return file_type[0]
    _, dot, extension = path.rsplit("/", 1)[-1].rpartition(".")
    if not dot:
        return None
    extension = _EXTENSION_ALIASES.get(extension.lower(), extension.lower())
    for content_type, known_extension in ACCEPTED_FORMATS.values():
        if extension == known_extension:
            return content_type
    return None


class TooManyPixels(Exception):
    """The header says width x height is above the pixel limit; nothing was decoded.

    ``pixels`` is the image's count, when known: "60.0 megapixels is over the 50 megapixel
    limit", else "image is over the 50 megapixel limit".
    """

    def __init__(self, max_pixels: int, pixels: int | None = None) -> None:
        limit = f"the {format_megapixels(max_pixels)} megapixel limit"
        if pixels is None:
            message = f"image is over {limit}"
        else:
            message = f"{format_megapixels_over(pixels, max_pixels)} megapixels is over {limit}"
        super().__init__(message)
        self.max_pixels = max_pixels
        self.pixels = pixels

    @classmethod
    def from_pillow(cls, error: Exception, max_pixels: int) -> TooManyPixels:
        """From Pillow's DecompressionBombError or Warning, which carries no size but in
        its message ("Image size (60000000 pixels) exceeds limit of …")."""
        found = _PILLOW_IMAGE_SIZE.search(str(error))
        return cls(max_pixels, int(found[1]) if found else None)


_PILLOW_IMAGE_SIZE = re.compile(r"Image size \((\d+) pixels\)")


def open_header(source: BinaryIO, max_pixels: int) -> Image.Image:
    """Open ``source`` as one of ``ACCEPTED_FORMATS``, reading its header and no pixels.

    The server's upload check and the worker both open images here. Raises
    ``TooManyPixels``, and Pillow's own errors for a file it cannot read.
    """
    # Pillow checks pixel counts against a process-wide limit as it opens (and as it seeks
    # to a later GIF frame): it warns above the limit and raises above twice it. The
    # warning is made an error by a filter added for good, not by warnings.catch_warnings(),
    # which swaps the filters of every thread: the server opens uploads in threads, and
    # now and then an image over the limit got through. The filter is added on each call
    # (an identical one is replaced, not repeated) in case something reset the filters.
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    try:
        image = Image.open(source, formats=tuple(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels.from_pillow(exc, max_pixels) from exc
    # Whatever happened to the filter meanwhile, the header's size decides.
    if (pixels := image.width * image.height) > max_pixels:
        image.close()
        raise TooManyPixels(max_pixels, pixels)
    return image
