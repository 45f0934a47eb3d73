"""Renditions through real server and worker processes: what a client asks for and gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from tests.client import Api
from tests.images import (
    CAMERA_PHOTO_METADATA,
    animated_gif,
    camera_photo,
    decode,
    encode,
    photo,
    pixel_bomb_png,
)
from tests.processes import Launcher, own_server

RENDITION_FIELDS = """
  id status error width height format placeholder dominantColor thumbnailUrl originalUrl
  renditions { name width height format size url }
  metadata { width height format mode cameraMake cameraModel takenAt orientation hasGps
             latitude longitude frameCount }
  webp: srcset(format: WEBP)
  avif: srcset(format: AVIF)
"""
UPLOAD_WITH_OPTIONS = (
    "mutation($f: Upload!, $o: UploadOptions) { uploadImage(file: $f, options: $o) { id } }"
)


def _upload(api: Api, name: str, content: bytes, options: Any = None) -> dict[str, Any]:
    response = api.upload_multipart(
        [(name, content)], query=UPLOAD_WITH_OPTIONS, variables={"o": options}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _processed(api: Api, image_id: str) -> dict[str, Any]:
    api.wait_final(image_id)
    query = f"query($id: ID!) {{ image(id: $id) {{ {RENDITION_FIELDS} }} }}"
    image: dict[str, Any] = api.graphql(query, {"id": image_id})["data"]["image"]
    return image


def test_default_renditions_are_served_with_their_content_types(api: Api) -> None:
    # Given a phone photo uploaded without options
    uploaded = _upload(api, "phone.jpg", photo(1600, 1200, orientation=6))
    image = _processed(api, uploaded["data"]["uploadImage"]["id"])

    # Then the image describes its upright original
    assert image["status"] == "COMPLETED", image["error"]
    assert (image["width"], image["height"], image["format"]) == (1200, 1600, "JPEG")
    assert image["metadata"]["orientation"] == 6
    # and has the three preset renditions, largest first, each served as its format
    assert [(r["name"], r["width"], r["height"], r["format"]) for r in image["renditions"]] == [
        ("large", 960, 1280, "WEBP"),
        ("small", 480, 640, "WEBP"),
        ("thumb", 192, 256, "JPEG"),
    ]
    for rendition in image["renditions"]:
        response = httpx.get(rendition["url"])
        assert response.status_code == 200
        assert response.headers["content-type"] == f"image/{rendition['format'].lower()}"
        assert len(response.content) == rendition["size"]
        served = decode(response.content)
        assert (served.format, served.size) == (
            rendition["format"],
            (rendition["width"], rendition["height"]),
        )
    # The thumb rendition is the original design's thumbnail
    thumbnail = httpx.get(image["thumbnailUrl"])
    assert thumbnail.content == httpx.get(image["renditions"][2]["url"]).content
    # srcset lists the WebP renditions narrowest first; there is no AVIF one
    small, large = image["renditions"][1]["url"], image["renditions"][0]["url"]
    assert image["webp"] == f"{small} 480w, {large} 960w"
    assert image["avif"] is None
    assert image["placeholder"] and image["dominantColor"].startswith("#")


def test_an_upload_can_ask_for_its_own_renditions(api: Api) -> None:
    options = {
        "renditions": [
            {"name": "square", "width": 200, "fit": "COVER", "format": "AVIF", "quality": 50},
            {"name": "banner", "width": 600, "height": 100, "fit": "COVER", "format": "PNG"},
        ]
    }
    uploaded = _upload(api, "own.jpg", photo(1200, 800), options)
    image = _processed(api, uploaded["data"]["uploadImage"]["id"])
    assert image["status"] == "COMPLETED", image["error"]
    assert [(r["name"], r["width"], r["height"], r["format"]) for r in image["renditions"]] == [
        ("banner", 600, 100, "PNG"),
        ("thumb", 256, 171, "JPEG"),  # always made: thumbnailUrl keeps working
        ("square", 200, 200, "AVIF"),
    ]
    square = httpx.get(image["renditions"][2]["url"])
    assert square.headers["content-type"] == "image/avif"
    assert decode(square.content).size == (200, 200)
    assert image["avif"] == f"{image['renditions'][2]['url']} 200w"


def test_bad_options_are_a_clear_error_and_store_nothing(api: Api) -> None:
    before = api.stored_originals()
    cases = [
        ([{"name": "thumb", "width": 100}], "the 'thumb' rendition is always made"),
        ([{"name": "a", "width": 9000}], "renditions.0.width: Input should be less than or equal"),
        ([{"name": "Bad Name!", "width": 100}], "rendition name 'Bad Name!' must be"),
        ([{"name": "a", "width": 10}, {"name": "a", "width": 20}], "names must be unique: a"),
        ([{"name": "a", "width": 10, "quality": 101}], "quality: Input should be less than"),
        ([{"name": "a", "width": 10, "quality": 0}], "quality of 'a' must be at least 1"),
        (
            [{"name": "a", "width": 4096, "format": "AVIF"}, {"name": "b", "width": 64}],
            "the renditions together are too large to make",
        ),
    ]
    for renditions, message in cases:
        body = _upload(api, "x.jpg", photo(200, 100), {"renditions": renditions})
        assert body["data"] == {"uploadImage": None}, renditions
        assert message in body["errors"][0]["message"], body
    unknown_format = _upload(
        api, "x.jpg", photo(), {"renditions": [{"name": "a", "width": 1, "format": "GIF"}]}
    )
    assert "ImageFormat" in unknown_format["errors"][0]["message"]
    assert api.stored_originals() == before


def test_metadata_is_exposed_but_gps_coordinates_are_not(api: Api) -> None:
    uploaded = _upload(api, "camera.jpg", camera_photo())
    image = _processed(api, uploaded["data"]["uploadImage"]["id"])
    assert image["metadata"] == CAMERA_PHOTO_METADATA
    for rendition in image["renditions"]:
        assert not decode(httpx.get(rendition["url"]).content).getexif()


def test_a_file_whose_extension_lies_is_processed_as_what_it_is(api: Api) -> None:
    png = encode(photo_image := decode(photo(300, 200)), "PNG")
    assert photo_image.size == (300, 200)
    uploaded = _upload(api, "holiday.jpg", png)
    image = _processed(api, uploaded["data"]["uploadImage"]["id"])
    assert image["status"] == "COMPLETED", image["error"]
    assert image["format"] == "PNG"
    assert httpx.get(image["originalUrl"]).headers["content-type"] == "image/png"


def test_a_60_megapixel_png_is_refused_by_the_pixel_limit(api: Api) -> None:
    before = api.stored_originals()
    body = _upload(api, "bomb.png", pixel_bomb_png(10_000, 6_000))
    assert body["errors"][0]["message"] == (
        "bomb.png: 60.0 megapixels is over the 50 megapixel limit"
    )
    assert api.stored_originals() == before


@contextmanager
def _own_server(
    service_env: dict[str, str], tmp_path: Path, settings: dict[str, str]
) -> Iterator[tuple[Launcher, Api]]:
    with own_server(service_env, tmp_path, settings) as own:
        yield own.launcher, own.api


def test_a_pixel_limit_above_pillows_default_is_honoured_at_upload(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server allowed 100 megapixels (Pillow's own default stops at 89), and no
    # worker to take its jobs
    with _own_server(service_env, tmp_path, {"MAX_IMAGE_PIXELS": "100000000"}) as (_, api):
        # When a 95-megapixel image and a 105-megapixel one are uploaded
        allowed = _upload(api, "95mp.png", pixel_bomb_png(10_000, 9_500))
        refused = _upload(api, "105mp.png", pixel_bomb_png(10_000, 10_500))
    # Then the limit that applies is the configured one, both ways
    assert "errors" not in allowed, allowed
    assert allowed["data"]["uploadImage"]["id"]
    assert refused["errors"][0]["message"] == (
        "105mp.png: 105.0 megapixels is over the 100 megapixel limit"
    )


def test_a_worker_allowed_animation_makes_animated_webp_renditions(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server and a worker whose MAX_ANIMATION_FRAMES is 2
    with _own_server(service_env, tmp_path, {"MAX_ANIMATION_FRAMES": "2"}) as (running, api):
        running.start_worker()
        # When a three-frame GIF is uploaded
        image = _processed(api, api.upload("spinner.gif", animated_gif())["id"])
        files = {r["name"]: decode(httpx.get(r["url"]).content) for r in image["renditions"]}
    # Then its WebP renditions play two frames, and the JPEG thumbnail is a still
    assert image["status"] == "COMPLETED", image["error"]
    assert {name: getattr(f, "n_frames", 1) for name, f in files.items()} == {
        "thumb": 1,
        "small": 2,
        "large": 2,
    }


def test_a_photo_with_unreadable_gps_completes_when_coordinates_are_exposed(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a worker that exposes GPS coordinates
    settings = {"EXPOSE_GPS_COORDINATES": "true"}
    with _own_server(service_env, tmp_path, settings) as (running, api):
        running.start_worker()
        # When a photo whose GPS fields are 0/0 (a camera without a fix) is uploaded
        image = _processed(api, api.upload("nofix.jpg", _photo_with_unreadable_gps())["id"])
    # Then it completes, with GPS present but no position
    assert image["status"] == "COMPLETED", image["error"]
    metadata = image["metadata"]
    assert (metadata["hasGps"], metadata["latitude"], metadata["longitude"]) == (True, None, None)


def _photo_with_unreadable_gps() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    unknown = (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))
    gps[1], gps[2], gps[3], gps[4] = "N", unknown, "E", unknown
    return encode(Image.new("RGB", (400, 300), (200, 30, 30)), "JPEG", exif=exif.tobytes())


def test_unknown_rendition_is_a_json_404(api: Api) -> None:
    image = api.wait_final(api.upload("r.jpg", photo(300, 200))["id"])
    response = api.http.get(f"/api/images/{image['id']}/renditions/nope")
    assert response.status_code == 404
    assert response.json() == {"error": f"image {image['id']} has no rendition 'nope'"}
