"""Caps the size of a request body while it streams in, before anything is parsed or stored."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.metrics import UPLOADS
from infra.units import format_bytes
from server.upload_form import MAX_FIELDS_BYTES

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Multipart framing around each file: boundaries and part headers."""

MAX_NON_MULTIPART_BODY_BYTES = MAX_FIELDS_BYTES
"""Any body that is not a multipart form: a GraphQL request in JSON is what an upload
form carries in its fields, and no other endpoint takes more. Parsed whole on the event
loop, a body the size of a batch of files (500 MiB) took 3 GB and stalled every client."""


def multipart_cap_bytes(*, max_files: int, max_file_bytes: int) -> int:
    """The largest body a form of ``max_files`` files of ``max_file_bytes`` each can need."""
    return max_files * (max_file_bytes + MULTIPART_OVERHEAD_BYTES)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """A 413 once the body is over its cap: at once when Content-Length says so.

    The cap is ``multipart_cap_bytes`` for a multipart form of ``max_files`` files of
    ``max_file_bytes``, the only way files are sent, and the smaller of that and
    ``MAX_NON_MULTIPART_BODY_BYTES`` for any other body. Wraps the whole app with the
    largest cap any endpoint needs; an endpoint that takes less (one file, for REST uploads)
    wraps its route in a tighter one as well.
    """

    def __init__(self, app: ASGIApp, *, max_files: int, max_file_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = multipart_cap_bytes(
            max_files=max_files, max_file_bytes=max_file_bytes
        )
        # Worded for the sender of the files, who chose their sizes, not the framing: a
        # form of one file is over its cap only if that file is over the per-file limit.
        self._multipart_refusal = (
            f"file is larger than the {format_bytes(max_file_bytes)} limit"
            if max_files == 1
            else f"request body is larger than the {format_bytes(self.max_body_bytes)} limit "
            f"({max_files} files of at most {format_bytes(max_file_bytes)} each)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        cap_bytes = self.max_body_bytes
        if not multipart:
            cap_bytes = min(cap_bytes, MAX_NON_MULTIPART_BODY_BYTES)
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap_bytes:
            await self._reject(scope, receive, send, cap_bytes, multipart=multipart)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._reject(scope, receive, send, cap_bytes, multipart=multipart)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, cap_bytes: int, *, multipart: bool
    ) -> None:
        if multipart:
            # Files travel only in multipart forms (POST /api/upload, GraphQL uploads), and
            # their sender gets the same 413 as for one file over MAX_UPLOAD_BYTES, which
            # the service counts: so count this refusal too, once, since no file was read.
            UPLOADS.labels("too_large").inc()
            message = self._multipart_refusal
        else:
            message = f"request body is larger than the {format_bytes(cap_bytes)} limit"
        response = JSONResponse(
            {"error": message, "errors": [{"message": message}]},
            status_code=413,
            headers={"connection": "close"},
        )
        await response(scope, receive, send)
