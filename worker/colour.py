"""Pixel modes and colour: what every input becomes before resizing, after it, and per format.

Outputs are 8-bit sRGB without an embedded profile, which is what browsers assume for
untagged images; transparency survives where the output format can hold it.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageCms

from infra.renditions import OutputFormat
from worker.nclx import icc_profile_for_nclx

log = logging.getLogger(__name__)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_HIGH_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_16_BIT_SAMPLES = range(65536)


def prepare_for_resize(image: Image.Image) -> Image.Image:
    """Modes resizing cannot handle well become ones it can, keeping transparency.

    Pillow resizes palette and 1-bit images with NEAREST whatever filter is asked for, and
    clips 16-bit and floating-point values when converting to 8-bit, so all are converted
    first.
    """
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "F":
        # Floating-point samples run from 0.0 (black) to 1.0 (white); beyond is clipped.
        return image.point(lambda value: value * 255).convert("L")
    if image.mode in _HIGH_DEPTH_MODES:
        return _16_bit_to_8_bit(image)
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        return image.convert("LA" if image.mode == "L" else "RGBA")
    return image


def _16_bit_to_8_bit(image: Image.Image) -> Image.Image:
    """Grey scaled 0..65535 down to 0..255 (not clipped to white above 255), keeping tRNS."""
    samples = image.convert("I")
    grey = samples.point(lambda value: value / 256).convert("L")
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):
        # A PNG's tRNS chunk names the one 16-bit value that is transparent: matched before
        # scaling, which makes it one with the 255 values beside it.
        lut = [0 if value == transparent else 255 for value in _16_BIT_SAMPLES]
        grey.putalpha(samples.point(lut, "L"))
    return grey


def colour_profile(image: Image.Image) -> bytes | None:
    """The ICC profile that says what the image's colours are, if it says.

    A HEIF may say it with nclx codes (H.273) instead, which pillow-heif reports in
    ``info["nclx_profile"]``: a profile is built for those that are not sRGB's.
    """
    icc_profile = image.info.get("icc_profile")
    if isinstance(icc_profile, bytes) and icc_profile:
        return icc_profile
    nclx = image.info.get("nclx_profile")
    if isinstance(nclx, dict) and image.mode in ("RGB", "RGBA"):
        return icc_profile_for_nclx(nclx)
    return None


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
