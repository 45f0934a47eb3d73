"""The Pillow step on its own: what a user sees in each rendition, and how bad input fails."""

from __future__ import annotations

import errno
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from infra.image_formats import ACCEPTED_FORMATS
from infra.renditions import (
    DEFAULT_PRESETS,
    Fit,
    OutputFormat,
    RenditionSpec,
    rendition_key,
    thumb_spec,
)
from infra.storage import StorageError
from infra.storage.local import LocalStorage
from tests.images import (
    CAMERA_PHOTO_METADATA,
    animated_gif,
    animated_webp,
    camera_photo,
    cmyk_jpeg,
    decode,
    encode,
    many_page_tiff,
    multi_picture_jpeg,
    palette_png_with_transparency,
    photo,
    pixel_bomb_png,
    png_16bit,
    png_with_transparency,
    swapped_primaries_icc_profile,
    tiff_with_a_broken_second_page,
)
from worker.processing import (
    Limits,
    PermanentImageError,
    ProcessResult,
    Target,
    ThumbnailSpec,
    make_thumbnail,
    process_image,
)
from worker.retries import is_transient

THUMB = thumb_spec(256, 85)
ORIGINAL_KEY = "originals/in.img"
DEFAULT_LIMITS = Limits()


def _run(
    tmp_path: Path,
    content: bytes,
    specs: list[RenditionSpec] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[ProcessResult, dict[str, Image.Image]]:
    """Process ``content``; return the result and every rendition decoded from disk."""
    storage = LocalStorage(tmp_path)
    (tmp_path / "originals").mkdir(exist_ok=True)
    (tmp_path / ORIGINAL_KEY).write_bytes(content)
    targets = [
        Target(spec, rendition_key(ORIGINAL_KEY, spec))
        for spec in (specs if specs is not None else [THUMB, *DEFAULT_PRESETS])
    ]
    result = process_image(storage, ORIGINAL_KEY, targets, limits)
    outputs = {}
    for rendition in result.renditions:
        data = (tmp_path / rendition.key).read_bytes()
        assert rendition.size_bytes == len(data)
        outputs[rendition.name] = decode(data)
    return result, outputs


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    red, green, blue = image.convert("RGB").getpixel(xy)  # type: ignore[misc]
    return red, green, blue


def _written(tmp_path: Path) -> list[Path]:
    """Renditions, whole or half-written (those are staged in ``.staging/``)."""
    folders = [tmp_path / "renditions", tmp_path / ".staging"]
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(tmp_path: Path, orientation: int) -> None:
    # Given an 800x400 photo whose red block marks the stored top-left corner
    _, outputs = _run(tmp_path, photo(800, 400, orientation=orientation), [THUMB])
    thumb = outputs["thumb"]
    # Then 5-8 (the camera was turned) come out portrait, 1-4 landscape
    assert thumb.size == ((256, 128) if orientation < 5 else (128, 256))
    # And the block is where the camera saw it, and nowhere else
    _assert_block_where_the_camera_saw_it(thumb, orientation)


# pillow-heif has its own test below; JPEG is above, with all eight orientations.
_OTHER_FORMATS_WITH_EXIF = ["TIFF", "PNG", "WEBP"] + (
    ["AVIF"] if "AVIF" in ACCEPTED_FORMATS else []
)


@pytest.mark.parametrize("image_format", _OTHER_FORMATS_WITH_EXIF)
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_every_format_is_turned_upright_exactly_once(
    tmp_path: Path, image_format: str, orientation: int
) -> None:
    # Given an 800x400 picture taken with the camera turned, in a format that holds EXIF
    content = photo(800, 400, orientation=orientation, image_format=image_format)
    result, outputs = _run(tmp_path, content, [THUMB])
    # Then the image reports its upright size, and the orientation its file records
    upright = (800, 400) if orientation < 5 else (400, 800)
    assert (result.width, result.height) == upright
    assert (result.metadata["width"], result.metadata["height"]) == upright
    assert result.metadata["orientation"] == orientation
    # And its thumbnail was turned once (Pillow's TIFF loader turns the pixels itself)
    thumb = outputs["thumb"]
    assert thumb.size == ((256, 128) if orientation < 5 else (128, 256))
    _assert_block_where_the_camera_saw_it(thumb, orientation)


def _assert_block_where_the_camera_saw_it(thumb: Image.Image, orientation: int) -> None:
    """:func:`photo`'s red block, stored top-left, as the EXIF 2.3 orientation table puts it."""
    w, h = thumb.size
    corner = {"TL": (5, 5), "TR": (w - 6, 5), "BR": (w - 6, h - 6), "BL": (5, h - 6)}
    where = {1: "TL", 2: "TR", 3: "BR", 4: "BL", 5: "TL", 6: "TR", 7: "BR", 8: "BL"}
    red, green, _ = _rgb(thumb, corner[where[orientation]])
    assert red > 200 and green < 60, f"no block at {where[orientation]}"
    for name, xy in corner.items():
        if name != where[orientation]:
            assert _rgb(thumb, xy)[0] < 200 or _rgb(thumb, xy)[1] > 60, f"a block at {name}"


_XMP_ORIENTATION_6 = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
    b' xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_an_orientation_only_in_xmp_is_ignored_as_browsers_do(
    tmp_path: Path, image_format: str
) -> None:
    # Given an 800x400 picture without EXIF whose XMP says it was taken turned
    image = Image.new("RGB", (800, 400), "red")
    if image_format == "PNG":
        # Pillow writes a PNG's XMP only as the text chunk Adobe defined for it
        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", _XMP_ORIENTATION_6.decode())
        content = encode(image, "PNG", pnginfo=text)
    else:
        content = encode(image, image_format, xmp=_XMP_ORIENTATION_6)
    assert b"tiff:Orientation" in content
    result, outputs = _run(tmp_path, content, [THUMB])
    # Then it is shown as stored, in every format, as a browser shows it
    assert (result.width, result.height) == (800, 400)
    assert result.metadata["orientation"] == 1
    assert outputs["thumb"].size == (256, 128)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_an_unreadable_exif_block_counts_as_none(tmp_path: Path, image_format: str) -> None:
    # Given a valid picture whose EXIF block is not the TIFF structure EXIF must be
    content = encode(
        Image.new("RGB", (640, 480), "red"), image_format, exif=b"Exif\0\0garbage, not TIFF"
    )
    # When it is processed
    result, outputs = _run(tmp_path, content, [THUMB])
    # Then it renders as a picture without EXIF: upright as stored, no camera data
    assert outputs["thumb"].size == (256, 192)
    red, green, blue = _rgb(outputs["thumb"], (20, 20))
    assert red > 200 and green < 60 and blue < 60
    assert result.metadata["orientation"] == 1
    assert result.metadata["cameraMake"] is None and result.metadata["takenAt"] is None
    assert result.metadata["hasGps"] is False


