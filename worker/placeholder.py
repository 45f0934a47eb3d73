"""A BlurHash and a dominant colour, computed from the smallest rendition already in memory."""

from __future__ import annotations

import blurhash
from PIL import Image

from worker.colour import on_white

_SAMPLE_PX = 32
# 4x3 components for landscape, 3x4 for portrait: about 28 characters either way.
_COMPONENTS_LONG, _COMPONENTS_SHORT = 4, 3
_PALETTE_COLOURS = 6


def placeholder_and_colour(image: Image.Image) -> tuple[str, str]:
    """``(blurhash, "#rrggbb")`` for ``image`` shown on white, as a page would show it."""
    sample = image.copy()
    sample.thumbnail((_SAMPLE_PX, _SAMPLE_PX), Image.Resampling.BOX)
    sample = on_white(sample).convert("RGB")
    landscape = sample.width >= sample.height
    x_components = _COMPONENTS_LONG if landscape else _COMPONENTS_SHORT
    y_components = _COMPONENTS_SHORT if landscape else _COMPONENTS_LONG
    rows = [[sample.getpixel((x, y)) for x in range(sample.width)] for y in range(sample.height)]
    return blurhash.encode(rows, x_components, y_components), _dominant(sample)


def _dominant(sample: Image.Image) -> str:
    # The most common colour of a small palette, not the mean: a red car on grey asphalt
    # is grey, while the mean would be a brown that appears nowhere in the photo.
    quantized = sample.quantize(_PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    colours = quantized.getcolors() or [(1, 0)]
    _, index = max(colours)
    assert isinstance(index, int)  # a palette image's colours are palette indexes
    palette = quantized.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
