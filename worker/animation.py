"""Animated WebP renditions of animated GIF and WebP originals, up to a frame cap.

By default (``MAX_ANIMATION_FRAMES=1``, as imgproxy's default) every rendition is a still
of the first frame. Above 1, a WebP rendition of an animated original keeps its first
frames, their durations and its loop count. Frames are held at the rendition's size until
the file is written, so their pixels together are also capped, at ``MAX_IMAGE_PIXELS``:
an animation is cut short rather than allowed to exhaust a worker's memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from PIL import Image

from infra.renditions import OutputFormat
from worker.colour import for_format

_DEFAULT_FRAME_MS = 100


# Other formats hold more pictures too (a phone JPEG's depth map, a TIFF's pages), but
# as parts of one photo or a document, not frames to play.
_ANIMATED_FORMATS = frozenset({"GIF", "WEBP"})


def keeps_animation(image: Image.Image, output: OutputFormat, max_frames: int) -> bool:
    """Whether a rendition in ``output`` of ``image`` is written as an animation."""
    return (
        max_frames > 1
        and output is OutputFormat.WEBP
        and image.format in _ANIMATED_FORMATS
        and bool(getattr(image, "is_animated", False))
    )


def write_animated_webp(
    target: BinaryIO,
    image: Image.Image,
    render_frame: Callable[[Image.Image], Image.Image],
    *,
    frame_pixels: int,
    max_frames: int,
    max_pixels: int,
    encoder_options: dict[str, object],
) -> int:
    """Write ``render_frame`` of each of ``image``'s first frames; the frame count.

    ``render_frame`` turns a full frame into the rendition, of ``frame_pixels`` pixels, as
    the still is made. Leaves ``image`` on another frame: call it once nothing else reads
    ``image``'s pixels.
    """
    frame_budget = max(1, min(max_frames, max_pixels // frame_pixels))
    frames: list[Image.Image] = []
    durations_ms: list[int] = []
    for index in range(min(getattr(image, "n_frames", 1), frame_budget)):
        image.seek(index)
        # Pillow composes each GIF or WebP frame onto the ones before it as it seeks.
        frames.append(for_format(render_frame(image.convert("RGBA")), OutputFormat.WEBP))
        durations_ms.append(int(image.info.get("duration") or _DEFAULT_FRAME_MS))
    first, *rest = frames
    first.info = {}
    # A GIF without a loop count plays once; to WebP, 0 would mean forever.
    loop = image.info.get("loop")
    first.save(
        target,
        "WEBP",
        save_all=True,
        append_images=rest,
        duration=durations_ms,
        loop=1 if loop is None else int(loop),
        exif=b"",
        **encoder_options,
    )
    return len(frames)
