"""Image fixtures made by the tests themselves with Pillow: no downloads."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# Registers pillow-heif's plugin, as the server and the worker do, so HEIF fixtures can be
# made even when no test imported either before.
import infra.image_formats  # noqa: F401


def photo(
    width: int = 1200,
    height: int = 800,
    *,
    orientation: int | None = None,
    image_format: str = "JPEG",
) -> bytes:
    """A photo-like JPEG (or ``image_format``): a gradient, a red block in the top-left corner."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(buffer, image_format, quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def multi_picture_jpeg(width: int = 1200, height: int = 800) -> bytes:
    """A JPEG with a second picture appended (MPF), as phones save depth or gain maps.

    The first picture is :func:`photo`'s (red block top-left); the second is all blue.
    """
    first = Image.open(io.BytesIO(photo(width, height)))
    second = Image.new("RGB", (width // 2, height // 2), (0, 0, 255))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], quality=90)
    return buffer.getvalue()


def png_with_transparency(width: int = 300, height: int = 300) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (width // 2, 0, width, height))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def camera_photo(*, latitude: float = 52.5, longitude: float = -13.25) -> bytes:
    """A JPEG with the EXIF a phone writes: make, model, date taken and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "Imagequeue Camera Co"
    exif[0x0110] = "IQ-1"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:34:56"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (float(latitude), 0.0, 0.0)
    gps[3], gps[4] = (
        ("W", (abs(longitude), 0.0, 0.0)) if longitude < 0 else ("E", (longitude, 0.0, 0.0))
    )
    image = Image.new("RGB", (400, 300), (200, 30, 30))
    return encode(image, "JPEG", exif=exif.tobytes())


CAMERA_PHOTO_METADATA = {
    "width": 400,
    "height": 300,
    "format": "JPEG",
    "mode": "RGB",
    "frameCount": 1,
    "cameraMake": "Imagequeue Camera Co",
    "cameraModel": "IQ-1",
    "takenAt": "2024-05-01T12:34:56",
    "orientation": 1,
    "hasGps": True,
    "latitude": None,
    "longitude": None,
}
"""What ``camera_photo()`` must report: the position's presence, never the position."""


def cmyk_jpeg(width: int = 300, height: int = 200) -> bytes:
    """Pure red in CMYK: no cyan, full magenta and yellow."""
    return encode(Image.new("CMYK", (width, height), (0, 255, 255, 0)), "JPEG", quality=95)


def png_16bit(value: int = 40000) -> bytes:
    """A 16-bit greyscale PNG; 40000 of 65535 is a mid grey (about 156 of 255), not white."""
    return encode(Image.new("I;16", (300, 200), value), "PNG")


def palette_png_with_transparency() -> bytes:
    """Left half transparent (palette index 0), right half opaque green (index 1)."""
    image = Image.new("P", (300, 200), 0)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * (254 * 3))
    image.paste(1, (150, 0, 300, 200))
    return encode(image, "PNG", transparency=0)


def animated_gif() -> bytes:
    """Three frames: red, then green, then blue. The still must be the first, red one."""
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("red", "lime", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def animated_webp() -> bytes:
    """As :func:`animated_gif`, as an animated (lossless) WebP."""
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("red", "lime", "blue")]
    return encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True
    )


def pixel_bomb_png(width: int = 10_000, height: int = 6_000) -> bytes:
    """A complete, valid 1-bit PNG of 60 megapixels that is only a few kilobytes on disk.

    Written chunk by chunk, so making it allocates no image either.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def swapped_primaries_icc_profile() -> bytes:
    """A minimal ICC v2 RGB profile whose red primary is sRGB's blue and vice versa.

    Pixels tagged with it that read (255, 0, 0) are blue once converted to sRGB, so a test
    can see at a glance whether the profile was honoured.
    """

    def s15f16(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15f16(x) + s15f16(y) + s15f16(z)

    gamma_curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"
    description = b"desc" + b"\0" * 4 + struct.pack(">I", 8) + b"swapped\0" + b"\0" * 79
    # sRGB's primaries adapted to D50, as the profile connection space expects.
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    tags = [
        (b"desc", description),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*blue)),
        (b"gXYZ", xyz(*green)),
        (b"bXYZ", xyz(*red)),
        (b"rTRC", gamma_curve),
        (b"gTRC", gamma_curve),
        (b"bTRC", gamma_curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"none" + struct.pack(">I", 0x02100000) + b"mntr"
        + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + s15f16(0.9642) + s15f16(1.0) + s15f16(0.8249) + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def many_page_tiff(pages: int) -> bytes:
    """A TIFF of ``pages`` chained 1x1 grey pages, about 100 bytes each; the first is white.

    Written IFD by IFD, as a scanner or a hostile upload might chain them.
    """
    tags = [  # (tag, type SHORT=3 or LONG=4, count, value)
        (256, 3, 1, 1),  # ImageWidth
        (257, 3, 1, 1),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # PhotometricInterpretation: black is zero
        (273, 4, 1, 8),  # StripOffsets: the one pixel, right after the header
        (277, 3, 1, 1),  # SamplesPerPixel
        (279, 4, 1, 1),  # StripByteCounts
    ]
    ifd_bytes = 2 + 12 * len(tags) + 4
    out = bytearray(b"II*\0" + struct.pack("<I", 9) + b"\xff")
    for page in range(pages):
        next_ifd = len(out) + ifd_bytes if page < pages - 1 else 0
        out += struct.pack("<H", len(tags))
        out += b"".join(struct.pack("<HHII", *tag) for tag in tags)
        out += struct.pack("<I", next_ifd)
    return bytes(out)


def tiff_with_a_broken_second_page() -> bytes:
    """Two pages, red then blue; the second has lost its ImageWidth tag."""
    pages = [Image.new("RGB", (64, 48), "red"), Image.new("RGB", (32, 24), "blue")]
    data = bytearray(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    first_ifd = struct.unpack_from("<I", data, 4)[0]
    first_count = struct.unpack_from("<H", data, first_ifd)[0]
    second_ifd = struct.unpack_from("<I", data, first_ifd + 2 + 12 * first_count)[0]
    for entry in range(struct.unpack_from("<H", data, second_ifd)[0]):
        offset = second_ifd + 2 + 12 * entry
        if struct.unpack_from("<H", data, offset)[0] == 256:  # ImageWidth
            struct.pack_into("<H", data, offset, 0x9999)  # now a private tag nobody reads
    return bytes(data)
