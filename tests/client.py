"""A small GraphQL + REST client for tests, speaking the protocols real clients speak."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

IMAGE_FIELDS = (
    "id filename status fileSize thumbnailSize originalUrl thumbnailUrl createdAt "
    "processedAt error attempts"
)
UPLOAD_ONE = f"mutation($f: Upload!) {{ uploadImage(file: $f) {{ {IMAGE_FIELDS} }} }}"
UPLOAD_MANY = f"mutation($fs: [Upload!]!) {{ uploadImages(files: $fs) {{ {IMAGE_FIELDS} }} }}"
GET_IMAGE = f"query($id: ID!) {{ image(id: $id) {{ {IMAGE_FIELDS} }} }}"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


@dataclass
class Api:
    base_url: str
    storage_dir: Path

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def upload_multipart(
        self,
        files: list[tuple[str, bytes]],
        *,
        headers: dict[str, str] | None = None,
        query: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The GraphQL multipart request spec, as apollo-upload-client sends it.

        ``query`` replaces the upload mutation (its files are ``$f``, or ``$fs`` for several);
        ``variables`` are its other variables.
        """
        many = len(files) != 1
        all_variables: dict[str, Any] = {"fs": [None] * len(files)} if many else {"f": None}
        all_variables.update(variables or {})
        file_map = {
            str(i): [f"variables.fs.{i}" if many else "variables.f"] for i in range(len(files))
        }
        return self.http.post(
            "/graphql",
            data={
                "operations": json.dumps(
                    {
                        "query": query or (UPLOAD_MANY if many else UPLOAD_ONE),
                        "variables": all_variables,
                    }
                ),
                "map": json.dumps(file_map),
            },
            files={str(i): (name, content) for i, (name, content) in enumerate(files)},
            headers=PREFLIGHT if headers is None else headers,
        )

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        response = self.upload_multipart([(name, content)])
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        image: dict[str, Any] = body["data"]["uploadImage"]
        return image

    def image(self, image_id: str) -> dict[str, Any] | None:
        image: dict[str, Any] | None = self.graphql(GET_IMAGE, {"id": image_id})["data"]["image"]
        return image

    def wait_final(self, image_id: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            image = self.image(image_id)
            assert image is not None, f"image {image_id} vanished"
            if image["status"] in ("COMPLETED", "FAILED"):
                return image
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"image {image_id} still {image['status']} after {timeout_s} s"
                )
            time.sleep(0.1)

    def stored_files(self) -> list[Path]:
        """Every file under the storage root, partial ones included."""
        return sorted(p for p in self.storage_dir.rglob("*") if p.is_file())

    def stored_originals(self) -> list[Path]:
        """Files the server wrote for uploads: originals, and uploads still being staged.

        Not the worker's renditions, which it writes concurrently (staged under their own
        names, then elsewhere).
        """
        originals = (self.storage_dir / "originals").rglob("*")
        staged_uploads = (self.storage_dir / ".staging").glob(".upload.*")
        return sorted(p for p in [*originals, *staged_uploads] if p.is_file())

    def upload_raw_filename(self, raw_filename: bytes, content: bytes) -> httpx.Response:
        """POST /api/upload with the filename bytes exactly as given (httpx would escape them)."""
        boundary = b"imagequeue-test-boundary"
        body = (
            b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="image"; filename="' + raw_filename + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
            b"--" + boundary + b"--\r\n"
        )
        return self.http.post(
            "/api/upload",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=" + boundary.decode()},
        )

    def close(self) -> None:
        self.http.close()
