"""What the API does with images. GraphQL resolvers and REST handlers are thin layers over this."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import asyncpg
from PIL import UnidentifiedImageError

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent
from infra.db import images, outbox
from infra.db.availability import DATABASE_UNAVAILABLE
from infra.db.file_deletions import FileDeletion
from infra.db.images import ImageRecord, ImageStatus
from infra.db.text import without_control_characters
from infra.image_formats import (
    ACCEPTED_FORMATS,
    UNREADABLE_DATA,
    TooManyPixels,
    open_header,
    stored_as,
)
from infra.metrics import UPLOADS
from infra.renditions import (
    RenditionSpec,
    renditions_to_json,
)
from infra.storage import Storage, StorageError, UploadTooLarge
from server.file_deleter import FileDeleter
from server.outbox_relay import OutboxRelay

log = logging.getLogger(__name__)

MAX_FILENAME_CHARS = 255

DELETED_EVENT_TIMEOUT_S = 2.0
"""How long a delete waits for the broker to confirm its event.

aio-pika's robust channel waits for a reconnect before publishing, however long the broker
is away; a delete must not wait with it.
"""


class UploadRejected(Exception):
    """Bad input from the client; the message is safe and meant for them."""

    def __init__(self, filename: str, reason: str, *, status_code: int = 400) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason
        self.status_code = status_code


class ServiceUnavailable(Exception):
    """A backing service (broker, database, storage) failed; the client may retry."""


STORAGE_UNAVAILABLE = "storage is unavailable; try again"
DATABASE_UNAVAILABLE_MESSAGE = "the database is unavailable; try again"


@contextmanager
def database_errors(doing: str) -> Iterator[None]:
    """An unreachable database becomes ``ServiceUnavailable``, logged once with its cause.

    Clients get a clear "try again" (REST 503, a GraphQL error) rather than a bare 500 or
    "Unexpected error.", and operators a warning rather than a bug's traceback per request.
    """
    try:
        yield
    except DATABASE_UNAVAILABLE as exc:
        log.warning("database unavailable while %s: %s: %s", doing, type(exc).__name__, exc)
        raise ServiceUnavailable(DATABASE_UNAVAILABLE_MESSAGE) from exc


@dataclass(frozen=True, slots=True)
class _StoredOriginal:
    key: str
    size_bytes: int
    content_type: str


def clean_filename(raw: str | None) -> str:
    """The client's name, kept only as data: last path segment, no control characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = without_control_characters(name)
    if name in ("", ".", ".."):
        name = "upload"
    return name[:MAX_FILENAME_CHARS]


