"""Multipart forms whose files are written once, straight into storage, as they arrive.

Starlette's ``request.form()`` spools each file part into a temporary file (rolling over to
disk at 1 MiB, then one thread-pool hop per chunk), which storage then copies again. Here
each file part streams into ``Storage.staging_file()`` on the storage's own disk, and the
service adopts it with a rename (docs/benchmarks.md, upload path). Fields are kept in
memory, bounded like Starlette's. python-multipart does the parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import Request

from infra.storage import StagedFile

MAX_FIELD_BYTES = 1024 * 1024
MAX_FIELDS = 1000


class InvalidForm(ValueError):
    """The body is not a well-formed multipart form within our limits; safe to show."""


class _StagedUpload(UploadFile):
    # Starlette's UploadFile hops to a thread for every call on a file it did not spool
    # itself; a staged file's seek and close are cheap enough to do in place.
    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.file.close()


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    upload: _StagedUpload | None = None
    data: bytearray = field(default_factory=bytearray)


class _FormBuilder:
    """python-multipart callbacks: fields into memory, files into staging files."""

    def __init__(self, staging_file: Callable[[], StagedFile], max_files: int) -> None:
        self._staging_file = staging_file
        self._max_files = max_files
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self.items: list[tuple[str, str | UploadFile]] = []
        self.uploads: list[_StagedUpload] = []
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
                raise InvalidForm(f"too many files: at most {self._max_files}")
            upload = _StagedUpload(
                self._staging_file(),
                size=0,
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
            # A blocking page-cache write of one chunk costs less than a thread hop for
            # it; the bare endpoint we measure against writes the same way.
            upload.file.write(data[start:end])
            upload.size = (upload.size or 0) + end - start
        elif len(self._part.data) + end - start > MAX_FIELD_BYTES:
            raise InvalidForm(f"a form field is larger than {MAX_FIELD_BYTES} bytes")
        else:
            self._part.data.extend(data[start:end])

    def _end(self) -> None:
        if self._part.upload is not None:
            self.items.append((self._part.name, self._part.upload))
        else:
            self.items.append((self._part.name, self._part.data.decode("utf-8", "replace")))


async def read_form(
    request: Request, staging_file: Callable[[], StagedFile], *, max_files: int
) -> FormData:
    """The request's multipart form, its files already in storage's staging files.

    Raises ``InvalidForm``; on any failure, staged files are closed (and so removed).
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidForm("multipart body without a boundary")
    builder = _FormBuilder(staging_file, max_files)
    try:
        parser = MultipartParser(boundary, builder.callbacks())  # type: ignore[arg-type]
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                parser.write(chunk)
        parser.finalize()
        for upload in builder.uploads:
            await upload.seek(0)
    except BaseException as exc:
        for upload in builder.uploads:
            await upload.close()
        if isinstance(exc, FormParserError):
            raise InvalidForm("invalid multipart data") from exc
        raise
    return FormData(builder.items)
