"""Multipart forms staged into storage: every byte lands in order, however the body arrives."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from infra.storage.local import LocalStorage
from server.upload_form import read_form

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


def _request(chunks: Iterator[bytes]) -> Request:
    async def receive() -> Message:
        chunk = next(chunks, None)
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
    form = await read_form(_request(chunks), storage.staging_file, max_files=10)
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
