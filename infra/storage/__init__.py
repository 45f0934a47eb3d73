"""Where originals and renditions live.

``Storage`` is the interface; ``local.LocalStorage`` keeps files on a disk shared by the
server and the workers. Keys are relative, ``/``-separated names made by the server
(``originals/3f2a….jpg``); no name from a client ever becomes part of a key. Methods
block, so async callers run them in a thread.
"""

from __future__ import annotations

import abc
import io
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from infra.units import format_bytes


def key_of_path(path: str) -> str:
    """The storage key a row's or a job's path names.

    The original design's rows and jobs hold paths from the shared volume's root
    (``/uploads/cat.jpg``): a leading ``/`` stands for the storage root. Our own are keys
    already.
    """
    return path.lstrip("/")


class StorageError(Exception):
    """The storage backend failed (disk full, permission, missing key)."""


class UploadTooLarge(StorageError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"file is larger than the {format_bytes(max_bytes)} limit")
        self.max_bytes = max_bytes


class InvalidKey(StorageError):
    pass


class StagedFile(io.BufferedRandom):
    """An incoming upload being written, discarded when closed unless adopted."""


class Storage(abc.ABC):
    @abc.abstractmethod
    def save_stream(self, key: str, source: BinaryIO, *, max_bytes: int) -> int:
        """Copy ``source`` to ``key`` and return its size in bytes.

        Raises ``UploadTooLarge`` as soon as more than ``max_bytes`` have been read; either
        the whole file appears under ``key`` or nothing does.
        """

    def staging_file(self) -> StagedFile:
        """A nameless file for an upload as it arrives, to be ``adopt``ed or dropped.

        Here a temporary file, which ``adopt`` copies; a backend that can do better (a
        file already on its own disk) overrides both.
        """
        raw = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 (the caller closes it)
        assert isinstance(raw, io.RawIOBase)
        return StagedFile(raw)

    def remove_abandoned_staging_files(self, idle_for_s: float) -> int:
        """Remove files in progress (staged uploads, renditions being written) that nothing
        has written to for ``idle_for_s``; how many there were.

        A server or worker killed mid-write cannot remove its own. Here there is none to
        remove: the base class stages into nameless temporary files, which the operating
        system reclaims with the process.
        """
        return 0

    def adopt(self, key: str, staged: BinaryIO, *, max_bytes: int) -> int:
        """Store a staged upload (or any readable file) under ``key``; return its size.

        The same guarantees as ``save_stream``: ``UploadTooLarge`` past ``max_bytes``, and
        either the whole file appears under ``key`` or nothing does.
        """
        staged.seek(0)
        return self.save_stream(key, staged, max_bytes=max_bytes)

    @abc.abstractmethod
    def atomic_writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file that becomes visible under ``key`` only when the block exits cleanly."""

    @abc.abstractmethod
    def open_read(self, key: str) -> BinaryIO: ...

    @abc.abstractmethod
    def size(self, key: str) -> int: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path | None:
        """A path on this machine for ``key``, when the backend has one (for sendfile)."""

    @abc.abstractmethod
    def check_writable(self) -> None:
        """Raise ``StorageError`` unless a file can be written now."""

    def iter_keys(self, prefix: str) -> Iterator[str]:
        raise NotImplementedError

    def remove_folder_if_empty(self, prefix: str) -> None:
        """Remove the folder ``prefix`` names once its last key is gone.

        Nothing to do here: keys without folders (object storage) leave none behind.
        """
        return None


def open_storage(storage_dir: Path) -> Storage:
    from infra.storage.local import LocalStorage

    return LocalStorage(storage_dir)
