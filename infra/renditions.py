"""Renditions: the named output images the worker makes from one decode of an original.

A ``RenditionSpec`` is what to make (box, fit, format, quality); it comes from the
``RENDITIONS`` presets or from one upload's options, and is validated the same way for both.
The ``thumb`` rendition is the original design's thumbnail and is always made, from
``THUMBNAIL_MAX_PX`` / ``THUMBNAIL_QUALITY``, at the key ``worker/job_paths.py`` settles
(the job message's ``thumbnailPath``, once it is found to be the image's own).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from infra.broker.messages import ImageJob


class Fit(enum.StrEnum):
    CONTAIN = "CONTAIN"
    """Fit inside the box, aspect kept."""
    COVER = "COVER"
    """Fill the box exactly, cropping around the centre."""


class OutputFormat(enum.StrEnum):
    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"
    AVIF = "AVIF"

    @property
    def content_type(self) -> str:
        return f"image/{self.value.lower()}"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value.lower()


THUMB = "thumb"
MAX_DIMENSION_PX = 4096
MAX_RENDITIONS = 8
_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# Per-format default quality: WebP and AVIF reach JPEG 85's look at lower numbers.
_DEFAULT_QUALITY = {
    OutputFormat.JPEG: 85,
    OutputFormat.PNG: 100,
    OutputFormat.WEBP: 80,
    OutputFormat.AVIF: 60,
}


class RenditionSpec(BaseModel):
    """One output image: fits (or covers) ``width`` x ``height``, never upscaled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    width: int = Field(ge=1, le=MAX_DIMENSION_PX)
    height: int = Field(default=0, ge=0, le=MAX_DIMENSION_PX)
    """0 means the same as ``width`` (a square box)."""
    fit: Fit = Fit.CONTAIN
    format: OutputFormat = OutputFormat.WEBP
    quality: int = Field(default=0, ge=0, le=100)
    """0 means the format's default; ignored for PNG, which is lossless."""

    @model_validator(mode="after")
    def _fill_defaults(self) -> RenditionSpec:
        if not _NAME_PATTERN.match(self.name):
            raise ValueError(
                f"rendition name {self.name!r} must be 1-32 of a-z, 0-9, '_' or '-', "
                "starting with a letter or digit"
            )
        # Frozen model: defaults that depend on other fields are set through __dict__.
        if self.height == 0:
            self.__dict__["height"] = self.width
        if self.quality == 0:
            self.__dict__["quality"] = _DEFAULT_QUALITY[self.format]
        return self


_SPEC_LIST = TypeAdapter(list[RenditionSpec])

DEFAULT_PRESETS: tuple[RenditionSpec, ...] = (
    RenditionSpec(name="small", width=640, format=OutputFormat.WEBP),
    RenditionSpec(name="large", width=1280, format=OutputFormat.WEBP),
)


def thumb_spec(max_px: int, quality: int) -> RenditionSpec:
    """The original design's thumbnail: a JPEG that fits ``max_px`` square."""
    return RenditionSpec(
        name=THUMB, width=max_px, height=max_px, format=OutputFormat.JPEG, quality=quality
    )


class InvalidRenditions(ValueError):
    """A rendition list a client or an operator got wrong; the message says how."""


def check_renditions(specs: Sequence[RenditionSpec]) -> tuple[RenditionSpec, ...]:
    """Rules for a list beyond each spec's own: unique names, no ``thumb``, a bounded count."""
    if len(specs) > MAX_RENDITIONS:
        raise InvalidRenditions(f"at most {MAX_RENDITIONS} renditions, got {len(specs)}")
    names = [spec.name for spec in specs]
    if THUMB in names:
        raise InvalidRenditions(
            f"the {THUMB!r} rendition is always made (THUMBNAIL_MAX_PX); choose another name"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRenditions(f"rendition names must be unique: {', '.join(duplicates)}")
    return tuple(specs)


MAX_REQUESTED_OUTPUT_PX = 2 * MAX_DIMENSION_PX * MAX_DIMENSION_PX
"""What one upload's own renditions may cost together, in output pixels (each rendition's
box, AVIF counted twice): two of the largest WebP, one of the largest AVIF, or eight of
1448 px. Encoding time grows with output pixels whatever the input: without a bound, a
2 KB upload asking for eight 4096 px AVIFs of a flat 7000 x 7000 image held a pool process
for half a minute, and its retries the queue for minutes."""
_ENCODE_COST = {OutputFormat.AVIF: 2}
"""Relative to WebP and JPEG: AVIF takes about twice as long to encode (docs/benchmarks.md)."""


def check_requested_cost(specs: Sequence[RenditionSpec]) -> None:
    """Refuse an upload's own renditions that would cost more than ``MAX_REQUESTED_OUTPUT_PX``.

    Only for clients' requests: the operator's ``RENDITIONS`` are the operator's to size.
    """
    cost_px = sum(spec.width * spec.height * _ENCODE_COST.get(spec.format, 1) for spec in specs)
    if cost_px > MAX_REQUESTED_OUTPUT_PX:
        raise InvalidRenditions(
            f"the renditions together are too large to make: {cost_px:,} output pixels "
            f"(AVIF counts twice), at most {MAX_REQUESTED_OUTPUT_PX:,}"
        )


def parse_renditions(raw: Iterable[dict[str, Any]]) -> tuple[RenditionSpec, ...]:
    """Validate plain dicts (GraphQL input, a stored row) into specs, or raise one clear error."""
    try:
        specs = _SPEC_LIST.validate_python(list(raw))
    except ValidationError as exc:
        raise InvalidRenditions(_describe(exc)) from exc
    return check_renditions(specs)


def renditions_to_json(specs: Sequence[RenditionSpec]) -> str:
    return json.dumps([spec.model_dump(mode="json") for spec in specs])


def rendition_key(original_key: str, spec: RenditionSpec) -> str:
    """``renditions/<uuid>/<name>.<ext>``: the uuid of the original, so delete finds them."""
    return f"{rendition_prefix(original_key)}{spec.name}.{spec.format.extension}"


def rendition_prefix(original_key: str) -> str:
    return f"renditions/{_stem(original_key)}/"


THUMBNAILS_FOLDER = "thumbnails"


def thumbnail_key_for(original_key: str) -> str:
    """``thumbnails/<uuid>_thumb.jpg``: the original design's ``thumbnail_path``."""
    return f"{THUMBNAILS_FOLDER}/{_stem(original_key)}_thumb.jpg"


def job_for(image_id: int, original_key: str) -> ImageJob:
    """The job that (re)processes an image stored under ``original_key``."""
    return ImageJob(image_id, original_key, thumbnail_key_for(original_key))


def _stem(original_key: str) -> str:
    """The original's name up to its first dot; all of it when that would be nothing.

    A legacy row's ``uploads/.cat.jpg`` would otherwise own ``renditions//``, which storage
    reads as ``renditions/``: deleting that image would take every image's renditions.
    """
    name = original_key.rsplit("/", 1)[-1]
    return name.split(".", 1)[0] or name


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"renditions.{where}: {message}" if where else message)
    return "; ".join(parts)
