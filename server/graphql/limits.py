"""The ``limits`` query: what the server accepts, so a client can refuse a file unsent."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.graphql.context import Context


@strawberry.type(description="What this server accepts in an upload.")
class Limits:
    max_upload_bytes: int = strawberry.field(
        description=(
            "Largest file, in bytes (`MAX_UPLOAD_BYTES`). A larger one is rejected as too "
            "large whatever it holds, so a client can refuse it before sending any of it."
        )
    )
    max_image_pixels: int = strawberry.field(
        description="Largest width x height (`MAX_IMAGE_PIXELS`), read from the image's header."
    )
    max_files_per_request: int = strawberry.field(
        description="Most files in one `uploadImages` (`MAX_FILES_PER_REQUEST`)."
    )


def resolve_limits(info: Info[Context, None]) -> Limits:
    service = info.context.service
    return Limits(
        max_upload_bytes=service.max_upload_bytes,
        max_image_pixels=service.max_image_pixels,
        max_files_per_request=service.max_files_per_request,
    )