@pytest.mark.parametrize("orientation", [1, 6])
def test_an_iphone_heic_photo_comes_out_upright(tmp_path: Path, orientation: int) -> None:
    # Given a HEIC photo, as iPhones save them, held level or turned
    content = photo(800, 400, orientation=orientation, image_format="HEIF")
    result, outputs = _run(tmp_path, content, [THUMB])
    # Then it is read as HEIF and turned upright once, as a JPEG would be
    assert result.format == "HEIF"
    # And its metadata reports the orientation it was saved with, as a JPEG's does
    assert result.metadata["orientation"] == orientation
    thumb = outputs["thumb"]
    assert thumb.size == ((256, 128) if orientation == 1 else (128, 256))
    top_left, top_right = (5, 5), (thumb.width - 6, 5)
    red, green, _ = _rgb(thumb, top_left if orientation == 1 else top_right)
    assert red > 200 and green < 60


def test_default_renditions_have_their_formats_and_sizes(tmp_path: Path) -> None:
    result, outputs = _run(tmp_path, photo(1200, 800))
    assert {name: (image.format, image.size) for name, image in outputs.items()} == {
        "thumb": ("JPEG", (256, 171)),
        "small": ("WEBP", (640, 427)),
        "large": ("WEBP", (1200, 800)),  # the 1280 box would upscale: kept at 1200
    }
    assert outputs["thumb"].info.get("progressive") == 1
    assert (result.width, result.height, result.format) == (1200, 800, "JPEG")
    for image in outputs.values():
        assert _rgb(image, (3, 3))[0] > 200  # the red block survived every resize


