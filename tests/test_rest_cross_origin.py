"""Pages on other origins cannot change anything through the REST API; its clients still can."""

from __future__ import annotations

import json
from pathlib import Path

from tests.client import Api
from tests.images import photo
from tests.processes import own_server

EVIL = {"origin": "https://evil.example"}


def _refusal(origin: str) -> dict[str, str]:
    return {
        "error": f"requests from pages on origin {origin!r} are refused: it is not this "
        "server's origin nor in ALLOWED_ORIGINS"
    }


def test_a_page_on_another_origin_cannot_upload_retry_or_delete(api: Api) -> None:
    # Given a failed image (a retry target) and what storage holds
    whole = photo(200, 150)
    failed = api.wait_final(api.upload("cut.jpg", whole[: len(whole) // 3])["id"])
    assert failed["status"] == "FAILED"
    image_id = failed["id"]
    before = api.stored_originals()

    # When a page on another origin sends the "simple" requests no preflight stops
    upload = api.http.post(
        "/api/upload", files={"image": ("x.jpg", photo(60, 40), "image/jpeg")}, headers=EVIL
    )
    retry = api.http.post(f"/api/images/{image_id}/retry", headers=EVIL)
    delete = api.http.delete(f"/api/images/{image_id}", headers=EVIL)

    # Then each is refused in the API's JSON, and nothing is stored, requeued or deleted
    for response in (upload, retry, delete):
        assert response.status_code == 403, response.text
        assert response.json() == _refusal("https://evil.example")
    assert api.stored_originals() == before
    assert api.http.get(f"/api/images/{image_id}").json()["status"] == "failed"

    # And reading stays open to any page, as it was
    assert api.http.get(f"/api/images/{image_id}", headers=EVIL).status_code == 200


def test_the_servers_own_pages_and_clients_without_an_origin_still_act(api: Api) -> None:
    whole = photo(200, 150)
    failed = api.wait_final(api.upload("cut.jpg", whole[: len(whole) // 3])["id"])
    own_origin = {"origin": str(api.http.base_url).rstrip("/")}

    retried = api.http.post(f"/api/images/{failed['id']}/retry", headers=own_origin)
    assert retried.status_code == 200, retried.text
    # curl and scripts send no Origin header at all
    uploaded = api.http.post(
        "/api/upload", files={"image": ("ok.jpg", photo(60, 40), "image/jpeg")}
    )
    assert uploaded.status_code == 201, uploaded.text


def test_an_origin_in_allowed_origins_may_upload(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    allowed = "https://app.example.com"
    settings = {"ALLOWED_ORIGINS": json.dumps([allowed])}
    with own_server(service_env, tmp_path, settings) as own:
        for origin, status in [(allowed, 201), ("https://evil.example", 403)]:
            response = own.api.http.post(
                "/api/upload",
                files={"image": ("x.jpg", photo(60, 40), "image/jpeg")},
                headers={"origin": origin},
            )
            assert response.status_code == status, (origin, response.text)


def test_a_web_app_on_an_allowed_origin_can_use_the_api_and_read_its_answers(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server whose web app is served from another origin, listed in ALLOWED_ORIGINS
    allowed = "https://app.example.com"
    settings = {"ALLOWED_ORIGINS": json.dumps([allowed])}
    with own_server(service_env, tmp_path, settings) as own:
        http = own.api.http
        # When its pages ask to send a GraphQL query (a browser preflights a JSON POST)
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        }
        allowed_preflight = http.options("/graphql", headers={"origin": allowed, **preflight})
        evil_preflight = http.options("/graphql", headers={**EVIL, **preflight})

        # Then the browser is told it may, for that origin only
        assert allowed_preflight.status_code == 200, allowed_preflight.text
        assert allowed_preflight.headers["access-control-allow-origin"] == allowed
        assert "access-control-allow-origin" not in evil_preflight.headers

        # And the answers to its queries and uploads are readable by its pages
        query = http.post(
            "/graphql", json={"query": "{ limits { maxUploadBytes } }"}, headers={"origin": allowed}
        )
        upload = http.post(
            "/api/upload",
            files={"image": ("x.jpg", photo(60, 40), "image/jpeg")},
            headers={"origin": allowed},
        )
        for response in (query, upload):
            assert response.status_code in (200, 201), response.text
            assert response.headers["access-control-allow-origin"] == allowed
        # While another origin's pages still cannot read what the API answers
        read = http.get(f"/api/images/{upload.json()['id']}", headers=EVIL)
        assert "access-control-allow-origin" not in read.headers
