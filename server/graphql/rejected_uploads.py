"""Reports the files a batch upload turned away as GraphQL errors beside the accepted images.

A rejected file must not null the whole ``[Image!]`` list, so the resolver records it in
the context and this extension adds one error per file once execution is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from server.graphql.errors import upload_rejection_extensions
from server.service import UploadRejected


@dataclass(frozen=True)
class RejectedUpload:
    field_path: tuple[str | int, ...]
    """Where the field's answer is in ``data``: its alias when it has one."""
    file_index: int
    """Its index in the field's ``files``. Not an index in the answer, which lists only
    the accepted files."""
    rejection: UploadRejected


class RejectedUploadsExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        rejected: list[RejectedUpload] | None = getattr(context, "rejected_uploads", None)
        result = self.execution_context.result
        if not rejected or result is None:
            return
        errors = list(result.errors or [])
        for upload in rejected:
            rejection = upload.rejection
            errors.append(
                GraphQLError(
                    str(rejection),
                    path=list(upload.field_path),
                    extensions={
                        **upload_rejection_extensions(rejection),
                        "fileIndex": upload.file_index,
                        # The same number under its first name, which older clients read.
                        "index": upload.file_index,
                    },
                )
            )
        result.errors = errors
