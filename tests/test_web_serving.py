"""``/`` serves the built web app, after every API route; without a build it says how."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.web import web_routes


async def _api(request: object) -> PlainTextResponse:
    return PlainTextResponse("api")


def _client(web_dir: Path) -> httpx.AsyncClient:
    # The same order as server/app.py: API routes first, the web app last.
    app = Starlette(routes=[Route("/graphql", _api), *web_routes(web_dir)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_built_app_is_served_at_the_root_and_the_api_still_answers(
    tmp_path: Path,
) -> None:
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    async with _client(tmp_path) as client:
        assert (await client.get("/")).text == "<div id=root></div>"
        script = await client.get("/assets/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/graphql")).text == "api"
        assert (await client.get("/nope")).status_code == 404


async def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    async with _client(tmp_path / "missing") as client:
        response = await client.get("/")
        assert (await client.get("/graphql")).text == "api"

    assert response.status_code == 503
    assert "make web" in response.text and "npm run build" in response.text
