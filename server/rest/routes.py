"""``/api/...``: the original design's endpoints, unchanged in shape, plus delete and file URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route

from infra.db.images import ImageRecord, ImageStatus, parse_image_id
from infra.image_formats import content_type_of
from infra.renditions import OutputFormat
from infra.storage import StorageError
from server.body_limit import BodyLimitMiddleware
from server.resources import resources_of
from server.rest.cross_origin import CrossOriginRefusalMiddleware
from server.service import STORAGE_UNAVAILABLE, ServiceUnavailable, UploadRejected
from server.upload_form import InvalidForm, read_form

UPLOAD_FIELD = "image"
_NOT_A_FORM = f"send the image as multipart/form-data field {UPLOAD_FIELD!r}"
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 20
_STATUSES = ", ".join(status.value for status in ImageStatus)


def image_json(record: ImageRecord) -> dict[str, Any]:
    """The original design's shape, lowercase statuses included, plus the newer columns."""
    return {
        "id": record.id,
        "filename": record.filename,
        "status": record.status.value,
        "original_path": record.original_path,
        "thumbnail_path": record.thumbnail_path,
        "file_size": record.file_size,
        "thumbnail_size": record.thumbnail_size,
        "content_type": record.content_type,
        "created_at": _timestamp(record.created_at),
        "started_at": _timestamp(record.started_at),
        "processed_at": _timestamp(record.processed_at),
        "error": record.error,
        "attempts": record.attempts,
    }


def _timestamp(moment: datetime | None) -> str | None:
    """UTC with milliseconds and ``Z``, as the original design's API wrote them (its
    ``2024-01-01T10:00:00Z``; a JavaScript ``Date`` in JSON: ``2024-01-01T10:00:00.000Z``)."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _error(
    status_code: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status_code, headers=headers)


async def service_unavailable(request: Request, exc: Exception) -> Response:
    """Any route whose backing service is away: the API's JSON shape, and a 503 to retry."""
    return _error(503, str(exc))


def _image_id(request: Request) -> int | None:
    return parse_image_id(request.path_params["image_id"])


async def _find(request: Request) -> ImageRecord | JSONResponse:
    image_id = _image_id(request)
    record = await resources_of(request.app).service.get(image_id) if image_id else None
    if record is None:
        return _error(404, f"image {request.path_params['image_id']} not found")
    return record


async def upload(request: Request) -> Response:
    resources = resources_of(request.app)
    # Media types are case-insensitive: `Multipart/Form-Data` is a form too.
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return _error(400, _NOT_A_FORM)
    try:
        form = await read_form(
            request,
            resources.storage.staging_file,
            max_files=1,
            max_file_bytes=resources.service.max_upload_bytes,
        )
    except InvalidForm as exc:
        return _error(400, f"invalid multipart form: {exc}")
    except StorageError:
        return _error(503, STORAGE_UNAVAILABLE)
    try:
        # The file among the field's values: curl's `-F image=@cat.jpg -F image=extra` sends
        # a text value too, and the form holds at most one file (max_files above).
        files = [value for value in form.getlist(UPLOAD_FIELD) if isinstance(value, UploadFile)]
        if not files:
            return _error(400, _NOT_A_FORM)
        [file] = files
        try:
            record = await resources.service.upload(file.filename, file.file)
        except UploadRejected as rejected:
            return _error(rejected.status_code, str(rejected), filename=rejected.filename)
        except ServiceUnavailable as exc:
            return _error(503, str(exc))
    finally:
        await form.close()
    return JSONResponse(
        {
            "id": record.id,
            "filename": record.filename,
            "status": record.status.value,
            "message": "Image uploaded successfully",
        },
        status_code=201,
    )