def test_outputs_carry_no_exif_and_no_gps(tmp_path: Path) -> None:
    specs = [
        THUMB,
        *(RenditionSpec(name=f.lower(), width=200, format=f) for f in ("PNG", "WEBP", "AVIF")),
    ]
    _, outputs = _run(tmp_path, camera_photo(), specs)
    assert set(outputs) == {"thumb", "png", "webp", "avif"}
    for name, image in outputs.items():
        assert "exif" not in image.info, name
        assert not image.getexif(), name
        assert "icc_profile" not in image.info, name


def test_metadata_keeps_camera_data_but_only_the_presence_of_gps(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, camera_photo(), [THUMB])
    assert result.metadata == CAMERA_PHOTO_METADATA


def test_gps_coordinates_are_kept_when_the_setting_allows(tmp_path: Path) -> None:
    limits = Limits(expose_gps_coordinates=True)
    result, _ = _run(tmp_path, camera_photo(latitude=52.5, longitude=-13.25), [THUMB], limits)
    assert (result.metadata["latitude"], result.metadata["longitude"]) == (52.5, -13.25)


def test_gps_coordinates_a_camera_could_not_fix_are_null(tmp_path: Path) -> None:
    # Given a photo whose GPS fields are there but 0/0, as cameras without a fix write them
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    unknown = (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))
    gps[1], gps[2], gps[3], gps[4] = "N", unknown, "E", unknown
    content = encode(Image.new("RGB", (400, 300), (200, 30, 30)), "JPEG", exif=exif.tobytes())
    # When it is processed with coordinates exposed
    result, _ = _run(tmp_path, content, [THUMB], Limits(expose_gps_coordinates=True))
    # Then it has GPS but no position, and its metadata is valid JSON (no NaN) for the row
    assert result.metadata["hasGps"] is True
    assert (result.metadata["latitude"], result.metadata["longitude"]) == (None, None)
    json.dumps(result.metadata, allow_nan=False)


def test_cover_crops_to_exactly_the_box_around_the_centre(tmp_path: Path) -> None:
    square = RenditionSpec(name="square", width=300, fit=Fit.COVER, format=OutputFormat.PNG)
    _, outputs = _run(tmp_path, photo(1200, 800), [square])
    image = outputs["square"]
    assert image.size == (300, 300)
    # The centre 800x800 keeps the right two thirds of the 300x200 red block (x 200-300).
    assert _rgb(image, (5, 5))[0] > 200
    assert _rgb(image, (5, 80))[1] > 60  # below the block: the grey gradient, not red


def test_nothing_is_ever_upscaled(tmp_path: Path) -> None:
    cover = RenditionSpec(name="cover", width=300, height=300, fit=Fit.COVER)
    _, outputs = _run(tmp_path, photo(100, 60), [THUMB, *DEFAULT_PRESETS, cover])
    assert {name: image.size for name, image in outputs.items()} == {
        "thumb": (100, 60),
        "small": (100, 60),
        "large": (100, 60),
        "cover": (60, 60),  # the box's aspect, at the original's scale
    }


def test_cmyk_input_becomes_rgb_with_the_same_colour(tmp_path: Path) -> None:
    result, outputs = _run(tmp_path, cmyk_jpeg())
    assert result.metadata["mode"] == "CMYK"
    for image in outputs.values():
        assert image.mode == "RGB"
        red, green, blue = _rgb(image, (50, 50))
        assert red > 220 and green < 40 and blue < 40


