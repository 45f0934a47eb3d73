"""Pillow work: decode an original once and write its thumbnail.

Runs in a pool process, so it takes plain, picklable arguments and returns a small
result; the event loop never touches pixels.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from infra.image_formats import ACCEPTED_FORMATS, DEFAULT_MAX_PIXELS
from infra.storage import InvalidKey, Storage, StorageError


class PermanentImageError(Exception):
    """The original cannot become a thumbnail, however often we try (corrupt, unsupported)."""


@dataclass(frozen=True, slots=True)
class ThumbnailSpec:
    max_px: int
    quality: int
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass(frozen=True, slots=True)
class ThumbnailResult:
    width: int
    height: int
    size_bytes: int
    source_width: int
    source_height: int
    source_format: str


def make_thumbnail(
    storage: Storage,
    original_key: str,
    thumbnail_key: str,
    spec: ThumbnailSpec,
    on_stage: Callable[[str, float], None] | None = None,
) -> ThumbnailResult:
    """Write a JPEG that fits ``spec.max_px`` square, aspect kept, never upscaled.

    ``on_stage`` hears of each finished stage with the progress made so far.
    """
    report = on_stage or (lambda _stage, _progress: None)
    try:
        source = storage.open_read(original_key)
    except InvalidKey as exc:
        raise PermanentImageError(str(exc)) from exc
    except StorageError as exc:
        raise PermanentImageError(f"original file is missing: {original_key}") from exc
    with source, warnings.catch_warnings():
        # A decompression bomb must fail the job, not merely log a warning.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = spec.max_pixels
        try:
            image = Image.open(source, formats=tuple(ACCEPTED_FORMATS))
            source_size = image.size
            source_format = image.format or "unknown"
            thumbnail = _render(image, spec.max_px)
            report("decoded", 0.5)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PermanentImageError(f"image exceeds the pixel limit: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise PermanentImageError(
                "not a supported image (accepted: " + ", ".join(ACCEPTED_FORMATS) + ")"
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Pillow reports truncated or corrupt data with these.
            raise PermanentImageError(f"cannot decode image: {exc}") from exc

    try:
        with storage.atomic_writer(thumbnail_key) as target:
            thumbnail.save(target, "JPEG", quality=spec.quality, optimize=True, progressive=True)
    except InvalidKey as exc:
        raise PermanentImageError(str(exc)) from exc
    report("rendition:thumb", 0.9)
    return ThumbnailResult(
        width=thumbnail.width,
        height=thumbnail.height,
        size_bytes=storage.size(thumbnail_key),
        source_width=source_size[0],
        source_height=source_size[1],
        source_format=source_format,
    )


def _render(image: Image.Image, max_px: int) -> Image.Image:
    # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale: far less work for big photos.
    # It is a no-op for other formats.
    image.draft("RGB", (max_px, max_px))
    image = ImageOps.exif_transpose(image)
    image = _flatten_to_rgb(image)
    image.thumbnail((max_px, max_px), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite transparent pixels onto white, not black."""
    if image.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image
