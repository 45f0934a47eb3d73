"""A deleted image's files leave storage, even when storage fails at the time of the delete."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import asyncpg

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent
from infra.db import file_deletions, images, outbox
from infra.db.images import Processed
from infra.renditions import rendition_prefix, thumbnail_key_for
from infra.storage import StorageError
from infra.storage.local import LocalStorage
from server.file_deleter import FileDeleter
from server.outbox_relay import OutboxRelay
from server.service import ImageService

_ORIGINAL = "originals/6f1c0d2e.jpg"


class _ReadOnlyAtWill(LocalStorage):
    """Local storage that refuses to remove anything while ``read_only``, as a disk
    remounted read-only does (EROFS)."""

    read_only = False

    def delete(self, key: str) -> None:
        if self.read_only:
            raise StorageError(f"cannot delete {key}: Read-only file system (EROFS)")
        super().delete(key)

    def remove_folder_if_empty(self, prefix: str) -> None:
        if self.read_only:
            raise StorageError(f"cannot remove {prefix}: Read-only file system (EROFS)")
        super().remove_folder_if_empty(prefix)


class _Events:
    def __init__(self) -> None:
        self.published: list[ImageEvent] = []

    async def publish(self, event: ImageEvent) -> None:
        self.published.append(event)


def _service(pool: asyncpg.Pool, storage: LocalStorage, files: FileDeleter) -> ImageService:
    return ImageService(
        pool=pool,
        storage=storage,
        relay=cast(OutboxRelay, None),  # deletes never publish a job
        events=cast(EventPublisher, _Events()),
        files=files,
        max_upload_bytes=1024,
        max_image_pixels=1024,
        max_files_per_request=1,
    )


async def _completed_image(pool: asyncpg.Pool, storage: LocalStorage) -> tuple[int, list[Path]]:
    """A completed image with an original, a thumbnail and one rendition on disk, plus a
    rendition its worker wrote but never recorded; its id and its files."""
    record, _ = await outbox.insert_pending_image(
        pool, filename="a.jpg", original_path=_ORIGINAL, file_size=3, content_type="image/jpeg"
    )
    thumb = thumbnail_key_for(_ORIGINAL)
    small = f"{rendition_prefix(_ORIGINAL)}small.webp"
    unrecorded = f"{rendition_prefix(_ORIGINAL)}large.webp"
    for key in (_ORIGINAL, thumb, small, unrecorded):
        with storage.atomic_writer(key) as target:
            target.write(b"abc")
    assert await images.claim_for_processing(pool, record.id, take_over=False, stale_after_s=60)
    rendition: dict[str, Any] = {"name": "small", "key": small}
    assert await images.mark_completed(
        pool,
        record.id,
        Processed(thumb, 3, 1, 1, "JPEG", {}, None, None, [rendition]),
    )
    paths = [storage.local_path(key) for key in (_ORIGINAL, thumb, small, unrecorded)]
    assert all(path.exists() for path in paths)
    return record.id, paths


async def test_a_delete_while_storage_is_read_only_succeeds_and_its_files_follow(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    storage = _ReadOnlyAtWill(tmp_path)
    deleter = FileDeleter(pool=pool, storage=storage, retry_after_s=0.2)
    service = _service(pool, storage, deleter)
    image_id, paths = await _completed_image(pool, storage)

    # Given storage that has turned read-only
    storage.read_only = True
    # When the image is deleted
    deleted = await service.delete(image_id)

    # Then the client is told it is gone, and so it is: no row, and a retry finds nothing
    assert deleted is True
    assert await images.get(pool, image_id) is None
    assert await service.delete(image_id) is False
    # and its files, still there, are kept on record with why they could not go
    assert all(path.exists() for path in paths)
    error = await pool.fetchval("SELECT error FROM file_deletions WHERE image_id = $1", image_id)
    assert "Read-only file system" in error
    # nor does a retry while storage still refuses lose the record
    await asyncio.sleep(0.3)
    assert await deleter.remove_due() == 0
    assert await file_deletions.pending(pool) == 1

    # When storage is writable again and the deleter's next retry is due
    storage.read_only = False
    await asyncio.sleep(0.5)  # the second retry waits twice as long as the first
    assert await deleter.remove_due() == 1

    # Then every file is gone, the image's renditions folder too, and so is the record
    assert not any(path.exists() for path in paths)
    assert not storage.local_path(rendition_prefix(_ORIGINAL)).exists()
    assert await file_deletions.pending(pool) == 0


async def test_a_delete_removes_the_images_renditions_folder_and_its_record(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    storage = _ReadOnlyAtWill(tmp_path)
    service = _service(pool, storage, FileDeleter(pool=pool, storage=storage))
    image_id, paths = await _completed_image(pool, storage)

    assert await service.delete(image_id) is True

    assert not any(path.exists() for path in paths)
    assert not storage.local_path(rendition_prefix(_ORIGINAL)).exists()
    assert (tmp_path / "renditions").is_dir()  # shared by every image: kept
    assert await file_deletions.pending(pool) == 0


async def test_two_servers_never_take_the_same_entry_at_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    storage = _ReadOnlyAtWill(tmp_path)
    image_id, _ = await _completed_image(pool, storage)
    # Given a delete whose files are due for the deleter
    assert await images.delete(pool, image_id, files_retry_after_s=0) is not None

    # When two instances look for due entries at the same moment
    first, second = await asyncio.gather(
        file_deletions.claim_due(pool, lease_s=60, max_backoff_s=60, limit=10),
        file_deletions.claim_due(pool, lease_s=60, max_backoff_s=60, limit=10),
    )

    # Then one of them has it, leased: it is not due again for the other
    assert sorted([len(first), len(second)]) == [0, 1]
    assert await file_deletions.claim_due(pool, lease_s=60, max_backoff_s=60, limit=10) == []