def test_16_bit_input_is_scaled_not_clipped(tmp_path: Path) -> None:
    _, outputs = _run(tmp_path, png_16bit(40000))
    for image in outputs.values():
        assert _rgb(image, (20, 20)) == pytest.approx((156, 156, 156), abs=3)


def test_float_input_is_scaled_from_0_to_1(tmp_path: Path) -> None:
    # Given a 32-bit floating-point TIFF at 60 % grey (its samples run from 0.0 to 1.0)
    _, outputs = _run(tmp_path, encode(Image.new("F", (300, 200), 0.6), "TIFF"))
    # Then every rendition is that grey, not black
    for name, image in outputs.items():
        assert _rgb(image, (20, 20)) == pytest.approx((153, 153, 153), abs=3), name


def test_a_16_bit_transparent_grey_value_stays_transparent(tmp_path: Path) -> None:
    # Given a 16-bit grey PNG whose tRNS chunk makes its value 40000 transparent, on the
    # left half, and a value just beside it (the same once scaled to 8-bit) on the right
    image = Image.new("I;16", (300, 200), 40000)
    image.paste(Image.new("I;16", (150, 200), 40001), (150, 0))
    content = encode(image, "PNG", transparency=40000)
    specs = [THUMB, *(RenditionSpec(name=f.lower(), width=200, format=f) for f in ("PNG", "WEBP"))]
    _, outputs = _run(tmp_path, content, specs)
    # Then the left half is transparent where the format holds alpha, and the right opaque
    for name in ("png", "webp"):
        rgba = outputs[name].convert("RGBA")
        assert rgba.getpixel((10, 50))[3] == 0, name  # type: ignore[index]
        assert rgba.getpixel((190, 50)) == pytest.approx((156, 156, 156, 255), abs=3), name
    # And it is on white in the JPEG thumbnail
    assert _rgb(outputs["thumb"], (10, 50)) == pytest.approx((255, 255, 255), abs=3)
    assert _rgb(outputs["thumb"], (240, 50)) == pytest.approx((156, 156, 156), abs=3)


def test_palette_transparency_survives_except_in_jpeg(tmp_path: Path) -> None:
    specs = [
        THUMB,
        *(RenditionSpec(name=f.lower(), width=200, format=f) for f in ("PNG", "WEBP", "AVIF")),
    ]
    _, outputs = _run(tmp_path, palette_png_with_transparency(), specs)
    for name in ("png", "webp", "avif"):
        image = outputs[name].convert("RGBA")
        assert image.getpixel((10, 50))[3] == 0, name  # type: ignore[index]
        assert image.getpixel((190, 50))[3] == 255, name  # type: ignore[index]
    thumb = outputs["thumb"]
    assert thumb.mode == "RGB"
    assert _rgb(thumb, (10, 50)) == pytest.approx((255, 255, 255), abs=3)
    assert _rgb(thumb, (240, 50))[1] > 150


def test_alpha_becomes_white_not_black_in_jpeg(tmp_path: Path) -> None:
    _, outputs = _run(tmp_path, png_with_transparency(300, 300), [THUMB])
    assert _rgb(outputs["thumb"], (10, 128)) == pytest.approx((255, 255, 255), abs=3)
    red, _, blue = _rgb(outputs["thumb"], (245, 128))
    assert blue > 200 and red < 60


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    result, outputs = _run(tmp_path, animated_gif())
    assert result.metadata["frameCount"] == 3
    for image in outputs.values():
        assert getattr(image, "n_frames", 1) == 1
        red, green, blue = _rgb(image, (50, 50))
        assert red > 200 and green < 60 and blue < 60


def _frame_colours(image: Image.Image) -> list[str]:
    names = {(255, 0, 0): "red", (0, 255, 0): "lime", (0, 0, 255): "blue"}
    colours = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        pixel = _rgb(image, (50, 50))
        colours.append(
            min(
                names.items(),
                key=lambda kv: sum(abs(a - b) for a, b in zip(kv[0], pixel, strict=True)),
            )[1]
        )
    return colours


