"""``/api/...``: the original design's endpoints, unchanged in shape, plus delete and file URLs."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from infra.db.images import ImageRecord, ImageStatus, parse_image_id
from infra.renditions import OutputFormat
from infra.storage import StorageError
from server.resources import resources_of
from server.service import STORAGE_UNAVAILABLE, ServiceUnavailable, UploadRejected
from server.upload_form import InvalidForm, read_form

UPLOAD_FIELD = "image"
_NOT_A_FORM = f"send the image as multipart/form-data field {UPLOAD_FIELD!r}"


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
        "created_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "processed_at": record.processed_at.isoformat() if record.processed_at else None,
        "error": record.error,
        "attempts": record.attempts,
    }


def _error(status_code: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status_code)


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
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
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
        file = form.get(UPLOAD_FIELD)
        if not isinstance(file, UploadFile):
            return _error(400, _NOT_A_FORM)
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
    status_param = request.query_params.get("status")
    try:
        status = ImageStatus(status_param) if status_param else None
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        return _error(400, "status must be pending|processing|completed|failed; limit an integer")
    if not 1 <= limit <= 100:
        return _error(400, "limit must be between 1 and 100")
    before_id = None
    if "before" in request.query_params:
        before_id = parse_image_id(request.query_params["before"])
        if before_id is None:
            return _error(400, "before must be an image id (a positive integer)")
    records = await resources_of(request.app).service.list_newest_first(
        limit=limit, before_id=before_id, status=status
    )
    return JSONResponse({"images": [image_json(record) for record in records]})


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
    if found.status is not ImageStatus.COMPLETED or not found.thumbnail_path:
        return _error(404, f"thumbnail of image {found.id} is not ready", status=found.status.value)
    return _file_response(request, found.thumbnail_path, "image/jpeg")


async def get_rendition(request: Request) -> Response:
    found = await _find(request)
    if isinstance(found, JSONResponse):
        return found
    name = request.path_params["name"]
    if found.status is not ImageStatus.COMPLETED:
        return _error(
            404, f"renditions of image {found.id} are not ready", status=found.status.value
        )
    for rendition in found.renditions:
        if rendition["name"] == name:
            media_type = OutputFormat(rendition["format"]).content_type
            return _file_response(request, rendition["key"], media_type)
    return _error(404, f"image {found.id} has no rendition {name!r}")


async def get_original(request: Request) -> Response:
    found = await _find(request)
    if isinstance(found, JSONResponse):
        return found
    return _file_response(
        request, found.original_path, found.content_type or "application/octet-stream"
    )


def _file_response(request: Request, key: str, media_type: str) -> Response:
    storage = resources_of(request.app).storage
    try:
        path = storage.local_path(key)
    except StorageError:
        path = None
    if path is None or not path.is_file():
        return _error(404, "file not found")
    # Files never change under a key (a new rendition gets a new key), so caches may keep them.
    return FileResponse(
        path, media_type=media_type, headers={"cache-control": "public, max-age=86400"}
    )


routes = [
    Route("/api/upload", upload, methods=["POST"]),
    Route("/api/images", list_images, methods=["GET"]),
    Route("/api/images/{image_id}", get_image, methods=["GET"]),
    Route("/api/images/{image_id}", delete_image, methods=["DELETE"]),
    Route("/api/images/{image_id}/original", get_original, methods=["GET"]),
    Route("/api/images/{image_id}/retry", retry_image, methods=["POST"]),
    Route("/api/images/{image_id}/renditions/{name}", get_rendition, methods=["GET"]),
    Route("/api/thumbnails/{image_id}", get_thumbnail, methods=["GET"]),
]
