"""Which errors a client may read. Everything else is a bug and is masked."""

from __future__ import annotations

from graphql import GraphQLError

from server.service import ServiceUnavailable, UploadRejected


class UserFacingError(Exception):
    """Raised by resolvers for mistakes the client can fix (unknown id, bad cursor)."""


_SHOWN_TO_CLIENTS = (UserFacingError, UploadRejected, ServiceUnavailable)


def should_mask_error(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or error.path is None:
        # Syntax, validation, variable coercion (a bad enum value in `options`) and limit
        # errors describe the client's request; only resolver errors have a path.
        return False
    return not isinstance(original, _SHOWN_TO_CLIENTS)
