"""Local storage: whole files or nothing, and never outside its root."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.health import check_storage
from infra.renditions import DEFAULT_PRESETS, rendition_key, rendition_prefix
from infra.storage import InvalidKey, StorageError, UploadTooLarge
from infra.storage.local import LocalStorage


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_save_stream_stores_the_whole_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    content = b"x" * (3 * 1024 * 1024 + 5)
    assert storage.save_stream("originals/a.jpg", io.BytesIO(content), max_bytes=10**8) == len(
        content
    )
    assert (tmp_path / "originals/a.jpg").read_bytes() == content


def test_save_stream_over_the_limit_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(UploadTooLarge, match=r"^file is larger than the 1000 B limit$"):
        storage.save_stream("originals/big.jpg", io.BytesIO(b"y" * 1001), max_bytes=1000)
    assert _files(tmp_path) == []


def test_a_failing_writer_leaves_no_partial_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(RuntimeError), storage.atomic_writer("thumbnails/t.jpg") as target:
        target.write(b"half")
        raise RuntimeError("crash mid-write")
    assert _files(tmp_path) == []


def test_a_staged_upload_is_adopted_whole_or_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    content = b"z" * (2 * 1024 * 1024 + 3)
    # Adopted: the whole file under its key, and nothing else once the upload is closed
    with storage.staging_file() as staged:
        staged.write(content)
        assert storage.adopt("originals/a.jpg", staged, max_bytes=10**8) == len(content)
    assert _files(tmp_path) == [tmp_path / "originals/a.jpg"]
    assert (tmp_path / "originals/a.jpg").read_bytes() == content
    # Over the limit, or never adopted (a rejected upload): nothing left
    with storage.staging_file() as staged:
        staged.write(b"y" * 1001)
        with pytest.raises(UploadTooLarge, match=r"^file is larger than the 1000 B limit$"):
            storage.adopt("originals/big.jpg", staged, max_bytes=1000)
    with storage.staging_file() as staged:
        staged.write(b"rejected")
    assert _files(tmp_path) == [tmp_path / "originals/a.jpg"]


def test_adopting_any_other_file_copies_it(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert storage.adopt("originals/b.jpg", io.BytesIO(b"bytes"), max_bytes=100) == 5
    assert (tmp_path / "originals/b.jpg").read_bytes() == b"bytes"


@pytest.mark.parametrize(
    "key", ["../escape", "/etc/passwd", "a/../../b", "", "a\x00b", ".", "./.", "//x"]
)
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(InvalidKey):
        storage.local_path(key)


def test_delete_is_idempotent_and_check_writable_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.save_stream("k/a", io.BytesIO(b"1"), max_bytes=10)
    storage.delete("k/a")
    storage.delete("k/a")
    storage.check_writable()
    assert _files(tmp_path) == []


def test_only_staged_uploads_idle_for_long_enough_are_swept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with storage.staging_file() as staged:
        staged.write(b"kept")
        storage.adopt("originals/kept.jpg", staged, max_bytes=10**8)
    abandoned, arriving = storage.staging_file(), storage.staging_file()
    abandoned_path, arriving_path = Path(abandoned.name), Path(arriving.name)
    abandoned.write(b"cut off")
    abandoned.flush()
    an_hour_ago_s = time.time() - 3601
    os.utime(abandoned_path, (an_hour_ago_s, an_hour_ago_s))
    # Swept: the upload idle for an hour; kept: the one still arriving and the original
    assert storage.remove_abandoned_staging_files(idle_for_s=3600) == 1
    assert sorted(_files(tmp_path)) == sorted([tmp_path / "originals/kept.jpg", arriving_path])
    arriving.close()
    abandoned.close()  # its file is already gone: closing must not fail
    assert storage.remove_abandoned_staging_files(idle_for_s=3600) == 0


_WRITE_AND_HANG = """
import sys, time
from collections.abc import Callable
from pathlib import Path
from infra.storage.local import LocalStorage
with LocalStorage(Path(sys.argv[1])).atomic_writer("renditions/abc/small.webp") as out:
    out.write(b"half a rendition")
    out.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_rendition_cut_off_by_a_killed_worker_is_swept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    # Given a process killed while writing a rendition (as a worker's pool process can be)
    with subprocess.Popen(
        [sys.executable, "-c", _WRITE_AND_HANG, str(tmp_path)], stdout=subprocess.PIPE
    ) as writer:
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline() == b"writing\n"
        finally:
            writer.kill()
    # Then its partial file is in the staging folder, not beside the renditions
    (left_over,) = _files(tmp_path)
    assert left_over.parent == tmp_path / ".staging"
    # And once idle for long enough, the sweep removes it; no rendition appeared
    an_hour_ago_s = time.time() - 3601
    os.utime(left_over, (an_hour_ago_s, an_hour_ago_s))
    assert storage.remove_abandoned_staging_files(idle_for_s=3600) == 1
    assert _files(tmp_path) == []


