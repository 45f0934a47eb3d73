"""Write operations: uploads and deletes."""

from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from infra.db.images import parse_image_id
from server.graphql.context import Context
from server.graphql.errors import UserFacingError
from server.graphql.inputs import UploadOptions, requested_renditions
from server.graphql.types import Image
from server.service import ServiceUnavailable, UploadRejected, clean_filename


def _take_upload(info: Info[Context, None], value: object) -> UploadFile:
    """The variable's file, once: a part is renamed into storage when it is stored."""
    if not isinstance(value, UploadFile):
        raise UserFacingError("expected a file in a multipart request")
    if id(value) in info.context.files_taken:
        raise UploadRejected(
            clean_filename(value.filename), "this file part is already used by another variable"
        )
    info.context.files_taken.add(id(value))
    return value


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Store an image and queue it for processing; returns at once, PENDING."
    )
    async def upload_image(
        self, info: Info[Context, None], file: Upload, options: UploadOptions | None = None
    ) -> Image:
        # Options are checked before the file is touched: a bad option stores nothing.
        renditions = requested_renditions(options)
        upload = _take_upload(info, file)
        record = await info.context.service.upload(upload.filename, upload.file, renditions)
        return Image.from_row(record)

    @strawberry.mutation(
        description=(
            "Upload several images in one request. Each file is accepted or rejected on its own: "
            "the list holds the accepted ones, in request order, and every rejected file is "
            "reported as an error whose path ends with its index in `files`."
        )
    )
    async def upload_images(
        self,
        info: Info[Context, None],
        files: list[Upload],
        options: UploadOptions | None = None,
    ) -> list[Image]:
        limit = info.context.service.max_files_per_request
        if len(files) > limit:
            raise UserFacingError(f"at most {limit} files per request, got {len(files)}")
        renditions = requested_renditions(options)
        accepted = []
        for index, file in enumerate(files):
            try:
                upload = _take_upload(info, file)
                record = await info.context.service.upload(upload.filename, upload.file, renditions)
            except UploadRejected as rejected:
                info.context.rejected_uploads.append((index, rejected))
                continue
            except ServiceUnavailable as unavailable:
                # The files before this one are stored and queued: null the list and a
                # client would upload them again. Each file gets its own answer instead.
                refused = UploadRejected(
                    clean_filename(upload.filename), str(unavailable), status_code=503
                )
                info.context.rejected_uploads.append((index, refused))
                continue
            accepted.append(Image.from_row(record))
        return accepted

    @strawberry.mutation(description="Delete an image and all of its files. False when unknown.")
    async def delete_image(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        image_id = parse_image_id(id)
        if image_id is None:
            return False
        return await info.context.service.delete(image_id)

    @strawberry.mutation(
        description=(
            "Queue a FAILED image again with a fresh attempt count; returns it, PENDING. "
            "An error when the image is unknown or not FAILED."
        )
    )
    async def retry_image(self, info: Info[Context, None], id: strawberry.ID) -> Image:
        image_id = parse_image_id(id)
        record = await info.context.service.retry(image_id) if image_id else None
        if record is None:
            current = await info.context.service.get(image_id) if image_id else None
            if current is None:
                raise UserFacingError(f"no image with id {id}")
            raise UserFacingError(
                f"image {id} is {current.status.name}; only FAILED images can be retried"
            )
        return Image.from_row(record)
