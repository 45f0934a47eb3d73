"""Bad input gets a clear error and costs nothing: no file, no row, no stuck queue."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image

from infra.broker.messages import ImageJob
from infra.broker.topology import DEAD_LETTER_QUEUE, JOB_QUEUE
from infra.renditions import job_for, rendition_prefix, thumbnail_key_for
from server.body_limit import MAX_NON_MULTIPART_BODY_BYTES
from server.upload_form import WRITE_BATCH_BYTES
from tests.broker import publish_raw, queue_depth
from tests.client import PREFLIGHT, UPLOAD_MANY, Api
from tests.conftest import TEST_MAX_UPLOAD_BYTES
from tests.images import decode, encode, photo
from tests.processes import Launcher
from tests.scraping import wait_for


def _row_count(api: Api) -> int:
    edges = api.graphql("{ images(first: 100) { edges { node { id } } } }")["data"]["images"]
    return len(edges["edges"])


def _avif_without_its_primary_image() -> bytes:
    """An AVIF whose header names a primary item the file does not have."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "AVIF")
    avif = bytearray(buffer.getvalue())
    primary_item = avif.index(b"pitm") + 8  # after the box type, version and flags
    avif[primary_item : primary_item + 2] = (9).to_bytes(2, "big")
    return bytes(avif)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.jpg", b"this is a text file, not a photo\n" * 20, "not a supported image"),
        ("empty.jpg", b"", "the file is empty"),
        ("script.png", b"<?php echo 'hi'; ?>", "not a supported image"),
        ("broken.avif", _avif_without_its_primary_image(), "unreadable image header"),
    ],
)
def test_non_images_are_rejected_at_upload_and_leave_nothing(
    api: Api, name: str, content: bytes, reason: str
) -> None:
    files_before, rows_before = api.stored_originals(), _row_count(api)

    body = api.upload_multipart([(name, content)]).json()
    assert body["data"] == {"uploadImage": None}
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


