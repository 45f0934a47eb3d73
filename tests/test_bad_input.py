"""Bad input gets a clear error and costs nothing: no file, no row, no stuck queue."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import asyncpg
import httpx
import pytest

from infra.broker.messages import ImageJob
from infra.broker.topology import DEAD_LETTER_QUEUE, JOB_QUEUE
from server.upload_form import WRITE_BATCH_BYTES
from tests.broker import publish_raw, queue_depth
from tests.client import Api
from tests.conftest import TEST_MAX_UPLOAD_BYTES
from tests.images import photo
from tests.processes import Launcher
from tests.scraping import wait_for


def _row_count(api: Api) -> int:
    edges = api.graphql("{ images(first: 100) { edges { node { id } } } }")["data"]["images"]
    return len(edges["edges"])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.jpg", b"this is a text file, not a photo\n" * 20, "not a supported image"),
        ("empty.jpg", b"", "the file is empty"),
        ("script.png", b"<?php echo 'hi'; ?>", "not a supported image"),
    ],
)
def test_non_images_are_rejected_at_upload_and_leave_nothing(
    api: Api, name: str, content: bytes, reason: str
) -> None:
    files_before, rows_before = api.stored_originals(), _row_count(api)

    body = api.upload_multipart([(name, content)]).json()
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith(f"{name}: {reason}")

    rest = api.http.post("/api/upload", files={"image": (name, content)})
    assert rest.status_code == 400
    assert reason in rest.json()["error"]

    assert api.stored_originals() == files_before
    assert _row_count(api) == rows_before


def test_truncated_jpeg_fails_with_an_error_and_the_next_upload_completes(api: Api) -> None:
    whole = photo(1600, 1200)
    failed = api.wait_final(api.upload("cut.jpg", whole[: len(whole) // 3])["id"])
    assert failed["status"] == "FAILED"
    assert "cannot decode image" in failed["error"]
    assert failed["thumbnailUrl"] is None
    assert api.http.get(f"/api/thumbnails/{failed['id']}").json()["status"] == "failed"

    assert api.wait_final(api.upload("fine.jpg", photo())["id"])["status"] == "COMPLETED"


def test_upload_over_the_size_limit_is_rejected_and_leaves_no_file(api: Api) -> None:
    too_big = photo(200, 200) + b"\0" * TEST_MAX_UPLOAD_BYTES
    files_before, rows_before = api.stored_originals(), _row_count(api)

    body = api.upload_multipart([("huge.jpg", too_big)]).json()
    assert body["errors"][0]["message"] == (
        f"huge.jpg: file is larger than the limit of {TEST_MAX_UPLOAD_BYTES} bytes"
    )
    rest = api.http.post("/api/upload", files={"image": ("huge.jpg", too_big)})
    assert rest.status_code == 413
    assert "larger than the limit" in rest.json()["error"]

    assert api.stored_originals() == files_before
    assert _row_count(api) == rows_before


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b--\r\n", "no name"),
        (b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n', "cut"),
        (b"not multipart at all", "garbage"),
    ],
)
def test_a_malformed_multipart_body_is_refused_and_leaves_nothing(
    api: Api, body: bytes, problem: str
) -> None:
    files_before, rows_before = api.stored_originals(), _row_count(api)
    headers = {"content-type": "multipart/form-data; boundary=b"}

    rest = api.http.post("/api/upload", content=body, headers=headers)
    graphql = api.http.post("/graphql", content=body, headers=headers)

    assert rest.status_code == 400, problem
    assert "error" in rest.json()
    assert graphql.status_code == 400, problem
    assert api.stored_originals() == files_before
    assert _row_count(api) == rows_before


def test_an_upload_abandoned_mid_body_leaves_no_file(api: Api) -> None:
    files_before = api.stored_originals()
    host, port = api.base_url.removeprefix("http://").split(":")
    head = (
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="gone.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    # More than one write batch, so the staging file exists before the client goes.
    sent = photo(1600, 1200)
    part = head + (sent * (WRITE_BATCH_BYTES // len(sent) + 2))[: WRITE_BATCH_BYTES + 200_000]
    request = (
        f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(part) + 1_000_000}\r\n\r\n"
    ).encode()
    # Given a client that sends part of its file, then goes away
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(request + part)
        wait_for(
            lambda: len(api.stored_originals()) != len(files_before),
            "the upload to start",
            timeout_s=10,
            interval_s=0.02,
        )
    # Then its partial file is removed, and the server goes on serving
    wait_for(
        lambda: api.stored_originals() == files_before,
        lambda: f"the partial file to go: {api.stored_originals()}",
        timeout_s=10,
        interval_s=0.05,
    )
    assert api.wait_final(api.upload("after.jpg", photo())["id"])["status"] == "COMPLETED"


def test_staging_files_left_by_a_crashed_server_are_removed(api: Api, stack: Launcher) -> None:
    # Given the staging file of an upload cut off by a crash two hours ago, and one of an
    # upload still arriving
    staging = api.storage_dir / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    dead, live = staging / ".upload.dead0.part", staging / ".upload.live0.part"
    dead.write_bytes(b"half an upload")
    two_hours_ago_s = time.time() - 7200
    os.utime(dead, (two_hours_ago_s, two_hours_ago_s))
    live.write_bytes(b"still arriving")
    try:
        # When a server starts on that storage
        stack.start_server()
        # Then the abandoned file goes, and the live one stays
        wait_for(lambda: not dead.exists(), "the abandoned staging file to go", timeout_s=10)
        assert live.exists()
    finally:
        live.unlink(missing_ok=True)
        dead.unlink(missing_ok=True)


@pytest.mark.parametrize(
    ("client_name", "kept_as"),
    [
        (b"../../etc/passwd", "passwd"),
        (b"evil\x00.jpg", "evil.jpg"),
        (b"..\\..\\boot.ini", "boot.ini"),
        (b"/absolute/path.jpg", "path.jpg"),
        (b"..", "upload"),
    ],
)
def test_client_filenames_never_reach_the_file_system(
    api: Api, client_name: bytes, kept_as: str
) -> None:
    response = api.upload_raw_filename(client_name, photo(100, 100))
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    stored = api.http.get(f"/api/images/{image_id}").json()
    assert stored["filename"] == kept_as
    assert stored["original_path"].startswith("originals/")
    assert kept_as not in stored["original_path"]
    assert all(api.storage_dir in path.parents for path in api.stored_files())
    assert api.wait_final(str(image_id))["status"] == "COMPLETED"


def test_an_undecodable_job_is_dead_lettered_and_the_queue_keeps_moving(
    api: Api, amqp_url: str
) -> None:
    before = queue_depth(amqp_url, DEAD_LETTER_QUEUE)
    for body in (b"\xff\xfe not json", b'{"imageId": "seven"}', b"[]"):
        publish_raw(amqp_url, body, JOB_QUEUE)
    assert api.wait_final(api.upload("after-garbage.jpg", photo())["id"])["status"] == "COMPLETED"
    assert queue_depth(amqp_url, DEAD_LETTER_QUEUE) == before + 3


def test_unknown_ids_and_bad_cursors_get_clear_answers(api: Api) -> None:
    assert api.image("not-a-number") is None
    assert api.image("99999999999999999999") is None
    body = api.http.post(
        "/graphql", json={"query": '{ images(after: "garbage") { edges { cursor } } }'}
    ).json()
    assert body["errors"][0]["message"] == "after is not a cursor returned by this API"
    body = api.http.post("/graphql", json={"query": "{ images(first: 1000) { edges { cursor } } }"})
    assert body.json()["errors"][0]["message"] == "first must be between 1 and 100"


def test_abusive_queries_are_refused_by_the_safety_limits(api: Api, stack: Launcher) -> None:
    # Today's schema is shallower than the default depth limit, so prove the limit with a
    # server whose limit is lower than an ordinary listing query.
    _, shallow_url = stack.start_server(extra_env={"GRAPHQL_MAX_DEPTH": "2"})
    deep = "{ images { edges { node { id } } } }"
    body = httpx.post(f"{shallow_url}/graphql", json={"query": deep}).json()
    assert "exceeds maximum operation depth of 2" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: image(id: 1) {{ id }}" for i in range(20)) + " }"
    body = api.http.post("/graphql", json={"query": aliases}).json()
    assert "aliases" in body["errors"][0]["message"].lower()
    tokens = "{ " + " ".join(f"b{i}: __typename" for i in range(1500)) + " }"
    body = api.http.post("/graphql", json={"query": tokens}).json()
    assert "token" in body["errors"][0]["message"].lower()


def _forge_job(database_url: str, amqp_url: str, filename: str, original: str | None) -> int:
    """Insert a pending row, then publish its job with a thumbnail path that climbs out of
    storage. With ``original`` None the row reuses a completed image's original file."""

    async def insert() -> tuple[int, str]:
        connection = await asyncpg.connect(database_url)
        try:
            path: str = original or await connection.fetchval(
                "SELECT original_path FROM images WHERE status = 'completed' LIMIT 1"
            )
            image_id: int = await connection.fetchval(
                "INSERT INTO images (filename, original_path) VALUES ($1, $2) RETURNING id",
                filename,
                path,
            )
        finally:
            await connection.close()
        return image_id, path

    image_id, path = asyncio.run(insert())
    publish_raw(amqp_url, ImageJob(image_id, path, "../../outside.jpg").encode(), JOB_QUEUE)
    return image_id


def test_a_forged_job_cannot_write_outside_storage(
    api: Api, amqp_url: str, database_url: str
) -> None:
    # Given a pending row whose job someone publishes with a path that climbs out of storage
    image_id = _forge_job(database_url, amqp_url, "x.jpg", "originals/x.jpg")
    # Then the image fails with a reason instead of sticking in processing, and nothing escapes
    failed = api.wait_final(str(image_id))
    assert failed["status"] == "FAILED"
    assert failed["error"] and "original file is missing" in failed["error"]
    assert not (api.storage_dir.parent.parent / "outside.jpg").exists()

    api.wait_final(api.upload("real.jpg", photo())["id"])
    failed = api.wait_final(str(_forge_job(database_url, amqp_url, "y.jpg", None)))
    assert failed["status"] == "FAILED"
    assert "invalid storage key" in failed["error"]
    assert not (api.storage_dir.parent.parent / "outside.jpg").exists()


def test_too_many_files_in_one_batch_is_refused(api: Api) -> None:
    before = api.stored_originals()
    body = api.upload_multipart([(f"{i}.jpg", photo(40, 40)) for i in range(21)]).json()
    assert body["errors"][0]["message"] == "at most 20 files per request, got 21"
    assert api.stored_originals() == before
