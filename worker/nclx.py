"""ICC profiles for colours described by code points (ITU-T H.273) rather than a profile.

A HEIF may describe its colours with an nclx box: numbers for its primaries, its transfer
function and its YCbCr matrix. LittleCMS (ImageCms) converts between ICC profiles only, so
a display profile is built from the primaries and the transfer function, as browsers'
colour engines build one from the same codes. The matrix is not needed: libheif has
already used it to make RGB.

sRGB's own codes give no profile (there is nothing to convert), and so do codes no
profile can express (PQ and HLG are HDR, which needs tone mapping) or that are unknown:
those images are taken as sRGB, as browsers take untagged images.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

Vector = tuple[float, float, float]
Matrix = tuple[Vector, Vector, Vector]
Chromaticity = tuple[float, float]

_D65 = (0.3127, 0.3290)
_D50_XYZ = (0.9642, 1.0, 0.8249)
"""The ICC profile connection space's white."""

# H.273 colour primaries: red, green, blue and white, as CIE 1931 xy.
_PRIMARIES: dict[int, tuple[Chromaticity, Chromaticity, Chromaticity, Chromaticity]] = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), _D65),  # BT.709, sRGB
    5: ((0.640, 0.330), (0.290, 0.600), (0.150, 0.060), _D65),  # BT.601, 625 lines
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), _D65),  # BT.601, 525 lines
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), _D65),  # SMPTE 240M
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), _D65),  # BT.2020
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),  # DCI-P3
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),  # Display P3
}

# H.273 transfer characteristics, as the curve that decodes them: the (g, a, b, c, d) of
# ICC parametric curve 3, Y = (aX + b)^g from X = d on and Y = cX below it.
_TRANSFERS: dict[int, tuple[float, float, float, float, float]] = {
    4: (2.2, 1.0, 0.0, 0.0, 0.0),  # gamma 2.2
    5: (2.8, 1.0, 0.0, 0.0, 0.0),  # gamma 2.8
    8: (1.0, 1.0, 0.0, 0.0, 0.0),  # linear
    13: (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045),  # sRGB
}

_UNSPECIFIED = 2
_SRGB_PRIMARIES = 1
_SRGB_TRANSFER = 13
# BT.709, BT.601 and BT.2020 (10 and 12 bit) define the curve of a camera, not of a display.
# Displays and players show them close to sRGB, and Chromium decodes them as sRGB: so do we.
_SHOWN_AS_SRGB_TRANSFERS = frozenset({_UNSPECIFIED, 1, 6, 14, 15})

_BRADFORD: Matrix = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)


def icc_profile_for_nclx(nclx: dict[str, Any]) -> bytes | None:
    """A display profile for pillow-heif's ``info["nclx_profile"]``, or None.

    None for sRGB's own codes (nothing to convert) and for codes no profile can express.
    """
    primaries = nclx.get("color_primaries", _UNSPECIFIED)
    transfer = nclx.get("transfer_characteristics", _UNSPECIFIED)
    # As browsers do: what is not said is sRGB's.
    primaries = _SRGB_PRIMARIES if primaries == _UNSPECIFIED else primaries
    transfer = _SRGB_TRANSFER if transfer in _SHOWN_AS_SRGB_TRANSFERS else transfer
    if (primaries, transfer) == (_SRGB_PRIMARIES, _SRGB_TRANSFER):
        return None
    if primaries not in _PRIMARIES or transfer not in _TRANSFERS:
        # The colours will be off: worth an operator's look, as an unusable ICC profile is.
        log.warning(
            "taking nclx colour primaries %s, transfer %s as sRGB: no profile for them",
            primaries,
            transfer,
        )
        return None
    return _display_profile(primaries, transfer)


