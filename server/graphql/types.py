"""GraphQL object types, each built from a database row with ``from_row``."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry.types import Info

from infra.broker.messages import ImageEvent
from infra.db import images
from infra.db.images import ImageRecord
from server.graphql.context import Context

ImageStatus = strawberry.enum(
    images.ImageStatus, name="ImageStatus", description="Where an image is in its processing."
)


@strawberry.type(description="An uploaded image and what the worker made of it.")
class Image:
    id: strawberry.ID
    filename: str = strawberry.field(description="The client's file name, kept only as data.")
    status: ImageStatus  # type: ignore[valid-type]
    content_type: str | None
    file_size: int | None = strawberry.field(description="Size of the original in bytes.")
    thumbnail_size: int | None = strawberry.field(description="Size of the thumbnail in bytes.")
    created_at: datetime
    started_at: datetime | None
    processed_at: datetime | None
    error: str | None = strawberry.field(description="Why processing failed, when it did.")
    attempts: int = strawberry.field(description="How many times a worker has taken the job.")
    record: strawberry.Private[ImageRecord]

    @classmethod
    def from_row(cls, record: ImageRecord) -> Image:
        return cls(
            id=strawberry.ID(str(record.id)),
            filename=record.filename,
            status=record.status,
            content_type=record.content_type,
            file_size=record.file_size,
            thumbnail_size=record.thumbnail_size,
            created_at=record.created_at,
            started_at=record.started_at,
            processed_at=record.processed_at,
            error=record.error,
            attempts=record.attempts,
            record=record,
        )

    @strawberry.field(description="URL of the original as uploaded.")
    def original_url(self, info: Info[Context, None]) -> str:
        return info.context.urls.original(self.record.id)

    @strawberry.field(description="URL of the 256x256 JPEG thumbnail, once it exists.")
    def thumbnail_url(self, info: Info[Context, None]) -> str | None:
        if self.record.thumbnail_path is None:
            return None
        return info.context.urls.thumbnail(self.record.id)


@strawberry.type(description="A change in an image's processing.")
class ImageUpdate:
    id: strawberry.ID
    status: ImageStatus  # type: ignore[valid-type]
    progress: float = strawberry.field(description="From 0 to 1 while processing; 1 when final.")
    stage: str | None = strawberry.field(
        description="The step just finished: queued, started, decoded, rendition:<name>, done."
    )
    error: str | None
    occurred_at: datetime | None
    known_record: strawberry.Private[ImageRecord | None]

    @classmethod
    def from_event(cls, event: ImageEvent, record: ImageRecord | None = None) -> ImageUpdate:
        return cls(
            id=strawberry.ID(str(event.image_id)),
            status=images.ImageStatus(event.status),
            progress=event.progress,
            stage=event.stage,
            error=event.error,
            occurred_at=event.occurred_at,
            known_record=record,
        )

    @strawberry.field(description="The image as it is now in the database.")
    async def image(self, info: Info[Context, None]) -> Image | None:
        record = self.known_record or await info.context.service.get(int(self.id))
        return Image.from_row(record) if record else None


@strawberry.type
class ImageEdge:
    cursor: str
    node: Image


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of images, newest first.")
class ImageConnection:
    edges: list[ImageEdge]
    page_info: PageInfo


_CURSOR_PREFIX = "image:"


def encode_cursor(image_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{image_id}".encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    """The image id inside a cursor, or None when the cursor is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith(_CURSOR_PREFIX):
        return None
    return parse_image_id(text[len(_CURSOR_PREFIX) :])


def parse_image_id(raw: str) -> int | None:
    """IDs are positive integers (the original design's SERIAL); anything else matches nothing."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    image_id = int(raw)
    return image_id if 0 < image_id <= 2**31 - 1 else None
