"""Multipart forms whose files are written once, straight into storage, as they arrive.

Starlette's ``request.form()`` spools each file part into a temporary file (rolling over to
disk at 1 MiB, then one thread-pool hop per chunk), which storage then copies again. Here
each file part streams into ``Storage.staging_file()`` on the storage's own disk, and the
service adopts it with a rename (docs/benchmarks.md, upload path). python-multipart does
the parsing.

What a form may hold is bounded by what the endpoint takes: at most ``max_files`` file
parts (each holds an open staging file until the response), fields of at most
``MAX_FIELDS_BYTES`` together, and no more than ``max_file_bytes`` written per file: the
rest of a larger file is parsed and dropped, so adopting it fails as too large and the
form's other files still get their own answer.

File data is written off the event loop, in batches of ``WRITE_BATCH_BYTES``: copying it
into the page cache is most of an upload's CPU, and on the loop it would cap a server at
one core while parsing waits for it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import threading
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import ClientDisconnect, Request

from infra.metrics import UPLOADS
from infra.storage import StagedFile, StorageError

log = logging.getLogger(__name__)

MAX_FIELDS_BYTES = 1024 * 1024
"""All non-file fields of a form together (a GraphQL upload's ``operations`` and ``map``)."""
MAX_FIELDS = 1000
WRITE_BATCH_BYTES = 512 * 1024
WRITE_BATCH_CHUNKS = 64
"""File data held per upload before it is written: one thread hop per batch, not per
chunk, and memory bounded per request whatever the file's size (the chunk count bounds a
client that sends its body a few bytes at a time)."""


class InvalidForm(ValueError):
    """The body is not a well-formed multipart form within our limits; safe to show."""


class _StagedUpload(UploadFile):
    """A file part on its way into a staging file, written by a worker thread.

    The staging file itself is created by the first write, in that thread: creating a file
    costs about 0.5 ms of kernel time on ext4, too much to spend on the event loop.
    """

    def __init__(
        self, open_staging_file: Callable[[], StagedFile], *, filename: str, headers: Headers
    ) -> None:
        super().__init__(io.BytesIO(), size=0, filename=filename, headers=headers)
        self._open_staging_file = open_staging_file
        self._opened = False
        self._closed = False
        # Views of the parser's chunks, not copies, written in order by ``flush``.
        self.unwritten: list[memoryview] = []
        # Held while a thread writes: a request cancelled mid-flush must not close the
        # file under it.
        self._writing = threading.Lock()

    async def flush(self) -> None:
        """Write the data held so far (creating the file first, if needed) in a thread."""
        chunks, self.unwritten = self.unwritten, []
        if chunks or not self._opened:
            await asyncio.get_running_loop().run_in_executor(None, self._write, chunks)

    def _write(self, chunks: list[memoryview]) -> None:
        with self._writing:
            if self._closed:  # the request ended while this write waited for a thread
                return
            if not self._opened:
                self.file = self._open_staging_file()
                self._opened = True
            try:
                _write_all(self.file.fileno(), chunks)
            except OSError as exc:  # a full or failing disk: the server's fault, not the form's
                raise StorageError(f"cannot write an upload: {exc}") from exc

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.unwritten.clear()
        with self._writing:
            self._closed = True
            self.file.close()


def _write_all(fd: int, chunks: list[memoryview]) -> None:
    # One system call for the whole batch, which also releases the GIL only once.
    while chunks:
        written = os.writev(fd, chunks)
        while chunks and written >= len(chunks[0]):
            written -= len(chunks[0])
            chunks = chunks[1:]
        if written:
            chunks[0] = chunks[0][written:]


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    upload: _StagedUpload | None = None
    data: bytearray = field(default_factory=bytearray)


class _FormBuilder:
    """python-multipart callbacks: fields into memory, files into staging files."""

    def __init__(
        self, staging_file: Callable[[], StagedFile], max_files: int, max_file_bytes: int
    ) -> None:
        self._staging_file = staging_file
        self._max_files = max_files
        self._max_file_bytes = max_file_bytes
        self._fields_bytes = 0
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self.items: list[tuple[str, str | UploadFile]] = []
        self.uploads: list[_StagedUpload] = []
        self.unwritten_bytes = 0
        self.unwritten_chunks = 0
        self._fields = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._part = _Part()

    def _header_end(self) -> None:
        self._part.headers.append((bytes(self._header_name).lower(), bytes(self._header_value)))
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = dict(self._part.headers).get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise InvalidForm('a part has no Content-Disposition "name"')
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if len(self.uploads) >= self._max_files:
                files = "file" if self._max_files == 1 else "files"
                raise InvalidForm(f"at most {self._max_files} {files} per request")
            upload = _StagedUpload(
                self._staging_file,
                filename=options[b"filename"].decode("utf-8", "replace"),
                headers=Headers(raw=self._part.headers),
            )
            self.uploads.append(upload)
            self._part.upload = upload
        else:
            self._fields += 1
            if self._fields > MAX_FIELDS:
                raise InvalidForm(f"too many fields: at most {MAX_FIELDS}")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if (upload := self._part.upload) is not None:
            written_enough = (upload.size or 0) > self._max_file_bytes
            upload.size = (upload.size or 0) + end - start
            if written_enough:
                return  # already over the limit on disk, which is all adopting it needs
            upload.unwritten.append(memoryview(data)[start:end])
            self.unwritten_bytes += end - start
            self.unwritten_chunks += 1
            return
        self._fields_bytes += end - start
        if self._fields_bytes > MAX_FIELDS_BYTES:
            raise InvalidForm(f"the form's fields are larger than {MAX_FIELDS_BYTES} bytes")
        self._part.data.extend(data[start:end])

    @property
    def should_flush(self) -> bool:
        return (
            self.unwritten_bytes >= WRITE_BATCH_BYTES or self.unwritten_chunks >= WRITE_BATCH_CHUNKS
        )

    async def flush(self) -> None:
        self.unwritten_bytes = self.unwritten_chunks = 0
        for upload in self.uploads:
            await upload.flush()

    def _end(self) -> None:
        if self._part.upload is not None:
            self.items.append((self._part.name, self._part.upload))
        else:
            self.items.append((self._part.name, self._part.data.decode("utf-8", "replace")))


async def read_form(
    request: Request,
    staging_file: Callable[[], StagedFile],
    *,
    max_files: int,
    max_file_bytes: int,
) -> FormData:
    """The request's multipart form, its files already in storage's staging files.

    Raises ``InvalidForm`` for the client's mistakes (a body cut off by the client
    included) and ``StorageError`` when storage cannot take the files; on any failure,
    staged files are closed (and so removed).
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidForm("multipart body without a boundary")
    builder = _FormBuilder(staging_file, max_files, max_file_bytes)
    try:
        parser = MultipartParser(boundary, builder.callbacks())  # type: ignore[arg-type]
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                parser.write(chunk)
                if builder.should_flush:
                    await builder.flush()
        parser.finalize()
        if parser.state != MultipartState.END:
            # Without its closing boundary the last part may be cut short: not a form.
            raise InvalidForm("the body ends before the form's closing boundary")
        await builder.flush()
        for upload in builder.uploads:
            await upload.seek(0)
    except BaseException as exc:
        for upload in builder.uploads:
            await upload.close()
        if isinstance(exc, FormParserError):
            raise InvalidForm("invalid multipart data") from exc
        if isinstance(exc, ClientDisconnect):
            # Nobody is left to answer, and a closed tab is not an incident.
            raise InvalidForm("the client disconnected before the end of the body") from exc
        if isinstance(exc, StorageError):
            # The detail (a path, an errno) is for operators; callers tell the client to retry.
            log.error("storage failed during an upload: %s", exc)
            UPLOADS.labels("unavailable").inc()
        raise
    return FormData(builder.items)
