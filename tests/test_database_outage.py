"""Reads while the database is unreachable: a clear "try again", and a warning, not a bug.

A proxy of this test's own stands between one server and PostgreSQL
(``server_behind_a_proxy``); cutting it is an outage for that server alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client import Api
from tests.images import photo
from tests.processes import Process, server_behind_a_proxy
from tests.scraping import wait_for
from tests.tcp_proxy import TcpProxy

UNAVAILABLE = "the database is unavailable; try again"


@pytest.fixture
def server_and_database_proxy(
    service_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Process, Api, TcpProxy]]:
    with server_behind_a_proxy(service_env, tmp_path, "database") as server_api_proxy:
        yield server_api_proxy


def test_reads_while_the_database_is_unreachable_get_a_clear_503_and_no_traceback(
    server_and_database_proxy: tuple[Process, Api, TcpProxy],
) -> None:
    server, api, proxy = server_and_database_proxy
    # Given an image, and then a database the server cannot reach
    image_id = api.upload("a.jpg", photo())["id"]
    proxy.cut()

    # When REST clients read, list, retry or delete
    for method, path in [
        ("GET", f"/api/images/{image_id}"),
        ("GET", "/api/images"),
        ("POST", f"/api/images/{image_id}/retry"),
        ("DELETE", f"/api/images/{image_id}"),
    ]:
        response = api.http.request(method, path)
        # Then each is told, in the API's JSON shape, to try again
        assert response.status_code == 503, (method, path, response.text)
        assert response.json() == {"error": UNAVAILABLE}

    # And GraphQL clients get the same message instead of "Unexpected error."
    for query in [
        f'{{ image(id: "{image_id}") {{ id }} }}',
        "{ images(first: 5) { edges { node { id } } } }",
        "{ stats { counts { total } } }",
    ]:
        body = api.http.post("/graphql", json={"query": query}).json()
        assert [error["message"] for error in body["errors"]] == [UNAVAILABLE], query

    # And operators read a warning with the cause, not a bug's traceback per request
    log = server.log()
    assert "database unavailable while reading an image" in log
    assert '"level": "error"' not in log
    assert "unexpected error in a GraphQL operation" not in log

    # And once the database is reachable again, the same server answers as before
    proxy.restore()
    wait_for(
        lambda: api.http.get(f"/api/images/{image_id}").status_code == 200,
        "the image to be readable again",
    )
    assert httpx.get(f"{api.base_url}/api/images").status_code == 200
