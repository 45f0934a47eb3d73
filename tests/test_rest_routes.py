"""Every ``/api`` path answers in the REST API's JSON, whether or not the web app is served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from server.app import create_app


@pytest.fixture(params=[True, False], ids=["web app built", "web app not built"])
async def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param:
        (tmp_path / "index.html").write_text("<div id=root></div>")
    # None of these requests reaches a route that needs the database or the broker, so the
    # app runs without its lifespan.
    app = create_app(Settings(_env_file=None, web_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/upload", "POST"),
        ("POST", "/api/images", "GET, HEAD"),
        ("PUT", "/api/images/1", "DELETE, GET, HEAD"),
        ("PATCH", "/api/images/1/retry", "POST"),
        ("DELETE", "/api/thumbnails/1", "GET, HEAD"),
    ],
)
async def test_a_known_api_path_with_the_wrong_method_gets_a_json_405(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    assert response.json() == {"error": f"{method} is not allowed on {path} (allowed: {allowed})"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nope"), ("POST", "/api/images/1/nope"), ("GET", "/api"), ("GET", "/api/")],
)
async def test_an_unknown_api_path_gets_a_json_404(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404, response.text
    assert response.json() == {"error": f"no API endpoint {method} {path}"}


async def test_a_trailing_slash_on_an_api_path_still_redirects_to_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/images/?limit=5")
    assert response.status_code == 307
    assert response.headers["location"] == "http://localhost/api/images?limit=5"


async def test_paths_that_only_start_like_the_api_are_left_to_the_web_app(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/apiary")
    assert response.status_code == 404
    assert "json" not in response.headers["content-type"]
