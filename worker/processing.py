"""Pillow work: decode an original once and write every rendition of it.

Runs in a pool process, so it takes plain, picklable arguments and returns a small
result; the event loop never touches pixels. The stages are explicit (open and check the
header, decode, prepare, one step per rendition) and ``on_stage`` is called after the
decode and after each rendition is written, for progress reporting.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from PIL import Image, UnidentifiedImageError

from infra.image_formats import (
    ACCEPTED_FORMATS,
    DEFAULT_MAX_PIXELS,
    UNREADABLE_DATA,
    TooManyPixels,
    open_header,
)
from infra.renditions import OutputFormat, RenditionSpec, thumb_spec
from infra.storage import InvalidKey, Storage, StorageError
from worker.animation import keeps_animation, write_animated_webp
from worker.colour import colour_profile, for_format, prepare_for_resize, to_srgb
from worker.errors import PermanentImageError, undecodable
from worker.metadata import extract_metadata, read_orientation
from worker.placeholder import placeholder_and_colour
from worker.rendering import (
    REDUCING_GAP,
    RESAMPLE,
    Cascade,
    Plan,
    draft_size,
    plan,
    scaled_size,
)
from worker.time_limit import time_limit

__all__ = ["PermanentImageError", "process_image"]

StageCallback = Callable[[str, float], None]
"""Called with a stage name ("decoded", "rendition:<name>") and the fraction of work done."""

DEFAULT_TIME_LIMIT_S = 60.0

# EXIF orientation -> the transpose that makes the picture upright (EXIF 2.3, tag 0x0112).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class Limits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    expose_gps_coordinates: bool = False
    max_animation_frames: int = 1
    """Above 1, WebP renditions of animated originals keep up to this many frames."""


@dataclass(frozen=True, slots=True)
class Target:
    """A rendition to make and the storage key to write it to."""

    spec: RenditionSpec
    key: str


@dataclass(frozen=True, slots=True)
class RenditionResult:
    name: str
    key: str
    width: int
    height: int
    format: OutputFormat
    size_bytes: int
    elapsed_s: float = 0.0
    """Resize and encode time, reported to the parent for the metrics it serves."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "width": self.width,
            "height": self.height,
            "format": self.format.value,
            "size": self.size_bytes,
        }


@dataclass(frozen=True, slots=True)
class ProcessResult:
    width: int
    """Of the original, upright (after EXIF orientation)."""
    height: int
    format: str
    metadata: dict[str, Any]
    placeholder: str
    dominant_color: str
    renditions: list[RenditionResult] = field(default_factory=list)


def pool_ready() -> bool:
    """A no-op run in each pool process at start-up, so it is spawned and imported early."""
    return True


def process_image(
    storage: Storage,
    original_key: str,
    targets: Sequence[Target],
    limits: Limits = Limits(),
    on_stage: StageCallback | None = None,
) -> ProcessResult:
    """Decode ``original_key`` once and write every target; raise ``PermanentImageError``."""
    if not targets:
        raise ValueError("process_image needs at least one target")
    with time_limit(limits.time_limit_s), _open_original(storage, original_key) as source:
        return _process(storage, source, targets, limits, on_stage or _ignore)


def _open_original(storage: Storage, key: str) -> BinaryIO:
    """Only an original that is not there (or a key that cannot be one) fails the job for good.

    Any other error (permissions, a full, failing or unmounted disk) may pass, so it
    propagates as itself and the job is retried.
    """
    try:
        return storage.open_read(key)
    except InvalidKey as exc:
        raise PermanentImageError(str(exc)) from exc
    except (StorageError, FileNotFoundError) as exc:
        # A backend wraps the OSError that says why in its StorageError (raise ... from).
        if isinstance(exc, FileNotFoundError) or isinstance(exc.__cause__, FileNotFoundError):
            raise PermanentImageError(f"original file is missing: {key}") from exc
        raise


