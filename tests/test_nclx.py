"""Profiles built from nclx codes, checked by converting through them with LittleCMS."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageCms

from worker.nclx import icc_profile_for_nclx

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _nclx(primaries: int, transfer: int) -> dict[str, Any]:
    """As pillow-heif reports it in ``info["nclx_profile"]``."""
    return {
        "color_primaries": primaries,
        "transfer_characteristics": transfer,
        "matrix_coefficients": 6,
        "full_range_flag": 1,
    }


def _to_srgb(nclx: dict[str, Any], rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    profile = icc_profile_for_nclx(nclx)
    assert profile is not None
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    converted = ImageCms.profileToProfile(Image.new("RGB", (1, 1), rgb), source, _SRGB)
    assert converted is not None
    red, green, blue = converted.getpixel((0, 0))  # type: ignore[misc]
    return red, green, blue


@pytest.mark.parametrize(
    "nclx",
    [_nclx(1, 13), _nclx(2, 2), _nclx(1, 2), {}, _nclx(1, 1)],
    ids=["srgb", "unspecified", "unspecified transfer", "nothing said", "bt.709"],
)
def test_srgb_needs_no_profile(nclx: dict[str, Any]) -> None:
    assert icc_profile_for_nclx(nclx) is None


@pytest.mark.parametrize(
    "nclx",
    [_nclx(9, 16), _nclx(9, 18), _nclx(99, 13), _nclx(12, 99)],
    ids=["pq", "hlg", "unknown primaries", "unknown transfer"],
)
def test_what_no_profile_can_say_is_taken_as_srgb(nclx: dict[str, Any]) -> None:
    assert icc_profile_for_nclx(nclx) is None


@pytest.mark.parametrize("primaries", [5, 6, 7, 9, 11, 12])
def test_white_and_greys_stay_neutral(primaries: int) -> None:
    # DCI-P3 (11) has a white of its own, adapted to sRGB's like the others' D65
    nclx = _nclx(primaries, 13)
    assert _to_srgb(nclx, (255, 255, 255)) == (255, 255, 255)
    assert _to_srgb(nclx, (128, 128, 128)) == pytest.approx((128, 128, 128), abs=1)


def test_the_transfer_function_is_decoded() -> None:
    # Given sRGB's primaries with linear light: half of it is sRGB's 188 (0.5 encoded)
    assert _to_srgb(_nclx(1, 8), (128, 128, 128)) == pytest.approx((188, 188, 188), abs=1)
    # And a gamma of 2.2: its 0.5 is 0.22 of the light, sRGB's 129
    assert _to_srgb(_nclx(1, 4), (128, 128, 128)) == pytest.approx((129, 129, 129), abs=1)


def test_video_transfers_are_shown_as_srgb_in_their_own_gamut() -> None:
    # BT.2020 with its video transfer converts as BT.2020 with sRGB's: only the gamut moves
    assert _to_srgb(_nclx(9, 1), (200, 100, 50)) == _to_srgb(_nclx(9, 13), (200, 100, 50))
    assert _to_srgb(_nclx(9, 14), (128, 128, 128)) == pytest.approx((128, 128, 128), abs=1)


def test_display_p3_is_converted_to_srgb() -> None:
    # (200, 100, 50) in Display P3: decode the sRGB curve, apply the P3-to-sRGB matrix of
    # the two sets of primaries at D65, encode again
    assert _to_srgb(_nclx(12, 13), (200, 100, 50)) == pytest.approx((215, 93, 31), abs=1)
