"""Storage on a local (or shared, mounted) file system."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeGuard

from infra.storage import InvalidKey, StagedFile, Storage, StorageError, UploadTooLarge

_COPY_CHUNK_BYTES = 1024 * 1024


_STAGING_DIR = ".staging"
"""Where every file is written before it is renamed into place: uploads as they arrive,
renditions, copies. Under the root, so on the same file system (finishing is a rename),
and in one folder, so finding what a killed process left does not mean walking every
image's folder or the flat thumbnail folder."""


def _reason(exc: OSError) -> str:
    """Why an OS call failed, without the absolute path ``str(exc)`` would carry.

    StorageError messages reach clients (an image's ``error``, ``/readyz``); the storage key
    already says which file. The chained OSError keeps the path for the logs.
    """
    if exc.errno is None:
        return exc.strerror or type(exc).__name__
    code = errno.errorcode.get(exc.errno, str(exc.errno))
    return f"{exc.strerror or os.strerror(exc.errno)} ({code})"


def _from_the_system(exc: BaseException) -> TypeGuard[OSError]:
    """An OSError the operating system raised (it has an errno): the disk's failure.

    Errno-less OSErrors raised inside a writer's block are a library's own words (Pillow's
    "cannot write mode RGBA as JPEG"), not the storage's; they pass as they are.
    """
    return isinstance(exc, OSError) and exc.errno is not None


class _StagingFile(StagedFile):
    """A ``.part`` file in the storage; closing it removes it unless it was adopted."""

    def __init__(self, raw: io.FileIO, temp_path: Path) -> None:
        super().__init__(raw)
        self.temp_path = temp_path
        self.adopted = False

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self.adopted:
                self.temp_path.unlink(missing_ok=True)


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        # Keys come from our own server and rows, but a row can be written by a legacy
        # producer: refuse anything that could step outside the root, or name the root
        # itself ("." and "./." have no parts once PurePosixPath drops the dots).
        pure = PurePosixPath(key)
        if not pure.parts or "\x00" in key or pure.is_absolute() or ".." in pure.parts:
            raise InvalidKey(f"invalid storage key {key!r}")
        return self.root.joinpath(*pure.parts)

    def _staging_path(self, name: str) -> Path:
        # Named after its destination, so a leftover says what was being written.
        return self._path(_STAGING_DIR) / f".{name}.{secrets.token_hex(6)}.part"

    @contextlib.contextmanager
    def atomic_writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = self._staging_path(path.name)
            temp.parent.mkdir(parents=True, exist_ok=True)
            handle = temp.open("xb")
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {_reason(exc)}") from exc
        try:
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            temp.replace(path)
        except BaseException as exc:
            temp.unlink(missing_ok=True)
            if _from_the_system(exc):
                # A full or read-only disk shows up in the writes, the flush, the fsync or
                # the rename, not in the open: all of them say so as storage failures.
                raise StorageError(f"cannot write {key}: {_reason(exc)}") from exc
            raise

    def save_stream(self, key: str, source: BinaryIO, *, max_bytes: int) -> int:
        written = 0
        try:
            with self.atomic_writer(key) as target:
                while chunk := source.read(_COPY_CHUNK_BYTES):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UploadTooLarge(max_bytes)
                    target.write(chunk)
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {_reason(exc)}") from exc
        return written

    def staging_file(self) -> StagedFile:
        # On the storage's own disk, so adopting it is a rename, not a copy.
        temp = self._staging_path("upload")
        try:
            temp.parent.mkdir(parents=True, exist_ok=True)
            return _StagingFile(io.FileIO(temp, "x+"), temp)
        except OSError as exc:
            raise StorageError(f"cannot stage an upload: {_reason(exc)}") from exc

    def remove_abandoned_staging_files(self, idle_for_s: float) -> int:
        cutoff_s = time.time() - idle_for_s
        removed = 0
        try:
            entries = list(os.scandir(self._path(_STAGING_DIR)))
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise StorageError(f"cannot list the staging folder: {_reason(exc)}") from exc
        for entry in entries:
            # Every write of a live upload or rendition moves its mtime on, so only the
            # dead stay old.
            with contextlib.suppress(FileNotFoundError):  # renamed or removed meanwhile
                if entry.name.endswith(".part") and entry.stat().st_mtime < cutoff_s:
                    Path(entry.path).unlink()
                    removed += 1
        return removed

    def adopt(self, key: str, staged: BinaryIO, *, max_bytes: int) -> int:
        if not isinstance(staged, _StagingFile):
            return super().adopt(key, staged, max_bytes=max_bytes)
        path = self._path(key)
        try:
            staged.flush()
            size = os.fstat(staged.fileno()).st_size
            if size > max_bytes:
                raise UploadTooLarge(max_bytes)
            os.fsync(staged.fileno())
            path.parent.mkdir(parents=True, exist_ok=True)
            staged.temp_path.replace(path)
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {_reason(exc)}") from exc
        staged.adopted = True
        return size

    def open_read(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {_reason(exc)}") from exc

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot stat {key}: {_reason(exc)}") from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {_reason(exc)}") from exc

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def check_writable(self) -> None:
        key = f".healthcheck/{secrets.token_hex(4)}"
        with self.atomic_writer(key) as probe:
            probe.write(b"ok")
        self.delete(key)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def remove_folder_if_empty(self, prefix: str) -> None:
        try:
            self._path(prefix).rmdir()
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as exc:
            # Not empty too: a file written since the keys were listed (a worker still
            # rendering a deleted image) is then found and removed by the next try.
            raise StorageError(f"cannot remove {prefix}: {_reason(exc)}") from exc