def _process(
    storage: Storage,
    source: BinaryIO,
    targets: Sequence[Target],
    limits: Limits,
    on_stage: StageCallback,
) -> ProcessResult:
    steps = len(targets) + 1
    image = _open_checked(source, limits.max_pixels)
    with _decode_errors(limits.max_pixels):
        # Reading EXIF can decode a PNG whole (its eXIf chunk may follow the pixels), so
        # it runs under the same error handling as the decode itself. Before the decode:
        # a loader that orients the pixels itself drops the orientation tag as it does.
        metadata = extract_metadata(image, include_gps=limits.expose_gps_coordinates)
        upright, orientation = _decode(image, [t.spec for t in targets])
        plans = sorted((plan(t.spec, *upright) for t in targets), key=lambda p: -p.scale)
    on_stage("decoded", 1 / steps)
    icc_profile = colour_profile(image)
    metadata["width"], metadata["height"] = upright
    keys = {t.spec.name: t.key for t in targets}

    working = _prepare(image, plans, upright, orientation, icc_profile)
    cascade = Cascade(upright, [working])
    results: list[RenditionResult] = []
    animated: list[Plan] = []
    try:
        for target in plans:
            started_s = time.perf_counter()
            # Rendered even when written as an animation: smaller renditions cascade from it.
            rendered = cascade.render(target)
            if keeps_animation(image, target.spec.format, limits.max_animation_frames):
                animated.append(target)
                continue
            written = _write(storage, keys[target.spec.name], target.spec, rendered)
            results.append(replace(written, elapsed_s=time.perf_counter() - started_s))
            on_stage(f"rendition:{target.spec.name}", (1 + len(results)) / steps)
        smallest = min(cascade.sources, key=lambda candidate: candidate.width)
        placeholder, dominant_color = placeholder_and_colour(smallest)
        # Last: seeking the original to later frames may change a cascade source that is
        # the original image itself.
        for target in animated:
            started_s = time.perf_counter()
            written = _write_animation(
                storage,
                keys[target.spec.name],
                target,
                image,
                _frame_renderer(target, upright, orientation, icc_profile),
                limits,
            )
            results.append(replace(written, elapsed_s=time.perf_counter() - started_s))
            on_stage(f"rendition:{target.spec.name}", (1 + len(results)) / steps)
    except BaseException:
        # A failed job leaves no half set of renditions behind (the time limit included).
        for written in results:
            storage.delete(written.key)
        raise

    return ProcessResult(
        width=upright[0],
        height=upright[1],
        format=image.format or "unknown",
        metadata=metadata,
        placeholder=placeholder,
        dominant_color=dominant_color,
        renditions=results,
    )


