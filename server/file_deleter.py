"""Nothing orphaned: a deleted image's files leave storage, even when storage is failing.

Deleting an image removes its row and records its files (``file_deletions``) in one
statement; the request then removes the files itself. When storage refuses (read-only,
unmounted, failing) or the server dies midway, the entry stays, and every server instance
retries the due ones with a growing delay until storage lets them go. The client is told
the image is deleted once its row is gone: nothing can read it any more, and its files
follow.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from infra.db import file_deletions
from infra.db.file_deletions import FileDeletion
from infra.renditions import rendition_prefix, thumbnail_key_for
from infra.storage import InvalidKey, Storage
from server.background import BackgroundLoop

log = logging.getLogger(__name__)

RETRY_AFTER_S = 60.0
"""How long a delete's own attempt has before the deleter may take over its entry, and the
first retry's delay; each later retry waits twice as long as the one before."""
MAX_RETRY_AFTER_S = 3600.0
_BATCH = 100


def _keys_of(entry: FileDeletion, storage: Storage) -> list[str]:
    """Every key the image may have: its row's, the thumbnail named after its original, and
    whatever is in its renditions folder (a worker that crashed before recording it)."""
    keys = [entry.original_key, thumbnail_key_for(entry.original_key)]
    if entry.thumbnail_key:
        keys.append(entry.thumbnail_key)
    keys.extend(entry.rendition_keys)
    keys.extend(storage.iter_keys(rendition_prefix(entry.original_key)))
    return list(dict.fromkeys(keys))


def _remove_files(entry: FileDeletion, storage: Storage) -> None:
    for key in _keys_of(entry, storage):
        try:
            storage.delete(key)
        except InvalidKey:
            # A path a legacy producer wrote that storage would never have held: retrying
            # cannot help.
            log.warning("not a storage key, skipped: %r", key, extra={"image_id": entry.image_id})
    storage.remove_folder_if_empty(rendition_prefix(entry.original_key))


class FileDeleter(BackgroundLoop):
    name = "file-deleter"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        retry_after_s: float = RETRY_AFTER_S,
        max_retry_after_s: float = MAX_RETRY_AFTER_S,
    ) -> None:
        self._pool = pool
        self._storage = storage
        self.retry_after_s = retry_after_s
        self._max_retry_after_s = max_retry_after_s

    async def run(self) -> None:
        while True:
            try:
                await self.remove_due()
            except Exception as exc:
                log.warning("file deletion sweep failed: %s", exc)
            await asyncio.sleep(self.retry_after_s)

    async def remove_due(self) -> int:
        """Try every entry that is due; how many were finished."""
        finished = 0
        while True:
            entries = await file_deletions.claim_due(
                self._pool,
                lease_s=self.retry_after_s,
                max_backoff_s=self._max_retry_after_s,
                limit=_BATCH,
            )
            for entry in entries:
                finished += await self.remove(entry)
            if len(entries) < _BATCH:
                return finished

    async def remove(self, entry: FileDeletion) -> bool:
        """Remove the image's files and then its entry; False (entry kept) if storage failed."""
        try:
            await asyncio.to_thread(_remove_files, entry, self._storage)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning(
                "could not remove a deleted image's files; will retry (%s)",
                reason,
                extra={"image_id": entry.image_id},
            )
            await file_deletions.failed(self._pool, entry.image_id, error=reason)
            return False
        await file_deletions.done(self._pool, entry.image_id)
        return True
