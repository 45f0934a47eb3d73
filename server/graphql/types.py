"""GraphQL object types, each built from a database row with ``from_row``."""

from __future__ import annotations

import base64
import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from infra.broker.messages import ImageEvent
from infra.db import images
from infra.db.images import ImageRecord, parse_image_id
from infra.renditions import Fit, OutputFormat
from server.graphql.context import Context


@strawberry.enum(name="ImageStatus", description="Where an image is in its processing.")
class ImageStatus(enum.Enum):
    """The stored statuses (``infra.db.images.ImageStatus``), plus DELETED for the stream."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    DELETED = strawberry.enum_value(
        "deleted",
        description=(
            "The image was deleted. Only seen in `imageUpdates`, and nothing follows it; "
            "its `image` is null."
        ),
    )

    @classmethod
    def of(cls, stored: images.ImageStatus) -> ImageStatus:
        return cls(stored.value)


ImageFormat = strawberry.enum(
    OutputFormat, name="ImageFormat", description="A format renditions can be written in."
)
RenditionFit = strawberry.enum(
    Fit,
    name="RenditionFit",
    description="CONTAIN fits inside the box; COVER fills it exactly, cropped around the centre.",
)


@strawberry.type(description="One output image made from the original.")
class Rendition:
    name: str
    width: int
    height: int
    format: ImageFormat  # type: ignore[valid-type]
    size: int = strawberry.field(description="Bytes.")
    url: str

    @classmethod
    def from_json(
        cls, image_id: int, stored: dict[str, Any], info: Info[Context, None]
    ) -> Rendition:
        return cls(
            name=stored["name"],
            width=stored["width"],
            height=stored["height"],
            format=OutputFormat(stored["format"]),
            size=stored["size"],
            url=info.context.urls.rendition(image_id, stored["name"]),
        )


@strawberry.type(description="What the original says about itself. Outputs carry none of it.")
class ImageMetadata:
    width: int = strawberry.field(description="Upright, after EXIF orientation.")
    height: int
    format: str | None
    mode: str | None = strawberry.field(description="Pillow mode of the original, e.g. RGB, CMYK.")
    frame_count: int
    camera_make: str | None
    camera_model: str | None
    taken_at: str | None = strawberry.field(
        description="EXIF date taken, ISO 8601 local time without a zone (EXIF has none)."
    )
    orientation: int = strawberry.field(description="EXIF orientation 1-8; already applied.")
    has_gps: bool = strawberry.field(description="Whether the original carried a GPS position.")
    latitude: float | None = strawberry.field(
        description="Only when the server allows it (EXPOSE_GPS_COORDINATES)."
    )
    longitude: float | None

    @classmethod
    def from_json(cls, stored: dict[str, Any], expose_gps: bool) -> ImageMetadata:
        return cls(
            width=stored["width"],
            height=stored["height"],
            format=stored.get("format"),
            mode=stored.get("mode"),
            frame_count=stored.get("frameCount", 1),
            camera_make=stored.get("cameraMake"),
            camera_model=stored.get("cameraModel"),
            taken_at=stored.get("takenAt"),
            orientation=stored.get("orientation", 1),
            has_gps=stored.get("hasGps", False),
            latitude=stored.get("latitude") if expose_gps else None,
            longitude=stored.get("longitude") if expose_gps else None,
        )


@strawberry.type(description="An uploaded image and what the worker made of it.")
class Image:
    id: strawberry.ID
    filename: str = strawberry.field(description="The client's file name, kept only as data.")
    status: ImageStatus
    content_type: str | None
    file_size: int | None = strawberry.field(description="Size of the original in bytes.")
    thumbnail_size: int | None = strawberry.field(description="Size of the thumbnail in bytes.")
    created_at: datetime
    started_at: datetime | None
    processed_at: datetime | None
    error: str | None = strawberry.field(description="Why processing failed, when it did.")
    attempts: int = strawberry.field(description="How many times a worker has taken the job.")
    width: int | None = strawberry.field(description="Of the original, upright; once processed.")
    height: int | None
    format: str | None = strawberry.field(description="Detected format of the original.")
    placeholder: str | None = strawberry.field(
        description="A BlurHash of the image, to paint while the real one loads."
    )
    dominant_color: str | None = strawberry.field(description="The most common colour, #rrggbb.")
    record: strawberry.Private[ImageRecord]

    @classmethod
    def from_row(cls, record: ImageRecord) -> Image:
        return cls(
            id=strawberry.ID(str(record.id)),
            filename=record.filename,
            status=ImageStatus.of(record.status),
            content_type=record.content_type,
            file_size=record.file_size,
            thumbnail_size=record.thumbnail_size,
            created_at=record.created_at,
            started_at=record.started_at,
            processed_at=record.processed_at,
            error=record.error,
            attempts=record.attempts,
            width=record.width,
            height=record.height,
            format=record.format,
            placeholder=record.placeholder,
            dominant_color=record.dominant_color,
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

    @strawberry.field(description="Every rendition made, largest first; empty until COMPLETED.")
    def renditions(self, info: Info[Context, None]) -> list[Rendition]:
        stored = sorted(self.record.renditions, key=lambda r: (-r["width"], r["name"]))
        return [Rendition.from_json(self.record.id, r, info) for r in stored]

    @strawberry.field(description="Camera, date taken, orientation and more; once processed.")
    def metadata(self, info: Info[Context, None]) -> ImageMetadata | None:
        if self.record.metadata is None:
            return None
        return ImageMetadata.from_json(self.record.metadata, info.context.expose_gps_coordinates)

    @strawberry.field(
        description=(
            "A ready `srcset` attribute (`<url> <width>w, …`) of the renditions in `format`, "
            "narrowest first; null when there are none."
        )
    )
    def srcset(
        self,
        info: Info[Context, None],
        format: ImageFormat = OutputFormat.WEBP,  # type: ignore[valid-type]
    ) -> str | None:
        widths: dict[int, str] = {}
        for rendition in self.record.renditions:
            # One candidate per width: two renditions of one width would make srcset invalid.
            if rendition["format"] == OutputFormat(format).value:
                widths.setdefault(rendition["width"], rendition["name"])
        if not widths:
            return None
        urls = info.context.urls
        return ", ".join(
            f"{urls.rendition(self.record.id, name)} {width}w"
            for width, name in sorted(widths.items())
        )


@strawberry.type(description="A change in an image's processing.")
class ImageUpdate:
    id: strawberry.ID
    status: ImageStatus
    progress: float = strawberry.field(description="From 0 to 1 while processing; 1 when final.")
    stage: str | None = strawberry.field(
        description=(
            "The step just finished: queued, started, decoded, rendition:<name>, done; "
            "failed and deleted with those statuses."
        )
    )
    error: str | None
    occurred_at: datetime | None
    known_record: strawberry.Private[ImageRecord | None]

    @classmethod
    def from_event(cls, event: ImageEvent, record: ImageRecord | None = None) -> ImageUpdate:
        return cls(
            id=strawberry.ID(str(event.image_id)),
            status=ImageStatus(event.status),
            progress=event.progress,
            stage=event.stage,
            error=event.error,
            occurred_at=event.occurred_at,
            known_record=record,
        )

    @strawberry.field(description="The image as it is now in the database; null once DELETED.")
    async def image(self, info: Info[Context, None]) -> Image | None:
        if self.status is ImageStatus.DELETED:
            return None
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