async def list_images(request: Request) -> Response:
    params = request.query_params
    problems: list[str] = []
    status = None
    if "status" in params:
        # An empty value is a mistake too (a form's unset select), not "no filter".
        try:
            status = ImageStatus(params["status"])
        except ValueError:
            problems.append(f"status must be one of {_STATUSES}")
    limit = DEFAULT_LIST_LIMIT
    if "limit" in params:
        parsed_limit = _parse_limit(params["limit"])
        if parsed_limit is None:
            problems.append(f"limit must be an integer between 1 and {MAX_LIST_LIMIT}")
        else:
            limit = parsed_limit
    before_id = None
    if "before" in params:
        before_id = parse_image_id(params["before"])
        if before_id is None:
            problems.append("before must be an image id (a positive integer)")
    if problems:
        return _error(400, "; ".join(problems))
    records = await resources_of(request.app).service.list_newest_first(
        limit=limit, before_id=before_id, status=status
    )
    return JSONResponse({"images": [image_json(record) for record in records]})


def _parse_limit(raw: str) -> int | None:
    # Plain ASCII digits only: int() would also take " 5", "+5", "1_0" and other scripts' digits.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
        return None
    limit = int(raw)
    return limit if 1 <= limit <= MAX_LIST_LIMIT else None


async def get_image(request: Request) -> Response:
    found = await _find(request)
    return found if isinstance(found, JSONResponse) else JSONResponse(image_json(found))


async def delete_image(request: Request) -> Response:
    image_id = _image_id(request)
    deleted = bool(image_id) and await resources_of(request.app).service.delete(image_id or 0)
    if not deleted:
        return _error(404, f"image {request.path_params['image_id']} not found")
    return JSONResponse({"id": image_id, "deleted": True})


async def retry_image(request: Request) -> Response:
    image_id = _image_id(request)
    record = await resources_of(request.app).service.retry(image_id) if image_id else None
    if record is None:
        # Only now is it worth reading why: unknown, or not FAILED.
        found = await _find(request)
        if isinstance(found, JSONResponse):
            return found
        return _error(
            409,
            f"image {found.id} is {found.status.value}; only failed images can be retried",
            status=found.status.value,
        )
    return JSONResponse(image_json(record))


async def get_thumbnail(request: Request) -> Response:
    found = await _find(request)
    if isinstance(found, JSONResponse):
        return found
    if found.status is ImageStatus.FAILED:
        return _processing_failed(found, f"image {found.id} has no thumbnail")
    if found.status is not ImageStatus.COMPLETED or not found.thumbnail_key:
        return _error(404, f"thumbnail of image {found.id} is not ready", status=found.status.value)
    return _file_response(request, found.thumbnail_key, "image/jpeg")


async def get_rendition(request: Request) -> Response:
    found = await _find(request)
    if isinstance(found, JSONResponse):
        return found
    name = request.path_params["name"]
    if found.status is ImageStatus.FAILED:
        return _processing_failed(found, f"image {found.id} has no renditions")
    if found.status is not ImageStatus.COMPLETED:
        return _error(
            404, f"renditions of image {found.id} are not ready", status=found.status.value
        )
    for rendition in found.renditions:
        if rendition["name"] == name:
            media_type = OutputFormat(rendition["format"]).content_type
            return _file_response(request, rendition["key"], media_type)
    return _error(404, f"image {found.id} has no rendition {name!r}")


def _processing_failed(record: ImageRecord, missing: str) -> JSONResponse:
    """A failed image's files will not appear by waiting (only a retry makes them)."""
    reason = f": {record.error}" if record.error else ""
    return _error(404, f"{missing}: processing failed{reason}", status=record.status.value)


async def get_original(request: Request) -> Response:
    """The original as uploaded; with ``?download=1``, as an attachment named after it.

    Inline by default, so ``<img src>`` and the original design's clients get what they
    always got.
    """
    download = request.query_params.get("download", "0")
    if download not in ("0", "1"):
        return _error(400, "download must be 0 or 1")
    found = await _find(request)
    if isinstance(found, JSONResponse):
        return found
    # Rows written the original design's way have no content_type: the format the worker
    # detected says what the file is, else the name it was stored under.
    media_type = (
        found.content_type
        or content_type_of(found.format, found.original_path)
        or "application/octet-stream"
    )
    headers: dict[str, str] = {}
    if download == "1":
        headers["content-disposition"] = attachment(_download_name(found))
    return _file_response(request, found.original_key, media_type, headers)


