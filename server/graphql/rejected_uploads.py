"""Reports the files a batch upload turned away as GraphQL errors beside the accepted images.

A rejected file must not null the whole ``[Image!]!`` list, so the resolver records it in
the context and this extension adds one error per file once execution is done.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension


class RejectedUploadsExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        rejected = getattr(context, "rejected_uploads", None)
        result = self.execution_context.result
        if not rejected or result is None:
            return
        errors = list(result.errors or [])
        for index, rejection in rejected:
            errors.append(
                GraphQLError(
                    str(rejection),
                    path=["uploadImages", index],
                    extensions={
                        # A file the service could not take now may be sent again later.
                        "code": (
                            "SERVICE_UNAVAILABLE"
                            if rejection.status_code == 503
                            else "BAD_USER_INPUT"
                        ),
                        "filename": rejection.filename,
                        "reason": rejection.reason,
                        "index": index,
                    },
                )
            )
        result.errors = errors
