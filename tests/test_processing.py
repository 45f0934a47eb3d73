"""The Pillow step on its own: what a user sees in the thumbnail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from infra.storage.local import LocalStorage
from tests.images import decode, photo, png_with_transparency
from worker.processing import PermanentImageError, ThumbnailSpec, make_thumbnail

SPEC = ThumbnailSpec(max_px=256, quality=85)


def _run(tmp_path: Path, content: bytes, spec: ThumbnailSpec = SPEC) -> Image.Image:
    storage = LocalStorage(tmp_path)
    (tmp_path / "originals").mkdir(exist_ok=True)
    (tmp_path / "originals/in").write_bytes(content)
    result = make_thumbnail(storage, "originals/in", "thumbnails/out.jpg", spec)
    output = (tmp_path / "thumbnails/out.jpg").read_bytes()
    assert result.size_bytes == len(output)
    return decode(output)


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(1, (256, 128)), (3, (256, 128)), (6, (128, 256)), (8, (128, 256))],
)
def test_exif_orientation_makes_the_thumbnail_upright(
    tmp_path: Path, orientation: int, expected_size: tuple[int, int]
) -> None:
    thumbnail = _run(tmp_path, photo(800, 400, orientation=orientation))
    assert thumbnail.size == expected_size
    # The red block marks the stored top-left corner; after rotation it must be where the
    # camera saw it: orientation 3 puts it bottom-right, 6 top-right, 8 bottom-left.
    corner = {1: (5, 5), 3: (250, 122), 6: (122, 5), 8: (5, 250)}[orientation]
    red, green, _ = thumbnail.convert("RGB").getpixel(corner)  # type: ignore[misc]
    assert red > 200 and green < 60


def test_output_is_progressive_jpeg_without_exif(tmp_path: Path) -> None:
    thumbnail = _run(tmp_path, photo(1000, 1000, orientation=1))
    assert thumbnail.format == "JPEG"
    assert thumbnail.info.get("progressive") == 1
    assert "exif" not in thumbnail.info


def test_small_images_are_never_upscaled(tmp_path: Path) -> None:
    assert _run(tmp_path, photo(100, 60)).size == (100, 60)


def test_transparency_becomes_white_not_black(tmp_path: Path) -> None:
    thumbnail = _run(tmp_path, png_with_transparency(300, 300)).convert("RGB")
    assert thumbnail.getpixel((10, 128)) == pytest.approx((255, 255, 255), abs=3)
    blue = thumbnail.getpixel((245, 128))
    assert isinstance(blue, tuple) and blue[2] > 200 and blue[0] < 60


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"plain text", "not a supported image"),
        (photo()[:2000], "cannot decode image"),
    ],
)
def test_unreadable_input_is_a_permanent_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(PermanentImageError, match=message):
        _run(tmp_path, content)
    assert not (tmp_path / "thumbnails").exists() or not any((tmp_path / "thumbnails").iterdir())


def test_the_pixel_limit_is_enforced_from_the_header(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, "PNG")  # 9 MP, tiny on disk
    with pytest.raises(PermanentImageError, match="pixel limit"):
        _run(tmp_path, buffer.getvalue(), ThumbnailSpec(256, 85, max_pixels=1_000_000))
