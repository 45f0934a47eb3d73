"""Sizes and pixel counts in the words people read: "25 MiB", "60.0 megapixels".

Limits reach people in messages ("file is larger than the 25 MiB limit"), where a raw
26214400 means nothing. A limit is rounded down, never up, so "larger than the limit" stays
true of every file the limit refuses. The web app words its own refusal of an oversized file
with the same rule (``web/src/upload/limits.ts``): both must give the same text.
"""

from __future__ import annotations

_BINARY_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
PIXELS_PER_MEGAPIXEL = 1_000_000
_MEGAPIXEL_DIGITS = 6  # decimals that show any pixel count exactly


def format_bytes(size_bytes: int) -> str:
    """``size_bytes`` in the largest binary unit it fills, to a tenth rounded down.

    "25 MiB", "5.1 MiB", "1000 B".
    """
    for unit, unit_bytes in _BINARY_UNITS:
        if size_bytes >= unit_bytes:
            whole, tenth = divmod(size_bytes * 10 // unit_bytes, 10)
            return f"{whole}.{tenth} {unit}" if tenth else f"{whole} {unit}"
    return f"{size_bytes} B"


def format_megapixels(pixels: int) -> str:
    """A pixel count in megapixels, exactly and without trailing zeros: "50", "0.04"."""
    whole, rest = divmod(pixels, PIXELS_PER_MEGAPIXEL)
    decimals = f"{rest:0{_MEGAPIXEL_DIGITS}d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def format_megapixels_over(pixels: int, max_pixels: int) -> str:
    """``pixels`` (more than ``max_pixels``) in megapixels, to the nearest tenth, or with
    as many more decimals as it takes to show two digits and more than the limit: "60.0",
    "0.050", "50.000001"."""
    for decimals in range(1, _MEGAPIXEL_DIGITS + 1):
        step = 10 ** (_MEGAPIXEL_DIGITS - decimals)
        shown = (pixels + step // 2) // step
        if shown >= 10 and shown * step > max_pixels:
            break
    whole, fraction = divmod(shown, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}"