@pytest.mark.parametrize("animation", [animated_gif, animated_webp], ids=["gif", "webp"])
@pytest.mark.parametrize(
    ("max_frames", "expected"), [(2, ["red", "lime"]), (10, ["red", "lime", "blue"])]
)
def test_webp_renditions_of_an_animation_keep_its_frames_up_to_the_cap(
    tmp_path: Path, animation: Callable[[], bytes], max_frames: int, expected: list[str]
) -> None:
    # Given an animated GIF or WebP (red, green, blue; 100 ms each) and a frame cap
    limits = Limits(max_animation_frames=max_frames)
    result, outputs = _run(tmp_path, animation(), limits=limits)
    # Then both WebP renditions play its first frames in order, at the original's pace
    for name in ("small", "large"):
        webp = outputs[name]
        assert (webp.format, webp.size) == ("WEBP", (200, 100))
        assert _frame_colours(webp) == expected, name
        webp.seek(1)
        webp.load()
        assert webp.info["duration"] == 100
        assert "exif" not in webp.info
    # And the JPEG thumbnail is still the first frame
    assert getattr(outputs["thumb"], "n_frames", 1) == 1
    assert _frame_colours(outputs["thumb"]) == ["red"]
    assert {r.name for r in result.renditions} == {"thumb", "small", "large"}


@pytest.mark.parametrize(
    ("image_format", "loop", "webp_loop"),
    [("GIF", None, 1), ("GIF", 0, 0), ("GIF", 3, 3), ("WEBP", 0, 0), ("WEBP", 3, 3)],
    ids=["gif once", "gif forever", "gif 3 loops", "webp forever", "webp 3 loops"],
)
def test_an_animation_plays_as_often_as_its_original(
    tmp_path: Path, image_format: str, loop: int | None, webp_loop: int
) -> None:
    # Given an animated GIF without a loop count (it plays once), or with one, or an
    # animated WebP (which always has one) small enough to be its own JPEG thumbnail
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("red", "lime", "blue")]
    options = {} if loop is None else {"loop": loop}
    content = encode(
        frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, **options
    )
    # Then its WebP renditions play as often (WebP's 0 is forever)
    _, outputs = _run(tmp_path, content, limits=Limits(max_animation_frames=10))
    assert [outputs[name].info["loop"] for name in ("small", "large")] == [webp_loop] * 2


def _two_page_tiff() -> bytes:
    """A scan of two pages: red, then blue."""
    pages = [Image.new("RGB", (200, 100), colour) for colour in ("red", "blue")]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


@pytest.mark.parametrize(
    "content", [multi_picture_jpeg, _two_page_tiff], ids=["photo-with-depth-map", "tiff-pages"]
)
def test_more_pictures_in_a_file_are_not_an_animation(
    tmp_path: Path, content: Callable[[], bytes]
) -> None:
    # Given a file holding more than one picture that is no animation, and a worker that
    # keeps animations
    limits = Limits(max_animation_frames=10)
    result, outputs = _run(tmp_path, content(), limits=limits)
    # Then every rendition is a still of the first picture
    assert {r.name for r in result.renditions} == {"thumb", "small", "large"}
    for name, image in outputs.items():
        assert getattr(image, "n_frames", 1) == 1, name
        red, green, blue = _rgb(image, (3, 3))
        assert red > 200 and green < 60 and blue < 60, name


