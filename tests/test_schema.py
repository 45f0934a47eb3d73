"""schema.graphql is the exported SDL; clients generate code from it, so it must be current."""

from __future__ import annotations

from pathlib import Path

from infra.db import images
from server.graphql.schema import schema
from server.graphql.types import ImageStatus

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `make schema`"
    )


def test_image_status_is_every_stored_status_and_deleted() -> None:
    # Image.from_row maps a row's status by value: one missing here would fail every read.
    stored = {status.value for status in images.ImageStatus}
    assert {status.value for status in ImageStatus} == stored | {"deleted"}
