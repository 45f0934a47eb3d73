"""The pixel limit at open: the header's size decides, whatever other threads do to warnings."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from infra.image_formats import TooManyPixels, open_header

LIMIT_PX = 10_000


@pytest.fixture(autouse=True)
def _pillow_limit_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    # open_header sets Pillow's process-wide limit, and later tests in this process open
    # images far larger than this file's.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def _png(width: int, height: int) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (width, height)).save(data, "PNG")
    data.seek(0)
    return data


@pytest.mark.parametrize(
    ("size", "megapixels"),
    [
        # Pillow warns above its limit (101 x 100), and raises above twice it (500 x 100):
        # either way the message says how large the image is, in megapixels
        ((101, 100), "0.0101"),
        ((199, 100), "0.020"),
        ((500, 100), "0.050"),
    ],
)
def test_an_image_over_the_limit_is_refused_at_open(size: tuple[int, int], megapixels: str) -> None:
    with pytest.raises(TooManyPixels) as refused:
        open_header(_png(*size), LIMIT_PX)
    assert str(refused.value) == f"{megapixels} megapixels is over the 0.01 megapixel limit"
    assert refused.value.pixels == size[0] * size[1]


def test_an_image_at_the_limit_opens() -> None:
    with open_header(_png(100, 100), LIMIT_PX) as image:
        assert image.size == (100, 100)


def test_the_limit_holds_when_another_thread_resets_the_warning_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given another thread that leaves warnings.catch_warnings() (restoring the filters it
    # saw) just as this one opens an image 1.5 times over the limit, which Pillow only
    # warns about
    pillow_open: Callable[..., Any] = Image.open

    def open_while_filters_are_reset(*args: Any, **kwargs: Any) -> Any:
        warnings.resetwarnings()
        warnings.simplefilter("ignore")
        return pillow_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", open_while_filters_are_reset)
    # Then the image is still refused, by its header's size
    with warnings.catch_warnings(), pytest.raises(TooManyPixels) as refused:
        open_header(_png(150, 100), LIMIT_PX)
    assert str(refused.value) == "0.015 megapixels is over the 0.01 megapixel limit"
