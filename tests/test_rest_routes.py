"""Every ``/api`` path answers in the REST API's JSON, whether or not the web app is served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from server.app import create_app
from server.rest.routes import attachment
from tests.client import Api
from tests.images import photo


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


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("rotated.jpg", "attachment; filename=\"rotated.jpg\"; filename*=UTF-8''rotated.jpg"),
        # Non-ASCII and quotes: exact in filename*, replaced in the ASCII stand-in
        (
            'Zoë "best".heic',
            "attachment; filename=\"Zo_ _best_.heic\"; filename*=UTF-8''Zo%C3%AB%20%22best%22.heic",
        ),
        # A name that tries to end the header and add another one
        (
            "a\r\nSet-Cookie: x=1.jpg",
            'attachment; filename="a__Set-Cookie: x=1.jpg"; '
            "filename*=UTF-8''a__Set-Cookie%3A%20x%3D1.jpg",
        ),
        # Path separators, and what would end the parameter or read as an encoding
        (
            "..\\evil/;x%41.png",
            "attachment; filename=\".._evil__x_41.png\"; filename*=UTF-8''.._evil_%3Bx%2541.png",
        ),
    ],
)
def test_a_download_is_named_as_uploaded_and_the_name_cannot_break_the_header(
    filename: str, header: str
) -> None:
    assert attachment(filename) == header
    assert header.isascii() and "\r" not in header and "\n" not in header


def test_the_original_downloads_as_an_attachment_only_when_asked(api: Api) -> None:
    # Given two uploads, one named without an extension
    content = photo(300, 200)
    named = api.upload("Zoë's photo.jpg", content)
    nameless = api.upload("IMG 0001", content)

    # When the original is asked for as a download
    download = api.http.get(f"/api/images/{named['id']}/original?download=1")

    # Then it is the file, to be saved under the name it was uploaded with
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Zo_'s photo.jpg\"; filename*=UTF-8''Zo%C3%AB%27s%20photo.jpg"
    )
    # And a name without an extension gets the stored file's
    assert (
        api.http.get(f"/api/images/{nameless['id']}/original?download=1")
        .headers["content-disposition"]
        .endswith("filename*=UTF-8''IMG%200001.jpg")
    )
    # And without ?download=1 (an <img src>, the original design's clients) it stays inline
    for query in ("", "?download=0"):
        inline = api.http.get(f"/api/images/{named['id']}/original{query}")
        assert inline.status_code == 200
        assert "content-disposition" not in inline.headers
    # And any other value is a mistake the client is told about
    wrong = api.http.get(f"/api/images/{named['id']}/original?download=yes")
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "download must be 0 or 1"}