class _ReadRecording(LocalStorage):
    """Originals that remember how far into them anything was read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.furthest_read_bytes = 0

    def open_read(self, key: str) -> BinaryIO:
        with super().open_read(key) as source:
            return _RecordingReader(source.read(), self)


class _RecordingReader(io.BytesIO):
    def __init__(self, content: bytes, storage: _ReadRecording) -> None:
        super().__init__(content)
        self._storage = storage

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self._storage.furthest_read_bytes = max(self._storage.furthest_read_bytes, self.tell())
        return data


def test_the_pages_of_a_tiff_after_its_first_are_not_read(tmp_path: Path) -> None:
    # Given a TIFF of 5,000 one-pixel pages (half a megabyte of page headers)
    content = many_page_tiff(5_000)
    (tmp_path / "originals").mkdir()
    (tmp_path / ORIGINAL_KEY).write_bytes(content)
    storage = _ReadRecording(tmp_path)
    # When it is processed
    result = process_image(storage, ORIGINAL_KEY, [Target(THUMB, "thumbnails/t.jpg")])
    # Then its first page is the picture, and the pages after it were never read: what a
    # job costs does not grow with their number
    assert (result.width, result.height) == (1, 1)
    assert result.metadata["frameCount"] == 1
    assert storage.furthest_read_bytes < len(content) // 4


def test_a_tiff_whose_second_page_is_broken_gives_its_first(tmp_path: Path) -> None:
    result, outputs = _run(tmp_path, tiff_with_a_broken_second_page())
    assert (result.width, result.height, result.metadata["frameCount"]) == (64, 48, 1)
    for name, image in outputs.items():
        red, green, blue = _rgb(image, (3, 3))
        assert red > 200 and green < 60 and blue < 60, name


def test_an_animation_cut_off_in_a_frame_header_fails_for_good(tmp_path: Path) -> None:
    # Given an animated GIF that ends inside its second frame's image descriptor (which
    # follows that frame's graphic control extension, 8 bytes)
    content = animated_gif()
    second_descriptor = content.index(b"\x21\xf9\x04", content.index(b"\x21\xf9\x04") + 1) + 8
    assert content[second_descriptor] == 0x2C  # an image descriptor starts here
    # Then the job fails as undecodable, not as a crash of the worker
    with pytest.raises(PermanentImageError, match=r"^cannot decode image: "):
        _run(tmp_path, content[: second_descriptor + 7])
    assert _written(tmp_path) == []


def test_an_animation_is_cut_short_at_the_pixel_limit(tmp_path: Path) -> None:
    # Given a cap of 10 frames, but room for only two 200x100 frames in MAX_IMAGE_PIXELS
    limits = Limits(max_animation_frames=10, max_pixels=2 * 200 * 100)
    _, outputs = _run(
        tmp_path, animated_gif(), [RenditionSpec(name="anim", width=640, format="WEBP")], limits
    )
    # Then the animation holds two frames, not three
    assert _frame_colours(outputs["anim"]) == ["red", "lime"]


def test_a_lying_extension_does_not_matter(tmp_path: Path) -> None:
    # ORIGINAL_KEY ends .img; here the content is a PNG however the file is named.
    result, outputs = _run(tmp_path, encode(Image.new("RGB", (50, 40), "blue"), "PNG"), [THUMB])
    assert result.format == "PNG"
    assert outputs["thumb"].size == (50, 40)


def test_stages_are_reported_after_decode_and_after_each_rendition(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    (tmp_path / "originals").mkdir()
    (tmp_path / ORIGINAL_KEY).write_bytes(photo(1200, 800))
    stages: list[tuple[str, float]] = []
    targets = [Target(s, rendition_key(ORIGINAL_KEY, s)) for s in (THUMB, *DEFAULT_PRESETS)]
    process_image(storage, ORIGINAL_KEY, targets, on_stage=lambda *stage: stages.append(stage))
    assert stages == [
        ("decoded", 0.25),
        ("rendition:large", 0.5),
        ("rendition:small", 0.75),
        ("rendition:thumb", 1.0),
    ]


def test_placeholder_and_dominant_colour(tmp_path: Path) -> None:
    image = Image.new("RGB", (400, 300), (0, 90, 200))
    image.paste((255, 255, 255), (0, 0, 100, 300))
    result, _ = _run(tmp_path, encode(image, "PNG"), [THUMB])
    assert result.dominant_color == "#005ac8"
    assert len(result.placeholder) == 4 + 2 * 4 * 3  # BlurHash with 4x3 components
    assert result.placeholder.isascii()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"plain text", "not a supported image (accepted: JPEG, PNG, WEBP, GIF, TIFF, BMP"),
        (b"", "not a supported image"),
        (photo()[:2000], "cannot decode image"),
        (encode(Image.new("RGB", (900, 600), "red"), "PNG")[:400], "cannot decode image"),
        (encode(Image.new("RGB", (40, 40)), "PPM"), "not a supported image"),  # not allow-listed
    ],
)
def test_unreadable_input_is_a_permanent_error_and_leaves_nothing(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(PermanentImageError, match=re.escape(message)):
        _run(tmp_path, content)
    assert _written(tmp_path) == []


def _avif_with_its_pixels_zeroed() -> bytes:
    """A header that reads, followed by compressed pixels that are all zero bytes."""
    content = encode(Image.new("RGB", (64, 48), "red"), "AVIF")
    pixels = content.index(b"mdat") + 4
    return content[:pixels] + bytes(len(content) - pixels)


def _avif_without_its_primary_image() -> bytes:
    """The primary item id points at an item that is not there."""
    content = bytearray(encode(Image.new("RGB", (64, 48), "red"), "AVIF"))
    primary_item = content.index(b"pitm") + 8  # after the box type, version and flags
    content[primary_item : primary_item + 2] = b"\0\x09"
    return bytes(content)


@pytest.mark.parametrize(
    "content",
    [_avif_with_its_pixels_zeroed, _avif_without_its_primary_image],
    ids=["zeroed pixels", "missing primary image"],
)
def test_corrupt_avif_is_a_permanent_error(tmp_path: Path, content: Callable[[], bytes]) -> None:
    # libavif's failures reach Python as RuntimeError, which alone would be taken for a
    # crash of the worker
    with pytest.raises(PermanentImageError, match=r"^cannot decode image: "):
        _run(tmp_path, content())
    assert _written(tmp_path) == []


def test_a_missing_original_fails_for_good(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(PermanentImageError, match=r"^original file is missing: originals/gone"):
        process_image(storage, "originals/gone.jpg", [Target(THUMB, "thumbnails/t.jpg")])


def test_an_original_the_storage_cannot_read_now_is_retried(tmp_path: Path) -> None:
    # Given storage that cannot read originals at all (a file where their folder should be,
    # as a broken mount looks), not an original that is gone
    (tmp_path / "originals").write_bytes(b"")
    # When a job reads one
    with pytest.raises(StorageError) as failure:
        process_image(LocalStorage(tmp_path), ORIGINAL_KEY, [Target(THUMB, "thumbnails/t.jpg")])
    # Then the job is retried, not failed for good as "missing"
    assert not isinstance(failure.value, PermanentImageError)
    assert is_transient(failure.value)


class _DiskFailingMidRead(LocalStorage):
    """Originals whose second half cannot be read: the error a failing disk or a dropped
    network mount gives (EIO), not the bad data of a truncated upload."""

    def open_read(self, key: str) -> BinaryIO:
        with super().open_read(key) as source:
            return _FailsAfter(source.read())


class _FailsAfter(io.BytesIO):
    """Reads stop short at the middle; reading on from there fails."""

    def read(self, size: int | None = -1, /) -> bytes:
        readable = len(self.getbuffer()) // 2 - self.tell()
        if readable <= 0:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(readable if size is None or size < 0 else min(size, readable))


def test_an_original_the_disk_fails_to_read_mid_decode_is_retried(tmp_path: Path) -> None:
    # Given an intact photo on a disk that fails halfway through reading it
    (tmp_path / "originals").mkdir()
    (tmp_path / ORIGINAL_KEY).write_bytes(photo(1200, 800))
    storage = _DiskFailingMidRead(tmp_path)
    # When it is decoded
    with pytest.raises(OSError) as failure:
        process_image(storage, ORIGINAL_KEY, [Target(THUMB, "thumbnails/t.jpg")])
    # Then the job is retried, not failed for good as undecodable
    assert not isinstance(failure.value, PermanentImageError)
    assert failure.value.errno == errno.EIO and is_transient(failure.value)
    assert _written(tmp_path) == []


def test_a_60_megapixel_png_of_a_few_kilobytes_fails_by_the_pixel_limit(tmp_path: Path) -> None:
    bomb = pixel_bomb_png(10_000, 6_000)
    assert len(bomb) < 16 * 1024
    with pytest.raises(PermanentImageError) as failure:
        _run(tmp_path, bomb)
    assert str(failure.value) == "60.0 megapixels is over the 50 megapixel limit"
    assert _written(tmp_path) == []


def test_the_pixel_limit_is_configurable(tmp_path: Path) -> None:
    small_limit = Limits(max_pixels=1_000_000)
    nine_megapixels = encode(Image.new("L", (3000, 3000)), "PNG")  # tiny on disk
    with pytest.raises(
        PermanentImageError, match=r"^9\.0 megapixels is over the 1 megapixel limit$"
    ):
        _run(tmp_path, nine_megapixels, limits=small_limit)


def test_the_time_limit_interrupts_the_job_and_leaves_nothing(tmp_path: Path) -> None:
    # A 1 ms limit on a 12-megapixel decode: the job cannot finish in time on any machine.
    with pytest.raises(PermanentImageError) as failure:
        _run(tmp_path, photo(4000, 3000), limits=Limits(time_limit_s=0.001))
    assert str(failure.value) == "processing exceeded the time limit of 0.001 s"
    assert _written(tmp_path) == []


def test_the_single_thumbnail_api_still_works(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    (tmp_path / "originals").mkdir()
    (tmp_path / ORIGINAL_KEY).write_bytes(photo(1200, 800))
    result = make_thumbnail(storage, ORIGINAL_KEY, "thumbnails/t.jpg", ThumbnailSpec(256, 85))
    assert (result.width, result.height, result.source_width) == (256, 171, 1200)
    assert decode((tmp_path / "thumbnails/t.jpg").read_bytes()).size == (256, 171)


def test_an_icc_profile_is_converted_to_srgb_and_not_carried_over(tmp_path: Path) -> None:
    # Given a photo whose profile says its "red" channel holds sRGB blue
    tagged = encode(
        Image.new("RGB", (600, 400), (255, 0, 0)),
        "PNG",
        icc_profile=swapped_primaries_icc_profile(),
    )
    _, outputs = _run(tmp_path, tagged)
    for name, image in outputs.items():
        # Then every rendition shows the colour the profile meant, in sRGB, untagged
        red, green, blue = _rgb(image, (20, 20))
        assert blue > 220 and red < 40 and green < 40, (name, (red, green, blue))
        assert "icc_profile" not in image.info, name


def test_a_wide_gamut_heic_described_by_nclx_is_converted_to_srgb(tmp_path: Path) -> None:
    # Given a lossless HEIC in Display P3 that says so with nclx codes (primaries 12,
    # sRGB transfer 13), as cameras and converters write it, not with an ICC profile
    p3 = {
        "color_primaries": 12,
        "transfer_characteristics": 13,
        "matrix_coefficients": 6,
        "full_range_flag": 1,
    }
    colour = Image.new("RGB", (400, 300), (200, 100, 50))
    content = encode(colour, "HEIF", quality=-1, nclx_profile=p3)
    assert "icc_profile" not in decode(content).info
    # When it is processed
    _, outputs = _run(tmp_path, content)
    # Then every rendition shows that colour in sRGB: P3's (200, 100, 50) is (215, 93, 31)
    # (decode the sRGB curve, the P3-to-sRGB matrix of the two sets of primaries at D65,
    # encode again)
    for name, image in outputs.items():
        assert _rgb(image, (20, 20)) == pytest.approx((215, 93, 31), abs=4), name