def test_a_failed_images_thumbnail_and_renditions_say_processing_failed(api: Api) -> None:
    # Given an image whose processing failed
    whole = photo(800, 600)
    failed = api.wait_final(api.upload("cut.jpg", whole[: len(whole) // 3])["id"])
    assert failed["status"] == "FAILED"

    # Then its files are not "not ready" (waiting will not make them): it failed, and why
    for path, missing in [
        (f"/api/thumbnails/{failed['id']}", "has no thumbnail"),
        (f"/api/images/{failed['id']}/renditions/thumb", "has no renditions"),
    ]:
        response = api.http.get(path)
        assert response.status_code == 404, path
        assert response.json() == {
            "error": f"image {failed['id']} {missing}: processing failed: {failed['error']}",
            "status": "failed",
        }


def test_upload_over_the_size_limit_is_rejected_and_leaves_no_file(api: Api) -> None:
    too_big = photo(200, 200) + b"\0" * TEST_MAX_UPLOAD_BYTES
    files_before, rows_before = api.stored_originals(), _row_count(api)

    body = api.upload_multipart([("huge.jpg", too_big)]).json()
    assert body["errors"][0]["message"] == "huge.jpg: file is larger than the 2 MiB limit"
    rest = api.http.post("/api/upload", files={"image": ("huge.jpg", too_big)})
    assert rest.status_code == 413
    assert rest.json()["error"] == "huge.jpg: file is larger than the 2 MiB limit"

    assert api.stored_originals() == files_before
    assert _row_count(api) == rows_before


@pytest.mark.parametrize(
    ("body", "problem", "graphql_answer"),
    [
        (
            b"--b\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b--\r\n",
            "no name",
            'invalid multipart form: a part has no Content-Disposition "name"',
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n',
            "cut",
            "invalid multipart form: the body ends before the form's closing boundary",
        ),
        (b"not multipart at all", "garbage", "invalid multipart form: invalid multipart data"),
    ],
)
def test_a_malformed_multipart_body_is_refused_and_leaves_nothing(
    api: Api, body: bytes, problem: str, graphql_answer: str
) -> None:
    files_before, rows_before = api.stored_originals(), _row_count(api)
    headers = {"content-type": "multipart/form-data; boundary=b"}

    rest = api.http.post("/api/upload", content=body, headers=headers)
    # With the preflight header real clients send, so the body reaches the form parser
    # instead of being refused by the CSRF check.
    graphql = api.http.post("/graphql", content=body, headers={**headers, **PREFLIGHT})

    assert rest.status_code == 400, problem
    assert "error" in rest.json()
    assert graphql.status_code == 400, problem
    assert graphql.json() == {"errors": [{"message": graphql_answer}]}, problem
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
    # Where the name would land if joined onto the storage root or its originals folder,
    # read as a POSIX path and as a Windows one
    name = client_name.replace(b"\x00", b"").decode()
    escapes = {
        Path(os.path.normpath(base / variant))
        for base in (api.storage_dir, api.storage_dir / "originals")
        for variant in (name, name.replace("\\", "/"))
    }
    beside_storage = sorted(api.storage_dir.parent.iterdir())

    response = api.upload_raw_filename(client_name, photo(100, 100))
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    stored = api.http.get(f"/api/images/{image_id}").json()
    assert stored["filename"] == kept_as
    assert stored["original_path"].startswith("originals/")
    assert kept_as not in stored["original_path"]
    assert api.wait_final(str(image_id))["status"] == "COMPLETED"
    assert [path for path in escapes if path.is_file()] == []
    assert sorted(api.storage_dir.parent.iterdir()) == beside_storage


def test_an_undecodable_job_is_dead_lettered_and_the_queue_keeps_moving(
    api: Api, amqp_url: str
) -> None:
    before = queue_depth(amqp_url, DEAD_LETTER_QUEUE)
    for body in (b"\xff\xfe not json", b'{"imageId": "seven"}', b"[]"):
        publish_raw(amqp_url, body, JOB_QUEUE)
    assert api.wait_final(api.upload("after-garbage.jpg", photo())["id"])["status"] == "COMPLETED"
    assert queue_depth(amqp_url, DEAD_LETTER_QUEUE) == before + 3


def test_jobs_that_break_the_json_parser_or_the_id_column_are_dead_lettered(
    api: Api, amqp_url: str
) -> None:
    # Given three poison jobs, as many as the worker's prefetch: requeued, they would hold
    # every delivery slot for ever
    before = queue_depth(amqp_url, DEAD_LETTER_QUEUE)
    paths = b'"originalPath": "originals/x.jpg", "thumbnailPath": "thumbnails/x_thumb.jpg"'
    for body in (
        b'{"imageId": ' + b"7" * 5000 + b", " + paths + b"}",
        b'{"imageId": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b", " + paths + b"}",
        b'{"imageId": 4294967296, ' + paths + b"}",
    ):
        publish_raw(amqp_url, body, JOB_QUEUE)
    # Then they are parked for a person and the next upload is processed
    assert api.wait_final(api.upload("after-poison.jpg", photo())["id"])["status"] == "COMPLETED"
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


# Jobs whose paths are not their image's ----------------------------------------------------
#
# Each test forges the job of an image still pending, whose row is written without a job (as
# a legacy producer's would be), so only the forged job can touch it.


def _sql_row(database_url: str, query: str, *args: object) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        connection = await asyncpg.connect(database_url)
        try:
            row = await connection.fetchrow(query, *args)
        finally:
            await connection.close()
        assert row is not None
        return dict(row)

    return asyncio.run(fetch())


def _row(database_url: str, image_id: int) -> dict[str, Any]:
    return _sql_row(database_url, "SELECT * FROM images WHERE id = $1", image_id)


_BLUE = (0, 0, 255)


def _pending_image(api: Api, database_url: str) -> tuple[int, str]:
    """A pending image of a plain blue original, with no job anywhere: its id and key."""
    key = f"originals/{uuid.uuid4().hex}.jpg"
    (api.storage_dir / "originals").mkdir(exist_ok=True)
    (api.storage_dir / key).write_bytes(encode(Image.new("RGB", (300, 200), _BLUE), "JPEG"))
    row = _sql_row(
        database_url,
        "INSERT INTO images (filename, original_path) VALUES ('blue.jpg', $1) RETURNING id",
        key,
    )
    return int(row["id"]), key


def _completed_image(api: Api, database_url: str) -> dict[str, Any]:
    """The row of an uploaded photo, processed."""
    image = api.wait_final(api.upload("victim.jpg", photo(640, 480))["id"])
    assert image["status"] == "COMPLETED", image["error"]
    return _row(database_url, int(image["id"]))


def _files_of(api: Api, original: str) -> dict[str, bytes]:
    """Every file of the image stored under ``original``, by key."""
    root = api.storage_dir
    renditions = (root / rendition_prefix(original)).glob("*")
    keys = [
        original,
        thumbnail_key_for(original),
        *(p.relative_to(root).as_posix() for p in renditions),
    ]
    return {key: (root / key).read_bytes() for key in keys if (root / key).is_file()}


def _wait_until_handled(
    api: Api, amqp_url: str, database_url: str, image_id: int, dead: int
) -> None:
    """Until the job is dead-lettered, or (as an accepted job would) it moved the image on."""
    wait_for(
        lambda: (
            queue_depth(amqp_url, DEAD_LETTER_QUEUE) > dead
            or _row(database_url, image_id)["status"] != "pending"
        ),
        f"the job of image {image_id} to be handled",
    )


def _refusals(stack: Launcher, image_id: int) -> list[dict[str, Any]]:
    """What the session's worker logged when it refused a job of ``image_id``."""
    [worker] = [process for process in stack.started if process.name == "worker"]
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    return [
        line
        for line in lines
        if line["msg"].startswith("job refused") and line.get("image_id") == image_id
    ]


def _assert_refused(stack: Launcher, amqp_url: str, image_id: int, dead: int, field: str) -> None:
    assert queue_depth(amqp_url, DEAD_LETTER_QUEUE) == dead + 1
    [refusal] = _refusals(stack, image_id)
    assert (
        refusal["msg"] == f"job refused: its paths disagree with image {image_id}'s row ({field})"
    )
    assert refusal["fields"] == [field]
    assert refusal["level"] == "warning"


def _own_job_completes(api: Api, amqp_url: str, image_id: int, original: str) -> None:
    """The image's own job, published after the refused one, is processed from its original."""
    publish_raw(amqp_url, job_for(image_id, original).encode(), JOB_QUEUE)
    image = api.wait_final(str(image_id))
    assert (image["status"], image["attempts"]) == ("COMPLETED", 1), image["error"]
    thumbnail = decode((api.storage_dir / thumbnail_key_for(original)).read_bytes())
    assert thumbnail.size == (256, 171)
    red, green, blue = thumbnail.convert("RGB").getpixel((128, 85))  # type: ignore[misc]
    assert red < 30 and green < 30 and blue > 220


def test_a_forged_job_naming_another_images_original_is_refused_and_neither_image_changes(
    api: Api, stack: Launcher, amqp_url: str, database_url: str
) -> None:
    # Given a processed photo, and a blue image still pending
    victim = _completed_image(api, database_url)
    image_id, original = _pending_image(api, database_url)
    pending = _row(database_url, image_id)
    victim_files = _files_of(api, victim["original_path"])
    dead = queue_depth(amqp_url, DEAD_LETTER_QUEUE)

    # When someone publishes a job for the pending image that names the photo's original
    forged = ImageJob(image_id, victim["original_path"], thumbnail_key_for(original))
    publish_raw(amqp_url, forged.encode(), JOB_QUEUE)
    _wait_until_handled(api, amqp_url, database_url, image_id, dead)

    # Then neither image's row or files changed, and the job is dead-lettered with a
    # warning that names the image and the path
    assert _row(database_url, image_id) == pending
    assert _files_of(api, original) == {original: (api.storage_dir / original).read_bytes()}
    assert _row(database_url, victim["id"]) == victim
    assert _files_of(api, victim["original_path"]) == victim_files
    _assert_refused(stack, amqp_url, image_id, dead, "originalPath")
    # And the next job, the image's own, is processed from its own original
    _own_job_completes(api, amqp_url, image_id, original)
    assert _files_of(api, victim["original_path"]) == victim_files


@pytest.mark.parametrize("file", ["thumbnail", "original", "rendition"])
def test_a_forged_thumbnail_path_cannot_overwrite_another_images_file(
    api: Api, stack: Launcher, amqp_url: str, database_url: str, file: str
) -> None:
    # Given a processed photo, and a blue image still pending
    victim = _completed_image(api, database_url)
    image_id, original = _pending_image(api, database_url)
    pending = _row(database_url, image_id)
    victim_files = _files_of(api, victim["original_path"])
    [rendition, *_] = [r["key"] for r in json.loads(victim["renditions"]) if r["name"] != "thumb"]
    target = {
        "thumbnail": victim["thumbnail_path"],
        "original": victim["original_path"],
        "rendition": rendition,
    }[file]
    assert target in victim_files
    dead = queue_depth(amqp_url, DEAD_LETTER_QUEUE)

    # When the pending image's job asks for its thumbnail to be written over one of them
    publish_raw(amqp_url, ImageJob(image_id, original, target).encode(), JOB_QUEUE)
    _wait_until_handled(api, amqp_url, database_url, image_id, dead)

    # Then every file of the photo is as it was, the pending row too, and the job is refused
    assert _files_of(api, victim["original_path"]) == victim_files
    assert _row(database_url, victim["id"]) == victim
    assert _row(database_url, image_id) == pending
    _assert_refused(stack, amqp_url, image_id, dead, "thumbnailPath")


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("originalPath", "../../../../../../etc/passwd"),
        ("thumbnailPath", "../../outside_thumb.jpg"),
        ("thumbnailPath", "thumbnails/../../../outside_thumb.jpg"),
        ("thumbnailPath", "{outside}/outside_thumb.jpg"),
    ],
)
def test_a_job_path_that_leaves_storage_is_refused_and_the_queue_moves_on(
    api: Api, stack: Launcher, amqp_url: str, database_url: str, field: str, path: str
) -> None:
    # Given a pending image, and a path that climbs out of storage (or is absolute outside it)
    image_id, original = _pending_image(api, database_url)
    pending = _row(database_url, image_id)
    path = path.format(outside=api.storage_dir.parent)
    escapes = {
        Path(os.path.normpath(base / path))
        for base in (api.storage_dir, api.storage_dir / "thumbnails")
    }
    dead = queue_depth(amqp_url, DEAD_LETTER_QUEUE)

    # When its job names that path
    job = ImageJob(
        image_id,
        path if field == "originalPath" else original,
        path if field == "thumbnailPath" else thumbnail_key_for(original),
    )
    publish_raw(amqp_url, job.encode(), JOB_QUEUE)
    _wait_until_handled(api, amqp_url, database_url, image_id, dead)

    # Then nothing was written outside storage, and the job is refused without touching
    # the row
    if field == "thumbnailPath":
        assert [escape for escape in escapes if escape.exists()] == []
    assert _row(database_url, image_id) == pending
    _assert_refused(stack, amqp_url, image_id, dead, field)
    # And the image's own job, next, completes
    _own_job_completes(api, amqp_url, image_id, original)


def test_one_file_part_mapped_to_two_variables_is_stored_once(api: Api) -> None:
    # Given a multipart request whose map gives its only file to both list entries
    operations = {"query": UPLOAD_MANY, "variables": {"fs": [None, None]}}
    before = api.stored_originals()
    response = api.http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.fs.0", "variables.fs.1"]}),
        },
        files={"0": ("twice.jpg", photo(40, 40))},
        headers=PREFLIGHT,
    )
    # Then the first use stores it and the second is refused as the client's mistake
    body = response.json()
    assert [image["filename"] for image in body["data"]["uploadImages"]] == ["twice.jpg"]
    [error] = body["errors"]
    assert error["path"] == ["uploadImages"]
    assert error["extensions"]["fileIndex"] == 1
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "already used by another variable" in error["extensions"]["reason"]
    assert len(api.stored_originals()) == len(before) + 1


