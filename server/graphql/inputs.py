"""Input types: what a client may ask of an upload."""

from __future__ import annotations

import strawberry

from infra.renditions import (
    Fit,
    InvalidRenditions,
    OutputFormat,
    RenditionSpec,
    check_requested_cost,
    parse_renditions,
)
from server.graphql.errors import UserFacingError
from server.graphql.types import ImageFormat, RenditionFit


@strawberry.input(description="One rendition to make. It never upscales the original.")
class RenditionInput:
    name: str = strawberry.field(description="1-32 of a-z, 0-9, _ and -; not `thumb`.")
    width: int = strawberry.field(description="Box width in pixels, 1-4096.")
    height: int | None = strawberry.field(
        default=None, description="Box height in pixels, 1-4096; the width when omitted."
    )
    fit: RenditionFit = Fit.CONTAIN  # type: ignore[valid-type]
    format: ImageFormat = OutputFormat.WEBP  # type: ignore[valid-type]
    quality: int | None = strawberry.field(
        default=None, description="1-100; the format's default when omitted. Ignored for PNG."
    )


@strawberry.input
class UploadOptions:
    renditions: list[RenditionInput] | None = strawberry.field(
        default=None,
        description=(
            "Renditions to make instead of the server's presets. The `thumb` rendition "
            "(thumbnailUrl) is always made as well."
        ),
    )


def requested_renditions(options: UploadOptions | None) -> tuple[RenditionSpec, ...] | None:
    """The validated specs, None for the presets; raises a client-facing error otherwise."""
    if options is None or options.renditions is None:
        return None
    raw = []
    for item in options.renditions:
        # Out-of-range numbers are refused by the same validation as RENDITIONS, with
        # 0 standing for "not given" only when the client did not give it.
        if item.height is not None and item.height < 1:
            raise UserFacingError(f"renditions: height of {item.name!r} must be at least 1")
        if item.quality is not None and item.quality < 1:
            raise UserFacingError(f"renditions: quality of {item.name!r} must be at least 1")
        raw.append(
            {
                "name": item.name,
                "width": item.width,
                "height": item.height or 0,
                "fit": Fit(item.fit),
                "format": OutputFormat(item.format),
                "quality": item.quality or 0,
            }
        )
    try:
        specs = parse_renditions(raw)
        check_requested_cost(specs)
        return specs
    except InvalidRenditions as exc:
        raise UserFacingError(f"invalid upload options: {exc}") from exc
