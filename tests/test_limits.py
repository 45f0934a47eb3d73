"""The ``limits`` query tells clients what the server accepts, in the numbers it enforces."""

from __future__ import annotations

from pathlib import Path

from tests.images import photo, pixel_bomb_png
from tests.processes import own_server

LIMITS = "{ limits { maxUploadBytes maxImagePixels maxFilesPerRequest } }"


def test_limits_are_the_servers_settings_and_its_refusals_word_them_for_people(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server with limits of its own
    settings = {
        "MAX_UPLOAD_BYTES": str(3 * 1024 * 1024),
        "MAX_IMAGE_PIXELS": "1000000",
        "MAX_FILES_PER_REQUEST": "3",
    }
    with own_server(service_env, tmp_path, settings) as own:
        # When a client asks for them, and then sends a file over each
        limits = own.api.graphql(LIMITS)
        too_large = own.api.upload_multipart([("big.jpg", photo() + b"\0" * 3 * 1024 * 1024)])
        too_many_pixels = own.api.upload_multipart([("wide.png", pixel_bomb_png(2000, 600))])

    # Then it gets the numbers it enforces
    assert limits == {
        "data": {
            "limits": {
                "maxUploadBytes": 3 * 1024 * 1024,
                "maxImagePixels": 1_000_000,
                "maxFilesPerRequest": 3,
            }
        }
    }
    # And each refusal says the limit as a person would
    assert (
        too_large.json()["errors"][0]["message"] == "big.jpg: file is larger than the 3 MiB limit"
    )
    assert too_many_pixels.json()["errors"][0]["message"] == (
        "wide.png: 1.2 megapixels is over the 1 megapixel limit"
    )