@cache
def _display_profile(primaries: int, transfer: int) -> bytes:
    """An ICC v4 matrix/TRC display profile (ICC.1:2010, the parts LittleCMS reads)."""
    red, green, blue, white = _PRIMARIES[primaries]
    adaptation = _bradford_to_d50(white)
    # The PCS is D50: the colorants are adapted to it, as LittleCMS's own sRGB's are.
    colorants = _multiply(adaptation, _rgb_to_xyz(red, green, blue, white))
    curve = b"para" + bytes(4) + struct.pack(">HH", 3, 0) + _s15f16(_TRANSFERS[transfer])
    red_xyz, green_xyz, blue_xyz = _transpose(colorants)
    tags = [
        (b"desc", _text(f"H.273 primaries {primaries}, transfer {transfer}")),
        (b"cprt", _text("No copyright, use freely")),
        (b"wtpt", _xyz(_D50_XYZ)),
        (b"chad", b"sf32" + bytes(4) + _s15f16(value for row in adaptation for value in row)),
        (b"rXYZ", _xyz(red_xyz)),
        (b"gXYZ", _xyz(green_xyz)),
        (b"bXYZ", _xyz(blue_xyz)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_end = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", table_end + len(data), len(body))
        data += body + bytes(-len(body) % 4)
    size = table_end + len(data)
    header = (
        struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x04300000) + b"mntr"
        + b"RGB XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + bytes(24)
        + struct.pack(">I", 0) + _s15f16(_D50_XYZ) + bytes(48)
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + data


def _rgb_to_xyz(
    red: Chromaticity, green: Chromaticity, blue: Chromaticity, white: Chromaticity
) -> Matrix:
    """Columns: the XYZ of full red, green and blue, which together make ``white`` (Y = 1)."""
    primaries = _transpose(_matrix([_xy_to_xyz(red), _xy_to_xyz(green), _xy_to_xyz(blue)]))
    scale = _apply(_inverse(primaries), _xy_to_xyz(white))
    return _matrix(
        [[value * factor for value, factor in zip(row, scale, strict=True)] for row in primaries]
    )


def _bradford_to_d50(white: Chromaticity) -> Matrix:
    """The Bradford chromatic adaptation from ``white`` to D50 (ICC.1:2010 annex E)."""
    source = _apply(_BRADFORD, _xy_to_xyz(white))
    target = _apply(_BRADFORD, _D50_XYZ)
    gains = _matrix(
        [
            [t / s if i == j else 0.0 for j in range(3)]
            for i, (t, s) in enumerate(zip(target, source, strict=True))
        ]
    )
    return _multiply(_inverse(_BRADFORD), _multiply(gains, _BRADFORD))


def _xy_to_xyz(xy: Chromaticity) -> Vector:
    x, y = xy
    return (x / y, 1.0, (1 - x - y) / y)


def _matrix(rows: Iterable[Iterable[float]]) -> Matrix:
    first, second, third = (_vector(row) for row in rows)
    return (first, second, third)


def _vector(values: Iterable[float]) -> Vector:
    a, b, c = values
    return (a, b, c)


def _apply(matrix: Matrix, vector: Vector) -> Vector:
    return _vector(sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)


def _multiply(left: Matrix, right: Matrix) -> Matrix:
    return _transpose(_matrix(_apply(left, column) for column in _transpose(right)))


def _transpose(matrix: Matrix) -> Matrix:
    return _matrix(zip(*matrix, strict=True))


def _inverse(matrix: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = matrix
    adjugate = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    determinant = a * adjugate[0][0] + b * adjugate[1][0] + c * adjugate[2][0]
    return _matrix([[value / determinant for value in row] for row in adjugate])


def _s15f16(values: Iterable[float]) -> bytes:
    return b"".join(struct.pack(">i", round(value * 65536)) for value in values)


def _xyz(values: Iterable[float]) -> bytes:
    return b"XYZ " + bytes(4) + _s15f16(values)


def _text(text: str) -> bytes:
    """A multiLocalizedUnicodeType of one record, en-US."""
    encoded = text.encode("utf-16-be")
    return (
        b"mluc"
        + bytes(4)
        + struct.pack(">II", 1, 12)
        + b"enUS"
        + struct.pack(">II", len(encoded), 28)
        + encoded
    )
