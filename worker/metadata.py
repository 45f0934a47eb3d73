"""What a photo says about itself, read from the header and EXIF before any pixel is decoded.

Outputs never carry EXIF; this dict is the only place camera data survives, and GPS
coordinates are kept only when ``EXPOSE_GPS_COORDINATES`` allows it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

from infra.db.text import without_control_characters

_MAX_TEXT_CHARS = 100


def read_orientation(image: Image.Image) -> int:
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def extract_metadata(image: Image.Image, *, include_gps: bool) -> dict[str, Any]:
    """Camera, date taken, orientation, GPS presence, dimensions, format and mode."""
    exif = image.getexif()
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
    taken = exif_ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    metadata: dict[str, Any] = {
        "width": image.width,
        "height": image.height,
        "format": image.format,
        "mode": image.mode,
        "frameCount": getattr(image, "n_frames", 1),
        "cameraMake": _text(exif.get(ExifTags.Base.Make)),
        "cameraModel": _text(exif.get(ExifTags.Base.Model)),
        "takenAt": _exif_datetime(taken),
        "orientation": read_orientation(image),
        "hasGps": bool(gps_ifd),
        "latitude": None,
        "longitude": None,
    }
    if include_gps and gps_ifd:
        metadata["latitude"] = _coordinate(
            gps_ifd.get(ExifTags.GPS.GPSLatitude), gps_ifd.get(ExifTags.GPS.GPSLatitudeRef), "S"
        )
        metadata["longitude"] = _coordinate(
            gps_ifd.get(ExifTags.GPS.GPSLongitude), gps_ifd.get(ExifTags.GPS.GPSLongitudeRef), "W"
        )
    return metadata


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
