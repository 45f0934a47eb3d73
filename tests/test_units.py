"""Limits in messages are worded for people, and never rounded past what they refuse."""

from __future__ import annotations

import pytest

from infra.image_formats import TooManyPixels
from infra.units import format_bytes, format_megapixels, format_megapixels_over


@pytest.mark.parametrize(
    ("size_bytes", "words"),
    [
        (0, "0 B"),
        (1000, "1000 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (25 * 1024 * 1024, "25 MiB"),
        # 5 MiB + 64 KiB = 5.0625 MiB: down to a tenth, so "larger than" stays true
        (5 * 1024 * 1024 + 64 * 1024, "5 MiB"),
        (20 * (5 * 1024 * 1024 + 64 * 1024), "101.2 MiB"),
        (1024**3 - 1, "1023.9 MiB"),
        (3 * 1024**3, "3 GiB"),
    ],
)
def test_bytes_are_said_in_binary_units_rounded_down(size_bytes: int, words: str) -> None:
    assert format_bytes(size_bytes) == words


@pytest.mark.parametrize(
    ("pixels", "words"),
    [(50_000_000, "50"), (1_000_000, "1"), (40_000, "0.04"), (12_345_678, "12.345678")],
)
def test_a_pixel_limit_is_said_exactly_in_megapixels(pixels: int, words: str) -> None:
    assert format_megapixels(pixels) == words


@pytest.mark.parametrize(
    ("pixels", "max_pixels", "words"),
    [
        (60_000_000, 50_000_000, "60.0"),
        (50_090_000, 50_000_000, "50.1"),
        (50_000_001, 50_000_000, "50.000001"),
        (45_000, 40_000, "0.045"),
        (50_000, 10_000, "0.050"),
    ],
)
def test_a_count_over_a_limit_shows_two_digits_and_more_than_the_limit(
    pixels: int, max_pixels: int, words: str
) -> None:
    assert format_megapixels_over(pixels, max_pixels) == words


def test_the_pixel_limit_is_worded_with_or_without_the_images_size() -> None:
    assert str(TooManyPixels(50_000_000, 60_000_000)) == (
        "60.0 megapixels is over the 50 megapixel limit"
    )
    assert str(TooManyPixels(50_000_000)) == "image is over the 50 megapixel limit"