def _open_checked(source: BinaryIO, max_pixels: int) -> Image.Image:
    """Read the header only, and refuse what must not be decoded.

    The order matters: the format allow-list and the pixel limit are checked before a
    single pixel is decoded, so a 60-megapixel PNG of a few kilobytes is refused without
    allocating its 60 megabytes.
    """
    with _decode_errors(max_pixels):
        try:
            return open_header(source, max_pixels)
        except TooManyPixels as exc:
            raise PermanentImageError(str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise PermanentImageError(
                "not a supported image (accepted: " + ", ".join(ACCEPTED_FORMATS) + ")"
            ) from exc


# Beyond what the server's header check sees, a decode can run out of memory.
_UNDECODABLE: tuple[type[Exception], ...] = (*UNREADABLE_DATA, MemoryError)


@contextmanager
def _decode_errors(max_pixels: int) -> Iterator[None]:
    """Turn Pillow's ways of saying "bad data" into permanent failures that name the cause."""
    with warnings.catch_warnings():
        # A decompression bomb must fail the job, not merely log a warning.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PermanentImageError(str(TooManyPixels.from_pillow(exc, max_pixels))) from exc
        except _UNDECODABLE as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                # The disk, not the data (EIO, a stale network mount): retried. Pillow's own
                # OSErrors for truncated or corrupt data carry no errno.
                raise
            raise undecodable(exc) from exc


def _decode(image: Image.Image, specs: list[RenditionSpec]) -> tuple[tuple[int, int], int]:
    """Decode the first frame, at the smallest JPEG scale that serves every rendition.

    Returns the original's upright size and the EXIF orientation still to apply. Some
    loaders turn the pixels themselves and drop the tag (Pillow's TIFF loader, which
    reports the turned size from the header on; pillow-heif's), others leave it to us
    (JPEG, PNG, WebP, AVIF). What the EXIF says after the load is what is left to do, so
    each image is turned exactly once, whichever loaders a Pillow version has turn them.
    """
    stored = image.size
    recorded = read_orientation(image)
    # Before the load, take the header's size as stored and the tag as still to apply:
    # true of JPEG, the only format draft() acts on.
    assumed = stored if recorded < 5 else (stored[1], stored[0])
    needed = draft_size([plan(spec, *assumed) for spec in specs], *assumed)
    if recorded >= 5:
        needed = (needed[1], needed[0])
    # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale, never below ``needed``: far
    # less work and memory for big photos. It is a no-op for other formats.
    image.draft(None, needed)
    # An animated GIF or WebP opens on its first frame; that frame is the still.
    image.load()
    orientation = read_orientation(image)
    if recorded != 1 and orientation == 1:
        # The loader turned the pixels; not a JPEG, so not drafted: its size is upright.
        return image.size, 1
    return (stored if orientation < 5 else (stored[1], stored[0])), orientation


def _prepare(
    image: Image.Image,
    plans: list[Plan],
    upright: tuple[int, int],
    orientation: int,
    icc_profile: bytes | None,
) -> Image.Image:
    """Shrink to what the largest plan needs first, then orient and colour-convert.

    Rotating and converting colour after the shrink touches a few hundred thousand pixels
    instead of tens of millions.
    """
    working = prepare_for_resize(image)
    stored = scaled_size(*upright, plans[0].scale)
    if orientation >= 5:
        stored = (stored[1], stored[0])
    if working.width > stored[0] and working.height > stored[1]:
        working = working.resize(stored, RESAMPLE, reducing_gap=REDUCING_GAP)
    if orientation in _UPRIGHT:
        working = working.transpose(_UPRIGHT[orientation])
    return to_srgb(working, icc_profile)


def _write(storage: Storage, key: str, spec: RenditionSpec, image: Image.Image) -> RenditionResult:
    output = for_format(image, spec.format)
    if output is image:
        # ``image`` may be the original itself (one no larger than the rendition is neither
        # resized nor converted), whose info the animated renditions still read (the loop
        # count), so it is left as it is.
        output = image.copy()
    # Encoders fall back to image.info for EXIF and ICC: clear it so no camera data
    # (GPS included) and no stale profile reaches a rendition.
    output.info = {}
    size_bytes = _store(
        storage,
        key,
        lambda target: output.save(target, spec.format.value, exif=b"", **_encoder_options(spec)),
    )
    return RenditionResult(spec.name, key, output.width, output.height, spec.format, size_bytes)


def _write_animation(
    storage: Storage,
    key: str,
    target: Plan,
    image: Image.Image,
    render_frame: Callable[[Image.Image], Image.Image],
    limits: Limits,
) -> RenditionResult:
    width, height = target.size
    with _decode_errors(limits.max_pixels):
        size_bytes = _store(
            storage,
            key,
            lambda output: write_animated_webp(
                output,
                image,
                render_frame,
                frame_pixels=width * height,
                max_frames=limits.max_animation_frames,
                max_pixels=limits.max_pixels,
                encoder_options=_encoder_options(target.spec),
            ),
        )
    return RenditionResult(target.spec.name, key, width, height, target.spec.format, size_bytes)


def _frame_renderer(
    target: Plan, upright: tuple[int, int], orientation: int, icc_profile: bytes | None
) -> Callable[[Image.Image], Image.Image]:
    """A frame of an animation made into ``target`` the way the still is."""

    def render(frame: Image.Image) -> Image.Image:
        working = _prepare(frame, [target], upright, orientation, icc_profile)
        return Cascade(upright, [working]).render(target)

    return render


def _store(storage: Storage, key: str, write: Callable[[BinaryIO], object]) -> int:
    """Write ``key`` atomically with ``write``; its size in bytes."""
    try:
        with storage.atomic_writer(key) as target:
            write(target)
            return target.tell()
    except InvalidKey as exc:
        raise PermanentImageError(str(exc)) from exc


def _encoder_options(spec: RenditionSpec) -> dict[str, Any]:
    if spec.format is OutputFormat.JPEG:
        return {"quality": spec.quality, "optimize": True, "progressive": True}
    if spec.format is OutputFormat.PNG:
        return {"compress_level": 6}
    if spec.format is OutputFormat.WEBP:
        return {"quality": spec.quality, "method": 4}
    return {"quality": spec.quality}


def _ignore(stage: str, fraction: float) -> None:
    pass


# The original single-thumbnail API, kept for the executor benchmark (bench/executor.py).


@dataclass(frozen=True, slots=True)
class ThumbnailSpec:
    max_px: int
    quality: int
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass(frozen=True, slots=True)
class ThumbnailResult:
    width: int
    height: int
    size_bytes: int
    source_width: int
    source_height: int
    source_format: str


def make_thumbnail(
    storage: Storage, original_key: str, thumbnail_key: str, spec: ThumbnailSpec
) -> ThumbnailResult:
    """Only the ``thumb`` rendition: a JPEG that fits ``spec.max_px`` square."""
    target = Target(thumb_spec(spec.max_px, spec.quality), thumbnail_key)
    result = process_image(storage, original_key, [target], Limits(max_pixels=spec.max_pixels))
    thumb = result.renditions[0]
    return ThumbnailResult(
        thumb.width, thumb.height, thumb.size_bytes, result.width, result.height, result.format
    )