def test_too_many_files_in_one_batch_is_refused(api: Api) -> None:
    before = api.stored_originals()
    # Refused while the form is read: each file part would hold an open file until the end
    response = api.upload_multipart([(f"{i}.jpg", photo(40, 40)) for i in range(21)])
    assert response.status_code == 400
    message = "invalid multipart form: at most 20 files per request"
    assert response.json() == {"errors": [{"message": message}]}
    assert api.stored_originals() == before


_BAD_STATUS = "status must be one of pending, processing, completed, failed"
_BAD_LIMIT = "limit must be an integer between 1 and 100"
_BAD_BEFORE = "before must be an image id (a positive integer)"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=done", _BAD_STATUS),
        ("status=", _BAD_STATUS),
        ("limit=many", _BAD_LIMIT),
        ("limit=", _BAD_LIMIT),
        ("limit=+5", _BAD_LIMIT),
        ("limit=0", _BAD_LIMIT),
        ("limit=101", _BAD_LIMIT),
        ("before=last", _BAD_BEFORE),
        ("before=", _BAD_BEFORE),
        ("before=0", _BAD_BEFORE),
        ("before=3000000000", _BAD_BEFORE),
        ("status=completed&limit=abc&before=5", _BAD_LIMIT),
        ("status=done&limit=abc&before=5", f"{_BAD_STATUS}; {_BAD_LIMIT}"),
    ],
)
def test_a_bad_listing_query_gets_400_naming_only_the_wrong_parameters(
    api: Api, query: str, message: str
) -> None:
    response = api.http.get(f"/api/images?{query}")
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}
    # And the server goes on listing
    assert api.http.get("/api/images?limit=1&status=completed&before=1000").status_code == 200


