"""Write operations: uploads and deletes.

Every mutation field is nullable: fields run in order, so when one fails the ones before it
have already stored, deleted or queued something. A non-null field's error would null all
of ``data`` and hide that work; a client retrying then would do it twice.
"""

from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from infra.db.images import parse_image_id
from server.graphql.context import Context
from server.graphql.errors import SERVICE_UNAVAILABLE, UserFacingError
from server.graphql.inputs import UploadOptions, requested_renditions
from server.graphql.rejected_uploads import RejectedUpload
from server.graphql.types import Image
from server.service import ServiceUnavailable, UploadRejected, clean_filename


def _as_file(value: object, where: str) -> UploadFile:
    # The Upload scalar takes any variable value; only the multipart map makes it a file.
    if not isinstance(value, UploadFile):
        raise UserFacingError(f"{where}: expected a file in a multipart request")
    return value


def _take_once(info: Info[Context, None], upload: UploadFile) -> UploadFile:
    """The file, once: a part is renamed into storage when it is stored."""
    if id(upload) in info.context.files_taken:
        raise UploadRejected(
            clean_filename(upload.filename), "this file part is already used by another variable"
        )
    info.context.files_taken.add(id(upload))
    return upload


def _reject(info: Info[Context, None], file_index: int, rejection: UploadRejected) -> None:
    # The field's own path, alias included: a document may hold several uploadImages.
    path = tuple(info.path.as_list())
    info.context.rejected_uploads.append(RejectedUpload(path, file_index, rejection))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Store an image and queue it for processing; returns at once, PENDING. "
            "Null, with an error, when it is refused; when the file itself is, the error's "
            "extensions hold its `filename` and the `reason`."
        )
    )
    async def upload_image(
        self, info: Info[Context, None], file: Upload, options: UploadOptions | None = None
    ) -> Image | None:
        # Options are checked before the file is touched: a bad option stores nothing.
        renditions = requested_renditions(options)
        upload = _take_once(info, _as_file(file, "file"))
        try:
            record = await info.context.service.upload(upload.filename, upload.file, renditions)
        except ServiceUnavailable as unavailable:
            # Reported as uploadImages reports a file it could not take now.
            reason = str(unavailable)
            raise UserFacingError(
                reason,
                code=SERVICE_UNAVAILABLE,
                filename=clean_filename(upload.filename),
                reason=reason,
            ) from unavailable
        return Image.from_row(record)

    @strawberry.mutation(
        description=(
            "Upload several images in one request. Each file is accepted or rejected on its "
            "own: the list holds the accepted ones, in request order, and every rejected file "
            "is reported as an error whose path is this field's and whose extensions hold "
            "`fileIndex`, its index in `files`. Null, with an error, when the batch is refused "
            "as a whole (too many files, bad options, an entry that is not a file): then "
            "nothing is stored."
        )
    )
    async def upload_images(
        self,
        info: Info[Context, None],
        files: list[Upload],
        options: UploadOptions | None = None,
    ) -> list[Image] | None:
        limit = info.context.service.max_files_per_request
        if len(files) > limit:
            raise UserFacingError(f"at most {limit} files per request, got {len(files)}")
        renditions = requested_renditions(options)
        # Every entry is checked before any is stored: refusing the request after storing
        # some of its files would hide their ids from the client.
        uploads = [_as_file(file, f"files[{index}]") for index, file in enumerate(files)]
        accepted = []
        for index, upload in enumerate(uploads):
            try:
                _take_once(info, upload)
                record = await info.context.service.upload(upload.filename, upload.file, renditions)
            except UploadRejected as rejected:
                _reject(info, index, rejected)
                continue
            except ServiceUnavailable as unavailable:
                # The files before this one are stored and queued: null the list and a
                # client would upload them again. Each file gets its own answer instead.
                refused = UploadRejected(
                    clean_filename(upload.filename), str(unavailable), status_code=503
                )
                _reject(info, index, refused)
                continue
            accepted.append(Image.from_row(record))
        return accepted

    @strawberry.mutation(
        description=(
            "Delete an image and all of its files. False when unknown; null, with an error, "
            "when it could not be done now."
        )
    )
    async def delete_image(self, info: Info[Context, None], id: strawberry.ID) -> bool | None:
        image_id = parse_image_id(id)
        if image_id is None:
            return False
        return await info.context.service.delete(image_id)

    @strawberry.mutation(
        description=(
            "Queue a FAILED image again with a fresh attempt count; returns it, PENDING. "
            "Null, with an error, when the image is unknown or not FAILED (then the "
            "error's extensions hold its `status`)."
        )
    )
    async def retry_image(self, info: Info[Context, None], id: strawberry.ID) -> Image | None:
        image_id = parse_image_id(id)
        record = await info.context.service.retry(image_id) if image_id else None
        if record is None:
            current = await info.context.service.get(image_id) if image_id else None
            if current is None:
                raise UserFacingError(f"no image with id {id}")
            # Its ImageStatus value, as `status` reads in the schema.
            status = current.status.name
            raise UserFacingError(
                f"image {id} is {status}; only FAILED images can be retried", status=status
            )
        return Image.from_row(record)