def test_storage_errors_name_the_key_and_the_reason_but_not_the_absolute_path(
    tmp_path: Path,
) -> None:
    # Given a file where the thumbnails folder should be (clients read these messages)
    storage = LocalStorage(tmp_path)
    (tmp_path / "thumbnails").write_bytes(b"in the way")
    with pytest.raises(StorageError) as raised, storage.atomic_writer("thumbnails/t.jpg") as out:
        out.write(b"x")
    message = str(raised.value)
    assert message == "cannot write thumbnails/t.jpg: File exists (EEXIST)"
    # The chained OSError still has the path, for the logs
    assert str(tmp_path) in str(raised.value.__cause__)


def _fails(code: int) -> Callable[..., None]:
    def fail(*args: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    ("where", "code", "reason"),
    [
        ("write", errno.ENOSPC, "No space left on device (ENOSPC)"),
        ("fsync", errno.ENOSPC, "No space left on device (ENOSPC)"),
        ("rename", errno.EROFS, "Read-only file system (EROFS)"),
    ],
)
def test_a_disk_that_fills_up_or_turns_read_only_mid_write_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, reason: str
) -> None:
    # Given a disk that has room to open a file but fails later: the rendition's own writes
    # (Pillow writes to the descriptor itself), the fsync or the rename into place
    storage = LocalStorage(tmp_path)
    if where == "fsync":
        monkeypatch.setattr(os, "fsync", _fails(code))
    if where == "rename":
        monkeypatch.setattr(Path, "replace", _fails(code))

    # When a rendition is written
    with pytest.raises(StorageError) as raised, storage.atomic_writer("thumbnails/t.jpg") as out:
        out.write(b"x")
        if where == "write":
            _fails(code)()

    # Then it fails as storage, naming the key and the reason, and leaves nothing behind
    assert str(raised.value) == f"cannot write thumbnails/t.jpg: {reason}"
    assert _files(tmp_path) == []


def test_a_writers_own_errors_are_not_taken_for_the_disks(tmp_path: Path) -> None:
    # Pillow's errno-less OSErrors ("cannot write mode RGBA as JPEG") are not storage's.
    storage = LocalStorage(tmp_path)
    with (
        pytest.raises(OSError, match="cannot write mode") as raised,
        storage.atomic_writer("thumbnails/t.jpg"),
    ):
        raise OSError("cannot write mode RGBA as JPEG")
    assert not isinstance(raised.value, StorageError)
    assert _files(tmp_path) == []


async def test_the_storage_check_answers_without_the_path_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".healthcheck").write_bytes(b"in the way")
    state = await check_storage(LocalStorage(tmp_path))
    assert state.startswith("down: StorageError: cannot write .healthcheck/")
    assert state.endswith(": File exists (EEXIST)")
    assert str(tmp_path) not in state
    assert str(tmp_path) in caplog.text


@pytest.mark.parametrize("original", ["uploads/.cat.jpg", "uploads/.jpg", "uploads/cat"])
def test_an_images_rendition_folder_holds_no_other_images_files(
    tmp_path: Path, original: str
) -> None:
    # Deleting an image removes whatever storage lists under its rendition prefix: an
    # empty name there ("renditions//") listed every image's renditions.
    storage = LocalStorage(tmp_path)
    spec = DEFAULT_PRESETS[0]
    others = [rendition_key("originals/3f2a9c0d.jpg", spec), rendition_key("uploads/dog.jpg", spec)]
    for key in [*others, rendition_key(original, spec)]:
        storage.save_stream(key, io.BytesIO(b"x"), max_bytes=10)

    listed = list(storage.iter_keys(rendition_prefix(original)))

    assert listed == [rendition_key(original, spec)]