class ImageService:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        relay: OutboxRelay,
        events: EventPublisher,
        files: FileDeleter,
        max_upload_bytes: int,
        max_image_pixels: int,
        max_files_per_request: int,
    ) -> None:
        self.max_files_per_request = max_files_per_request
        self.max_upload_bytes = max_upload_bytes
        self._pool = pool
        self._storage = storage
        self._relay = relay
        self._events = events
        self._files = files
        self.max_image_pixels = max_image_pixels

    async def upload(
        self,
        raw_filename: str | None,
        source: BinaryIO,
        renditions: Sequence[RenditionSpec] | None = None,
    ) -> ImageRecord:
        """Store the original, commit a pending row with its job (outbox); return the row.

        ``renditions`` (already validated) replace the worker's presets for this image; they
        travel in the row, not the job message, so the message stays the original design's.
        Raises ``UploadRejected`` for bad input, leaving no file and no row behind.
        """
        filename = clean_filename(raw_filename)
        try:
            record = await self._accept(filename, source, renditions)
        except UploadRejected as rejected:
            UPLOADS.labels("too_large" if rejected.status_code == 413 else "rejected").inc()
            # No image id exists yet: nothing was stored.
            log.info(
                "upload rejected", extra={"client_filename": filename, "reason": rejected.reason}
            )
            raise
        except ServiceUnavailable:
            # Already logged where it failed, with the cause an operator needs.
            UPLOADS.labels("unavailable").inc()
            raise
        UPLOADS.labels("accepted").inc()
        log.info("upload accepted", extra={"image_id": record.id, "client_filename": filename})
        return record

    async def _accept(
        self, filename: str, source: BinaryIO, renditions: Sequence[RenditionSpec] | None
    ) -> ImageRecord:
        try:
            stored = await asyncio.to_thread(self._store_original, filename, source)
        except StorageError as exc:
            # The detail (a path, an errno) is for operators; the client learns it may retry.
            log.error(
                "storage failed during an upload: %s", exc, extra={"client_filename": filename}
            )
            raise ServiceUnavailable(STORAGE_UNAVAILABLE) from exc
        try:
            # The row and its job commit together: once the client has an id, the job
            # exists, whatever happens to the broker or to this process next.
            record, entry = await outbox.insert_pending_image(
                self._pool,
                filename=filename,
                original_path=stored.key,
                file_size=stored.size_bytes,
                content_type=stored.content_type,
                requested_renditions=(
                    None if renditions is None else renditions_to_json(renditions)
                ),
            )
        except BaseException as exc:
            await asyncio.to_thread(self._storage.delete, stored.key)
            if isinstance(exc, (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
                log.error(
                    "database failed during an upload: %s: %s",
                    type(exc).__name__,
                    exc,
                    extra={"client_filename": filename},
                )
                raise ServiceUnavailable(DATABASE_UNAVAILABLE_MESSAGE) from exc
            raise
        self._relay.hand_over(entry)
        return record

    async def retry(self, image_id: int) -> ImageRecord | None:
        """Requeue a FAILED image with a fresh attempt count; None unless it was FAILED."""
        with database_errors("requeueing an image"):
            async with self._pool.acquire() as connection:
                record = await outbox.requeue_failed(connection, image_id)
        if record is not None:
            self._relay.kick()
            log.info("image requeued by a client", extra={"image_id": image_id})
        return record

    def _store_original(self, filename: str, source: BinaryIO) -> _StoredOriginal:
        # The size is checked before the type: a file too large is refused as too large,
        # whatever it holds (the staged file's size is known without reading it).
        size_bytes = source.seek(0, io.SEEK_END)
        if size_bytes == 0:
            raise UploadRejected(filename, "the file is empty")
        if size_bytes > self.max_upload_bytes:
            too_large = str(UploadTooLarge(self.max_upload_bytes))
            raise UploadRejected(filename, too_large, status_code=413)
        source.seek(0)
        content_type, extension = self._sniff_file_type(filename, source)
        key = f"originals/{uuid.uuid4().hex}.{extension}"
        try:
            # A staged upload (server/upload_form.py) is renamed into place, not copied.
            size = self._storage.adopt(key, source, max_bytes=self.max_upload_bytes)
        except UploadTooLarge as exc:
            raise UploadRejected(filename, str(exc), status_code=413) from exc
        return _StoredOriginal(key, size, content_type)

    def _sniff_file_type(self, filename: str, source: BinaryIO) -> tuple[str, str]:
        """Read only the header (format and pixel count); (content type, extension)."""
        try:
            with open_header(source, self.max_image_pixels) as image:
                image_format = image.format or ""
        except TooManyPixels as exc:
            raise UploadRejected(filename, str(exc)) from exc
        except UnidentifiedImageError as exc:
            accepted = ", ".join(ACCEPTED_FORMATS)
            raise UploadRejected(
                filename, f"not a supported image (accepted formats: {accepted})"
            ) from exc
        except UNREADABLE_DATA as exc:
            raise UploadRejected(filename, f"unreadable image header: {exc}") from exc
        file_type = stored_as(image_format)
        if file_type is None:
            raise UploadRejected(filename, f"unsupported image format {image_format}")
        return file_type

    async def get(self, image_id: int) -> ImageRecord | None:
        with database_errors("reading an image"):
            return await images.get(self._pool, image_id)

    async def get_many(self, image_ids: list[int]) -> dict[int, ImageRecord]:
        with database_errors("reading images"):
            return await images.get_many(self._pool, image_ids)

    async def changed_since(self, since: datetime, *, limit: int) -> list[ImageRecord]:
        with database_errors("reading changed images"):
            return await images.changed_since(self._pool, since, limit=limit)

    async def deleted_among(self, image_ids: Sequence[int]) -> dict[int, datetime]:
        with database_errors("reading deleted images"):
            return await images.deleted_among(self._pool, image_ids)

    async def deleted_since(self, since: datetime, *, limit: int) -> list[tuple[int, datetime]]:
        with database_errors("reading deleted images"):
            return await images.deleted_since(self._pool, since, limit=limit)

    async def list_newest_first(
        self, *, limit: int, before_id: int | None, status: ImageStatus | None
    ) -> list[ImageRecord]:
        with database_errors("listing images"):
            return await images.list_newest_first(
                self._pool, limit=limit, before_id=before_id, status=status
            )

    async def delete(self, image_id: int) -> bool:
        """Remove the row (recording its files in the same statement), announce DELETED,
        then remove every file of the image.

        True once the row is gone, whatever storage says: a file storage refuses to let go
        stays recorded, and the file deleter retries it. False when there was no such image.
        """
        with database_errors("deleting an image"):
            record = await images.delete(
                self._pool, image_id, files_retry_after_s=self._files.retry_after_s
            )
        if record is None:
            return False
        await self._publish_deleted(image_id)
        try:
            await self._files.remove(FileDeletion.of_image(record))
        except Exception as exc:
            # The database went away since the delete: the entry is kept, and is retried.
            log.warning(
                "could not finish removing a deleted image's files; will retry (%s: %s)",
                type(exc).__name__,
                exc,
                extra={"image_id": image_id},
            )
        log.info("image deleted", extra={"image_id": image_id})
        return True

    async def _publish_deleted(self, image_id: int) -> None:
        """Best effort: the row is gone whatever the broker says.

        A broker that is away has also dropped the servers' listener queues: when a listener
        is back it resyncs, and a subscription by id then takes a missing row as deleted.
        """
        try:
            async with asyncio.timeout(DELETED_EVENT_TIMEOUT_S):
                await self._events.publish(ImageEvent.deleted(image_id))
        except Exception as exc:
            reason = str(exc) or f"no confirm within {DELETED_EVENT_TIMEOUT_S} s"
            log.warning(
                "could not publish the deleted event (%s: %s)",
                type(exc).__name__,
                reason,
                extra={"image_id": image_id},
            )
