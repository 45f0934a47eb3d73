"""Which errors a client may read, and the code each carries. Everything else is a bug and
is masked.

Every error has ``extensions.code``, so a client tells what to do from the code, not the
message: Apollo Server's codes where one fits (``BAD_USER_INPUT``, ``GRAPHQL_PARSE_FAILED``,
``GRAPHQL_VALIDATION_FAILED``, ``OPERATION_RESOLUTION_FAILURE``, ``BAD_REQUEST``,
``INTERNAL_SERVER_ERROR``), and ``SERVICE_UNAVAILABLE`` for an outage to wait out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from server.service import ServiceUnavailable, UploadRejected

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
"""The client must change what it sent: an argument, a variable, an id, a file."""
SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
"""The database, storage or broker is away: the same request may work later."""
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"
"""A bug, masked as "Unexpected error." and logged with its traceback."""
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
OPERATION_RESOLUTION_FAILURE: Final = "OPERATION_RESOLUTION_FAILURE"
"""A valid document, but which operation to run is unclear (``operationName``)."""
BAD_REQUEST: Final = "BAD_REQUEST"


class UserFacingError(Exception):
    """Raised by resolvers with a message meant for the client and the ``extensions`` it
    reads: ``code``, ``BAD_USER_INPUT`` (a mistake the client can fix: unknown id, bad
    cursor) unless told otherwise, and any ``details``.

    graphql-core copies ``extensions`` into the error it wraps this in.
    """

    def __init__(self, message: str, *, code: str = BAD_USER_INPUT, **details: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code, **details}


_SHOWN_TO_CLIENTS = (UserFacingError, UploadRejected, ServiceUnavailable)

_REQUEST_ERRORS = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)
"""Strawberry's own answers (over WebSocket) to a request it cannot run."""


def should_mask_error(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, _SHOWN_TO_CLIENTS):
        # Syntax, validation and limit errors describe the client's request.
        return False
    if error.path is None:
        # Variable coercion (a bad enum value in `options`) wraps a GraphQLError. Anything
        # else raised without a path is an exception from a subscription's generator (which
        # graphql-core reports without the field's path), or from a hook: a bug.
        return not isinstance(original, (GraphQLError, *_REQUEST_ERRORS))
    return True


def upload_rejection_extensions(rejection: UploadRejected) -> dict[str, Any]:
    """What a client reads of a file it sent that was not stored."""
    return {
        # A file the service could not take now may be sent again later.
        "code": SERVICE_UNAVAILABLE if rejection.status_code == 503 else BAD_USER_INPUT,
        "filename": rejection.filename,
        "reason": rejection.reason,
    }


def _code_extensions(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, UploadRejected):
        return upload_rejection_extensions(original)
    if isinstance(original, ServiceUnavailable):
        return {"code": SERVICE_UNAVAILABLE}
    if isinstance(error, GraphQLSyntaxError):
        # The token and nesting limits are enforced by the parser.
        return {"code": GRAPHQL_PARSE_FAILED}
    if isinstance(original, CannotGetOperationTypeError):
        return {"code": OPERATION_RESOLUTION_FAILURE}
    if isinstance(original, _REQUEST_ERRORS):
        return {"code": BAD_REQUEST}
    if should_mask_error(error):
        return {"code": INTERNAL_SERVER_ERROR}
    if error.path is None:
        # Validation errors got theirs in the validation step (ValidationErrorCodes):
        # without a path, what is left is variable values that cannot be coerced.
        return {"code": BAD_USER_INPUT}
    return {"code": INTERNAL_SERVER_ERROR}


def add_code(error: GraphQLError) -> None:
    """Give ``error`` its ``extensions.code`` (and a rejected upload's details), keeping
    any extensions it has."""
    extensions = error.extensions or {}
    if "code" not in extensions:
        error.extensions = {**_code_extensions(error), **extensions}


class ValidationErrorCodes(SchemaExtension):
    """Marks the validation step's errors ``GRAPHQL_VALIDATION_FAILED``: the schema's
    rules, the depth and alias limits and the fragment expansion check alike.

    Goes first among the extensions, so this runs after every other one's validation.
    The cached validation's errors are shared by requests; they all get the same code.
    """

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            extensions = error.extensions or {}
            if "code" not in extensions:
                error.extensions = {**extensions, "code": GRAPHQL_VALIDATION_FAILED}


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's masking, with the code clients read for it."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL_SERVER_ERROR}
        return masked