def _download_name(record: ImageRecord) -> str:
    """The name it was uploaded under, with the stored file's extension if it has none
    ("upload" for a file sent without a name)."""
    name = record.filename or "original"
    _, dot, extension = record.original_path.rpartition("/")[2].rpartition(".")
    if dot and "." not in name.lstrip("."):
        name = f"{name}.{extension}"
    return name


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` that saves the file as ``filename`` (RFC 6266).

    ``filename*`` carries the name in UTF-8, percent-encoded (RFC 8187), so nothing in it
    can end the header or the parameter; ``filename=`` is a plain-ASCII stand-in for
    clients that do not read ``filename*``, with every other character (quotes,
    backslashes, control characters, non-ASCII) replaced by ``_``.
    """
    # Control characters (a CR or LF would end the header) and path separators have no
    # place in a saved file's name, in either form.
    name = "".join("_" if ord(c) < 0x20 or c in "\x7f/\\" else c for c in filename)
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_response(
    request: Request, key: str, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    storage = resources_of(request.app).storage
    try:
        path = storage.local_path(key)
    except StorageError:
        path = None
    if path is None or not path.is_file():
        return _error(404, "file not found")
    # Files never change under a key (a new rendition gets a new key), so caches may keep them.
    return FileResponse(
        path,
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400", **(headers or {})},
    )


async def _image(request: Request) -> Response:
    # One route per path, so a wrong method's 405 lists every method the path takes.
    return await (delete_image if request.method == "DELETE" else get_image)(request)


def api_routes(*, max_upload_bytes: int) -> list[BaseRoute]:
    """``/api/...``, ending with a route that answers every other ``/api`` path in JSON.

    Requests that change state are refused when a page on an untrusted origin sent them
    (server/rest/cross_origin.py).

    The upload's body is capped for one file of ``max_upload_bytes``: the app's own cap is
    sized for a GraphQL batch of files, and this endpoint takes one.
    """
    # Outermost, so a refused upload's body is never read.
    same_origin = Middleware(CrossOriginRefusalMiddleware)
    upload_cap = Middleware(BodyLimitMiddleware, max_files=1, max_file_bytes=max_upload_bytes)
    endpoints = [
        Route("/api/upload", upload, methods=["POST"], middleware=[same_origin, upload_cap]),
        Route("/api/images", list_images, methods=["GET"]),
        Route(
            "/api/images/{image_id}", _image, methods=["GET", "DELETE"], middleware=[same_origin]
        ),
        Route("/api/images/{image_id}/original", get_original, methods=["GET"]),
        Route(
            "/api/images/{image_id}/retry", retry_image, methods=["POST"], middleware=[same_origin]
        ),
        Route("/api/images/{image_id}/renditions/{name}", get_rendition, methods=["GET"]),
        Route("/api/thumbnails/{image_id}", get_thumbnail, methods=["GET"]),
    ]

    async def not_routed(request: Request) -> Response:
        """A wrong method or an unknown path: JSON like every other API error.

        Without this, the web app's catch-all mount (server/web.py) answered them with a
        plain-text 404, even for a known path with the wrong method.
        """
        allowed = sorted(
            method
            for route in endpoints
            if route.matches(request.scope)[0] is not Match.NONE
            for method in route.methods or ()
        )
        path = request.url.path
        if allowed:
            return _error(
                405,
                f"{request.method} is not allowed on {path} (allowed: {', '.join(allowed)})",
                headers={"allow": ", ".join(allowed)},
            )
        # What Starlette's router did before this route existed: "/api/images/" is taken
        # for "/api/images", as the original design's Express server took it.
        without_slash = {**request.scope, "path": request.scope["path"].rstrip("/")}
        if path.endswith("/") and any(
            route.matches(without_slash)[0] is not Match.NONE for route in endpoints
        ):
            return RedirectResponse(request.url.replace(path=path.rstrip("/")))
        return _error(404, f"no API endpoint {request.method} {path}")

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [
        *endpoints,
        Route("/api", not_routed, methods=methods),
        Route("/api/{path:path}", not_routed, methods=methods),
    ]
