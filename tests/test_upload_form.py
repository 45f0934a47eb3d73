"""Multipart forms staged into storage: every byte lands in order, however the body arrives."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from infra.storage import UploadTooLarge
from infra.storage.local import LocalStorage
from server.upload_form import MAX_FIELDS_BYTES, InvalidForm, read_form

BOUNDARY = b"----iq-test-boundary"


def _body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += b"--" + BOUNDARY + b"\r\n"
        body += f"Content-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + b"--" + BOUNDARY + b"--\r\n"


def _request(chunks: Iterator[bytes], *, disconnect_at_end: bool = False) -> Request:
    async def receive() -> Message:
        chunk = next(chunks, None)
        if chunk is None and disconnect_at_end:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)],
    }
    return Request(scope, receive)


def _split(body: bytes, sizes: Iterator[int]) -> Iterator[bytes]:
    position = 0
    while position < len(body):
        size = next(sizes)
        yield body[position : position + size]
        position += size


async def _staged_contents(storage: LocalStorage, chunks: Iterator[bytes]) -> dict[str, object]:
    form = await read_form(
        _request(chunks), storage.staging_file, max_files=10, max_file_bytes=10 * 1024 * 1024
    )
    try:
        return {
            name: (value.file.read() if isinstance(value, UploadFile) else value)
            for name, value in form.multi_items()
        }
    finally:
        await form.close()


def _leftover_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_files_arrive_whole_whatever_the_chunk_sizes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    generator = random.Random(7)
    big = generator.randbytes(3 * 1024 * 1024 + 11)
    # Bytes that look like the start of a boundary, split across chunks by the sizes below
    tricky = b"\r\n--" + BOUNDARY[:10] + generator.randbytes(5000) + b"\r\n-"
    parts = {"operations": '{"query": "mutation"}', "big": big, "tricky": tricky, "empty": b""}
    body = _body(
        [
            ("operations", None, b'{"query": "mutation"}'),
            ("big", "big.jpg", big),
            ("tricky", "tricky.jpg", tricky),
            ("empty", "empty.jpg", b""),
        ]
    )
    small_body = _body([("tricky", "tricky.jpg", tricky)])
    # Given a body cut into pieces from 1 byte to 300 KB, or one cut into 7-byte pieces
    mixed_sizes = iter(lambda: generator.choice([1, 7, 100, 4096, 65536, 300_000]), None)
    tiny_sizes = iter(lambda: 7, None)
    for sent, sizes, expected in (
        (body, mixed_sizes, parts),
        (small_body, tiny_sizes, {"tricky": tricky}),
    ):
        # When it is read as a form
        contents = asyncio.run(_staged_contents(storage, _split(sent, sizes)))
        # Then every file holds exactly its bytes, and the field its text
        assert contents == expected
        # And closing the form without adopting anything leaves no file behind
        assert _leftover_files(tmp_path) == []


def _chunks(body: bytes, size: int = 65536) -> Iterator[bytes]:
    return _split(body, iter(lambda: size, None))


def test_a_file_over_the_limit_is_not_written_beyond_it_and_its_neighbours_arrive(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    limit_bytes = 100_000
    huge = random.Random(3).randbytes(2 * 1024 * 1024)
    small = b"small file"
    body = _body([("huge", "huge.jpg", huge), ("small", "small.jpg", small)])

    async def read() -> tuple[int, bytes, bool]:
        form = await read_form(
            _request(_chunks(body)), storage.staging_file, max_files=10, max_file_bytes=limit_bytes
        )
        try:
            huge_file, small_file = form["huge"], form["small"]
            assert isinstance(huge_file, UploadFile) and isinstance(small_file, UploadFile)
            staged_bytes = len(huge_file.file.read())
            try:
                storage.adopt("originals/huge.jpg", huge_file.file, max_bytes=limit_bytes)
            except UploadTooLarge:
                refused = True
            else:
                refused = False
            return staged_bytes, small_file.file.read(), refused
        finally:
            await form.close()

    staged_bytes, small_contents, refused = asyncio.run(read())
    # Only about one chunk more than the limit reached the disk, not the 2 MiB sent
    assert limit_bytes < staged_bytes <= limit_bytes + 65536
    # And adopting it fails as too large, while the other file arrived whole
    assert refused
    assert small_contents == small
    assert _leftover_files(tmp_path) == []


@pytest.mark.parametrize(
    ("parts", "max_files", "message"),
    [
        ([(f"f{i}", f"{i}.jpg", b"x") for i in range(3)], 2, "at most 2 files per request"),
        ([("a", "a.jpg", b"x"), ("b", "b.jpg", b"y")], 1, "at most 1 file per request"),
        (
            [("operations", None, b"x" * (MAX_FIELDS_BYTES // 2 + 1))] * 2,
            10,
            f"larger than {MAX_FIELDS_BYTES} bytes",
        ),
    ],
    ids=["too many files", "a second file where one is taken", "fields too large together"],
)
def test_a_form_beyond_what_the_endpoint_takes_is_refused_and_leaves_nothing(
    tmp_path: Path, parts: list[tuple[str, str | None, bytes]], max_files: int, message: str
) -> None:
    storage = LocalStorage(tmp_path)
    request = _request(_chunks(_body(parts)))
    with pytest.raises(InvalidForm, match=message):
        asyncio.run(
            read_form(request, storage.staging_file, max_files=max_files, max_file_bytes=10**6)
        )
    assert _leftover_files(tmp_path) == []


def test_a_client_that_disconnects_mid_upload_gets_a_form_error_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    body = _body([("image", "a.jpg", random.Random(5).randbytes(300_000))])
    request = _request(_chunks(body[: len(body) // 2]), disconnect_at_end=True)
    with pytest.raises(InvalidForm, match="disconnected"):
        asyncio.run(read_form(request, storage.staging_file, max_files=1, max_file_bytes=10**6))
    assert _leftover_files(tmp_path) == []
