"""schema.graphql is the exported SDL; clients generate code from it, so it must be current."""

from __future__ import annotations

from pathlib import Path

from server.graphql.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `make schema`"
    )
