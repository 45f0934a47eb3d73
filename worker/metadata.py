"""What a photo says about itself, read from the header and EXIF before any pixel is decoded.

Outputs never carry EXIF; this dict is the only place camera data survives, and GPS
coordinates are kept only when ``EXPOSE_GPS_COORDINATES`` allows it.

EXIF that cannot be read counts as no EXIF: the picture is still worth rendering.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from PIL import ExifTags, Image, PngImagePlugin, TiffImagePlugin

from infra.db.text import without_control_characters
from worker.errors import undecodable

log = logging.getLogger(__name__)

_MAX_TEXT_CHARS = 100

# What Pillow's EXIF parser raises on a block that is not the TIFF structure it should be
# ("not a TIFF file" is a SyntaxError), or whose offsets and counts run off its end.
_UNREADABLE_EXIF = (
    SyntaxError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    EOFError,
    OSError,
    struct.error,
)

# Formats whose further frames are an animation to play, and cheap to count: WebP, AVIF
# and HEIF list their frames up front, and a GIF's are skipped over. A TIFF's pages are
# pages of a document, found only by reading each one's header after the one before.
_ANIMATION_FORMATS = frozenset({"GIF", "WEBP", "AVIF", "HEIF"})

# With SyntaxError, what Image.open itself takes for malformed data: Pillow's parsers run
# off the end of a truncated header with them (a GIF cut inside a frame's descriptor).
_MALFORMED_FRAME = (IndexError, TypeError, struct.error)

T = TypeVar("T")


def read_orientation(image: Image.Image) -> int:
    """The EXIF orientation still to apply, 1 to 8; 1 without a tag or readable EXIF."""
    value = _from_exif(image, lambda exif: exif.get(ExifTags.Base.Orientation), None)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def extract_metadata(image: Image.Image, *, include_gps: bool) -> dict[str, Any]:
    """Camera, date taken, orientation, GPS presence, dimensions, format and mode."""
    metadata: dict[str, Any] = {
        "width": image.width,
        "height": image.height,
        "format": image.format,
        "mode": image.mode,
        "frameCount": _frame_count(image),
        "cameraMake": None,
        "cameraModel": None,
        "takenAt": None,
        "orientation": _recorded_orientation(image),
        "hasGps": False,
        "latitude": None,
        "longitude": None,
    }
    no_fields: dict[str, Any] = {}
    read_fields = partial(_camera_fields, include_gps=include_gps)
    metadata.update(_from_exif(image, read_fields, no_fields, warn=True))
    return metadata


def _camera_fields(exif: Image.Exif, *, include_gps: bool) -> dict[str, Any]:
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
    taken = exif_ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    fields: dict[str, Any] = {
        "cameraMake": _text(exif.get(ExifTags.Base.Make)),
        "cameraModel": _text(exif.get(ExifTags.Base.Model)),
        "takenAt": _exif_datetime(taken),
        "hasGps": bool(gps_ifd),
    }
    if include_gps and gps_ifd:
        fields["latitude"] = _coordinate(
            gps_ifd.get(ExifTags.GPS.GPSLatitude), gps_ifd.get(ExifTags.GPS.GPSLatitudeRef), "S"
        )
        fields["longitude"] = _coordinate(
            gps_ifd.get(ExifTags.GPS.GPSLongitude), gps_ifd.get(ExifTags.GPS.GPSLongitudeRef), "W"
        )
    return fields


def _recorded_orientation(image: Image.Image) -> int:
    """The orientation the EXIF records, also where the loader applies it and resets the tag.

    pillow-heif does: libheif turns the pixels by the file's own transforms, and the EXIF
    tag is set to 1 so that nothing turns them twice, its value kept in
    ``info["original_orientation"]``. That value may come from XMP when the EXIF has no
    tag; then there is no tag to have been reset, and XMP is ignored as for every format.
    """
    original = image.info.get("original_orientation")
    if isinstance(original, int) and 1 <= original <= 8:
        had_tag = _from_exif(image, lambda exif: ExifTags.Base.Orientation in exif, False)
        if had_tag:
            return original
    return read_orientation(image)


def _frame_count(image: Image.Image) -> int:
    """Frames of an animation; 1 for any other file, a multi-page TIFF or MPO included.

    Only the first picture is rendered. Pillow counts a TIFF's pages by reading every one,
    in time that grows faster than their number (10 MB of chained one-pixel pages outlasted
    the 60 s time limit), and a malformed page past the first would fail the job.
    """
    if image.format not in _ANIMATION_FORMATS:
        return 1
    try:
        return int(getattr(image, "n_frames", 1))
    except _MALFORMED_FRAME as exc:
        raise undecodable(exc) from exc


def _from_exif(
    image: Image.Image, read: Callable[[Image.Exif], T], default: T, *, warn: bool = False
) -> T:
    """``read`` of the image's EXIF; ``default`` when it has none that can be read.

    Pillow parses EXIF lazily, so ``read`` runs under the same tolerance as the parse. The
    same EXIF is read several times per job; ``warn`` for one of them.
    """
    if isinstance(image, PngImagePlugin.PngImageFile) and "exif" not in image.info:
        # A PNG's eXIf chunk may follow its pixels, and is only read by decoding them. Done
        # here, outside the tolerance: corrupt pixels must fail the job, and an image whose
        # load failed once looks loaded (and blank) to every later call.
        image.load()
    try:
        return read(_exif_block(image))
    except _UNREADABLE_EXIF as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the disk (a TIFF's EXIF is read from the file), not the data: retried
        if warn:
            # Nothing is lost but camera data and the orientation: no failure, but worth an
            # operator's look, as an unusable ICC profile is.
            log.warning("ignoring unreadable EXIF: %s", exc)
        return default


def _exif_block(image: Image.Image) -> Image.Exif:
    """The EXIF block as parsed, without what Pillow's getexif() adds from XMP.

    getexif() takes an orientation from XMP when EXIF has none. Browsers turn pictures by
    EXIF alone, and so do we: the renditions look as the original does in a browser.
    """
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        # A TIFF's own first IFD is its EXIF, and Pillow's TIFF loader turns the pixels by
        # getexif() as it decodes them (XMP included): follow what it applies.
        return image.getexif()
    exif = Image.Exif()
    raw = image.info.get("exif")
    legacy = image.info.get("Raw profile type exif")
    if raw is None and isinstance(legacy, str):
        # ImageMagick's PNG text chunk: three lines of header, then the block in hex.
        raw = bytes.fromhex("".join(legacy.split("\n")[3:]))
    if isinstance(raw, bytes) and raw:
        exif.load(raw)
    return exif


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    cleaned = without_control_characters(value)
    return cleaned[:_MAX_TEXT_CHARS] or None


def _exif_datetime(value: object) -> str | None:
    """EXIF dates are local time without a zone ("2024:05:01 12:00:00"); keep them that way."""
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _coordinate(dms: object, ref: object, negative_ref: str) -> float | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value):
        # A camera without a fix writes 0/0, which reads as NaN: JSON (and so the row's
        # jsonb) has no such number, and it is no position anyway.
        return None
    return round(-value if _text(ref) == negative_ref else value, 6)
