"""One rule for which pages may act on the server (server/origins.py)."""

from __future__ import annotations

import pytest

from server.origins import origin_is_allowed

HOST = "images.example.com:8000"


@pytest.mark.parametrize(
    ("headers", "allowed_origins", "allowed"),
    [
        ({"host": HOST}, [], True),
        ({"host": HOST, "origin": "http://images.example.com:8000"}, [], True),
        (
            {"host": HOST, "origin": "https://evil.example", "sec-fetch-site": "same-origin"},
            [],
            True,
        ),
        ({"host": HOST, "origin": "https://evil.example"}, [], False),
        (
            {"host": HOST, "origin": "https://evil.example", "sec-fetch-site": "cross-site"},
            [],
            False,
        ),
        ({"host": HOST, "origin": "null"}, [], False),
        (
            {"host": HOST, "origin": "https://App.Example.com:443"},
            ["https://app.example.com"],
            True,
        ),
        (
            {"host": HOST, "origin": "https://app.example.com"},
            ["https://app.example.com:443"],
            True,
        ),
        ({"host": HOST, "origin": "https://evil.example"}, ["https://app.example.com"], False),
        ({"host": HOST, "origin": "https://evil.example"}, ["*"], True),
    ],
    ids=[
        "no origin: not a browser",
        "same host and port",
        "the browser says same-origin",
        "another origin",
        "another origin, cross-site",
        "an opaque origin",
        "listed, written another way",
        "listed with its default port",
        "not listed",
        "any origin allowed",
    ],
)
def test_origin_is_allowed(
    headers: dict[str, str], allowed_origins: list[str], allowed: bool
) -> None:
    assert origin_is_allowed(headers, allowed_origins) is allowed