@pytest.mark.parametrize(
    "send",
    [
        lambda http: http.post("/api/upload", json={"image": "not a file"}),
        lambda http: http.post("/api/upload", files={"file": ("a.jpg", photo(40, 40))}),
        lambda http: http.post("/api/upload", data={"image": "a field, not a file"}),
    ],
    ids=["json body", "file under another name", "a field where the file goes"],
)
def test_a_rest_upload_without_an_image_file_gets_400_and_stores_nothing(
    api: Api, send: Any
) -> None:
    before = api.stored_originals()
    response = send(api.http)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "send the image as multipart/form-data field 'image'"
    assert api.stored_originals() == before


@pytest.mark.parametrize("text_value_first", [False, True], ids=["file first", "text first"])
def test_a_rest_upload_with_a_text_value_beside_its_file_stores_the_file(
    api: Api, text_value_first: bool
) -> None:
    # Given curl's `-F image=@cat.jpg -F image=extra`: the field holds a file and a text
    content = photo(60, 40)
    file_part = (
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="cat.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + content + b"\r\n"
    )
    text_part = b'--b\r\nContent-Disposition: form-data; name="image"\r\n\r\nextra\r\n'
    parts = [text_part, file_part] if text_value_first else [file_part, text_part]
    before = api.stored_originals()

    response = api.http.post(
        "/api/upload",
        content=b"".join(parts) + b"--b--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )

    # Then the file is the image, stored once, and nothing else is left behind
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    assert api.http.get(f"/api/images/{image_id}/original").content == content
    assert len(api.stored_originals()) == len(before) + 1


def test_a_non_image_over_the_size_limit_is_refused_as_too_large(api: Api) -> None:
    # Given a file over MAX_UPLOAD_BYTES that is not an image either (its body still under
    # the REST upload's cap, so the file itself is judged)
    not_an_image = b"not an image " * (TEST_MAX_UPLOAD_BYTES // 13 + 100)
    too_large = "file is larger than the 2 MiB limit"
    files_before, rows_before = api.stored_originals(), _row_count(api)

    rest = api.http.post("/api/upload", files={"image": ("big.txt", not_an_image)})
    graphql = api.upload_multipart([("big.txt", not_an_image)]).json()

    # Then both APIs say it is too large, which is what the client must change
    assert rest.status_code == 413, rest.text
    assert rest.json()["error"] == f"big.txt: {too_large}"
    assert graphql["errors"][0]["message"] == f"big.txt: {too_large}"
    assert api.stored_originals() == files_before
    assert _row_count(api) == rows_before


@pytest.mark.parametrize(
    ("path", "headers", "field", "files", "refusal"),
    [
        # GraphQL's cap is MAX_FILES_PER_REQUEST (20) files of MAX_UPLOAD_BYTES, plus
        # framing: 20 x 2.0625 MiB, said rounded down
        (
            "/graphql",
            PREFLIGHT,
            "0",
            20,
            "request body is larger than the 41.2 MiB limit (20 files of at most 2 MiB each)",
        ),
        # The REST upload takes one file: its cap is far below the app's, and its sender
        # is told the limit of that file
        ("/api/upload", {}, "image", 1, "file is larger than the 2 MiB limit"),
    ],
)
def test_a_body_over_the_request_cap_gets_413_declared_or_streamed(
    api: Api, path: str, headers: dict[str, str], field: str, files: int, refusal: str
) -> None:
    cap_bytes = files * (TEST_MAX_UPLOAD_BYTES + 64 * 1024)
    before = api.stored_originals()

    # Declared: refused from the headers alone, before any of the body is sent
    host, port = api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
            + b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())
            + b"Content-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {cap_bytes + 1}\r\n\r\n".encode()
        )
        # The answer may arrive in more than one segment; the server closes after it.
        declared = b"".join(iter(lambda: client.recv(65536), b"")).decode()
    assert declared.startswith("HTTP/1.1 413"), declared
    assert f'"error":"{refusal}"' in declared

    # Streamed without a length: refused once more than the cap has arrived
    def chunked_body() -> Iterator[bytes]:
        yield (
            f'--b\r\nContent-Disposition: form-data; name="{field}"; filename="big.jpg"\r\n\r\n'
        ).encode()
        for _ in range(cap_bytes // (1024 * 1024) + 2):
            yield b"x" * 1024 * 1024

    streamed = api.http.post(
        path,
        headers={**headers, "content-type": "multipart/form-data; boundary=b"},
        content=chunked_body(),
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"error": refusal, "errors": [{"message": refusal}]}
    # And nothing was kept, and the server goes on serving
    assert api.stored_originals() == before
    assert api.http.get("/healthz").status_code == 200


def test_a_json_body_over_the_small_cap_gets_413_declared_or_streamed(api: Api) -> None:
    # Only multipart forms carry files: any other body is capped far below a batch of them
    cap_bytes = MAX_NON_MULTIPART_BODY_BYTES
    assert cap_bytes == 1024 * 1024
    refusal = "request body is larger than the 1 MiB limit"

    # Declared: refused from the headers alone, before any of the body is sent (a server
    # that waits for it instead fails this by the socket's timeout)
    host, port = api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(
            f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {cap_bytes + 1}\r\n\r\n".encode()
        )
        declared = b"".join(iter(lambda: client.recv(65536), b"")).decode()
    assert declared.startswith("HTTP/1.1 413"), declared
    assert refusal in declared

    # Streamed without a length: refused once more than the cap has arrived
    def chunked_body() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"padding": "'
        for _ in range(cap_bytes // (64 * 1024) + 2):
            yield b"x" * 64 * 1024
        yield b'"}}'

    streamed = api.http.post(
        "/graphql", headers={"content-type": "application/json"}, content=chunked_body()
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"error": refusal, "errors": [{"message": refusal}]}

    # A JSON body just under the cap is still answered
    padded = " " * (cap_bytes - 100) + json.dumps({"query": "{ __typename }"})
    answer = api.http.post("/graphql", content=padded, headers={"content-type": "application/json"})
    assert answer.json() == {"data": {"__typename": "Query"}}
