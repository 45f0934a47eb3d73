"""Which GraphQL errors reach the log: bugs with their traceback, not the client's mistakes."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError

from server.graphql.errors import UserFacingError
from server.graphql.schema import build_schema
from server.service import ServiceUnavailable, UploadRejected


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as raised:
        return raised


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_a_malformed_query_is_answered_without_an_error_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await build_schema().execute("{ noSuchField }")
    assert result.errors is not None
    assert "noSuchField" in result.errors[0].message
    assert _errors_logged(caplog) == []


@pytest.mark.parametrize(
    "mistake",
    [
        UserFacingError("no image with id 7"),
        UploadRejected("a.txt", "not a supported image"),
        ServiceUnavailable("the database is unavailable; try again"),
    ],
    ids=["unknown id", "rejected upload", "service unavailable"],
)
def test_errors_the_client_reads_as_they_are_are_not_logged_as_errors(
    caplog: pytest.LogCaptureFixture, mistake: Exception
) -> None:
    error = GraphQLError(str(mistake), path=["uploadImage"], original_error=_raised(mistake))
    build_schema().process_errors([error])
    assert _errors_logged(caplog) == []


def test_a_bug_in_a_resolver_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bug = _raised(KeyError("thumbnail"))
    build_schema().process_errors([GraphQLError("'thumbnail'", path=["image"], original_error=bug)])
    [record] = _errors_logged(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[1] is bug
    assert "unexpected error in a GraphQL operation" in record.getMessage()
