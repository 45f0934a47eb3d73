"""Pixel modes and colour: what every input becomes before resizing, after it, and per format.

Outputs are 8-bit sRGB without an embedded profile, which is what browsers assume for
untagged images; transparency survives where the output format can hold it.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageCms

from infra.renditions import OutputFormat

log = logging.getLogger(__name__)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_HIGH_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def prepare_for_resize(image: Image.Image) -> Image.Image:
    """Modes resizing cannot handle well become ones it can, keeping transparency.

    Pillow resizes palette and 1-bit images with NEAREST whatever filter is asked for, and
    clips 16-bit values when converting to 8-bit, so both are converted first.
    """
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in _HIGH_DEPTH_MODES:
        # Scale 0..65535 down to 0..255 instead of clipping everything above 255 to white.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        return image.convert("LA" if image.mode == "L" else "RGBA")
    return image


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert through the embedded ICC profile when there is one; CMYK always ends RGB."""
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    colour = image.convert(image.mode[:-1]) if alpha is not None else image
    converted = _through_profile(colour, icc_profile) if icc_profile else None
    if converted is None:
        converted = colour.convert("RGB") if colour.mode not in ("RGB", "L") else colour
    if alpha is not None:
        converted = converted.convert("RGBA" if converted.mode == "RGB" else "LA")
        converted.putalpha(alpha)
    return converted


def _through_profile(image: Image.Image, icc_profile: bytes) -> Image.Image | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        result = ImageCms.profileToProfile(
            image,
            source,
            _SRGB,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        # A broken or mismatched profile is common in the wild; the pixels are still usable,
        # but their colours may be off, which is worth an operator's look.
        log.warning("ignoring unusable ICC profile: %s", exc)
        return None
    assert result is not None
    return result


def for_format(image: Image.Image, image_format: OutputFormat) -> Image.Image:
    """The mode the encoder needs: JPEG gets transparent pixels on white, not black."""
    if image_format is OutputFormat.JPEG:
        return on_white(image)
    if image_format is OutputFormat.PNG:
        return image
    # WebP and AVIF encode RGB or RGBA only.
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


def on_white(image: Image.Image) -> Image.Image:
    """An image with alpha as RGB on a white background; any other as it is."""
    if not _has_alpha(image):
        return image
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image.convert("RGBA"), mask=image.getchannel("A"))
    return background


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA")
