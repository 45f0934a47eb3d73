"""Metrics, logs and readiness, observed from outside real server and worker processes."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.client import PREFLIGHT, Api
from tests.conftest import TEST_MAX_UPLOAD_BYTES
from tests.images import photo
from tests.processes import Launcher, Process, own_server
from tests.scraping import Samples, scrape, value, wait_for
from tests.services import PG_PORT, free_port
from tests.tcp_proxy import proxied


@dataclass
class OwnStack:
    launcher: Launcher
    api: Api
    server: Process
    worker: Process
    worker_url: str
    database_url: str


@pytest.fixture(scope="module")
def own(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OwnStack]:
    """A server and a worker on a database, vhost and storage of their own: the session's
    servers would otherwise relay some of their jobs to the session's shared worker, and
    its counters are the ones that would move."""
    with own_server(service_env, tmp_path_factory.mktemp("own"), {}) as stack:
        metrics_port = free_port()
        worker = stack.launcher.start_worker({"WORKER_METRICS_PORT": str(metrics_port)})
        yield OwnStack(
            stack.launcher,
            stack.api,
            stack.server,
            worker,
            f"http://127.0.0.1:{metrics_port}",
            stack.env["DATABASE_URL"],
        )


def json_lines(process: Process) -> list[dict[str, Any]]:
    # Lines that are not JSON are the plain "listening on" banners printed to stdout.
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


def test_counters_move_when_an_image_is_processed(own: OwnStack) -> None:
    # Given the counters of both processes
    server_before, worker_before = scrape(own.api.base_url), scrape(own.worker_url)

    # When one image is processed and one upload is rejected
    image = own.api.wait_final(own.api.upload("counted.jpg", photo(800, 600))["id"])
    assert image["status"] == "COMPLETED", image["error"]
    rejected = own.api.http.post("/api/upload", files={"image": ("no.jpg", b"not an image")})
    assert rejected.status_code == 400
    # The worker counts after its ack, a moment after the row says COMPLETED.
    wait_for(
        lambda: (
            value(scrape(own.worker_url), "imagequeue_jobs_processed_total", outcome="completed")
            > value(worker_before, "imagequeue_jobs_processed_total", outcome="completed")
        ),
        "the worker's completed counter",
    )

    # Then each counter moved by exactly one
    server_after, worker_after = scrape(own.api.base_url), scrape(own.worker_url)

    def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(server_before, server_after, "imagequeue_uploads_total", outcome="accepted") == 1
    assert delta(server_before, server_after, "imagequeue_uploads_total", outcome="rejected") == 1
    assert (
        delta(worker_before, worker_after, "imagequeue_jobs_processed_total", outcome="completed")
        == 1
    )
    assert (
        delta(
            worker_before,
            worker_after,
            "imagequeue_processing_duration_seconds_count",
            rendition="thumb",
        )
        == 1
    )
    assert value(worker_after, "imagequeue_processing_duration_seconds_sum", rendition="thumb") > 0
    # The server read the queue at scrape time: this stack's one worker is its one consumer.
    assert value(server_after, "imagequeue_queue_consumers", queue="image_processing") == 1
    assert ("imagequeue_queue_messages", frozenset({("queue", "image_processing")})) in (
        server_after
    )
    # Issue 3's metrics are exported before anything moves them.
    assert ("imagequeue_subscriptions_active", frozenset()) in server_after
    assert value(server_after, "imagequeue_subscriptions_active") == 0


def test_renditions_an_upload_names_share_one_metric_label(own: OwnStack) -> None:
    # Given an upload asking for renditions under names of the client's choosing
    names = ["zq-one-off-1", "zq-one-off-2"]
    options = {"renditions": [{"name": name, "width": 40} for name in names]}
    before = scrape(own.worker_url)
    response = own.api.upload_multipart(
        [("named.jpg", photo(200, 150))],
        query="mutation($f: Upload!, $o: UploadOptions) "
        "{ uploadImage(file: $f, options: $o) { id } }",
        variables={"o": options},
    )
    image_id = response.json()["data"]["uploadImage"]["id"]
    assert own.api.wait_final(image_id)["status"] == "COMPLETED"
    name = "imagequeue_processing_duration_seconds_count"
    wait_for(
        lambda: (
            value(scrape(own.worker_url), name, rendition="custom")
            == value(before, name, rendition="custom") + 2
        ),
        "the custom renditions' durations",
    )

    # Then their durations are counted under "custom" and no series carries their names
    after = scrape(own.worker_url)
    assert value(after, name, rendition="thumb") == value(before, name, rendition="thumb") + 1
    labels = {dict(series).get("rendition") for _, series in after}
    assert labels.isdisjoint(names)


def _declare_oversized(base_url: str, path: str, content_type: str, length: int) -> str:
    """Send only the headers of a request whose Content-Length is ``length``; the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
            + f"Content-Type: {content_type}\r\n".encode()
            + b"".join(f"{name}: {value}\r\n".encode() for name, value in PREFLIGHT.items())
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        return b"".join(iter(lambda: client.recv(65536), b"")).decode()


def test_uploads_refused_by_the_body_cap_count_as_too_large(own: OwnStack) -> None:
    rest_cap_bytes = TEST_MAX_UPLOAD_BYTES + 64 * 1024
    graphql_cap_bytes = 20 * rest_cap_bytes  # MAX_FILES_PER_REQUEST files
    multipart = "multipart/form-data; boundary=b"
    # Given the server's upload counters
    before = scrape(own.api.base_url)

    # When one file just over MAX_UPLOAD_BYTES is sent (its body under the REST cap)
    over_the_file_limit = own.api.http.post(
        "/api/upload", files={"image": ("big.jpg", b"x" * (TEST_MAX_UPLOAD_BYTES + 1))}
    )
    # and three uploads are refused whole for their body's size: REST and GraphQL from the
    # declared length, REST once more than its cap has streamed in
    declared_rest = _declare_oversized(
        own.api.base_url, "/api/upload", multipart, rest_cap_bytes + 1
    )
    declared_graphql = _declare_oversized(
        own.api.base_url, "/graphql", multipart, graphql_cap_bytes + 1
    )
    streamed_rest = own.api.http.post(
        "/api/upload",
        headers={"content-type": multipart},
        content=iter(
            [b'--b\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n\r\n']
            + [b"x" * 1024 * 1024] * (rest_cap_bytes // (1024 * 1024) + 2)
        ),
    )
    # and a GraphQL query too large for the cap, which carries no file
    not_an_upload = _declare_oversized(
        own.api.base_url, "/graphql", "application/json", graphql_cap_bytes + 1
    )

    # Then all five are 413s, and the four uploads count as too_large, once each
    assert over_the_file_limit.status_code == 413, over_the_file_limit.text
    assert streamed_rest.status_code == 413, streamed_rest.text
    for answer in (declared_rest, declared_graphql, not_an_upload):
        assert answer.startswith("HTTP/1.1 413"), answer
    after = scrape(own.api.base_url)
    too_large = value(after, "imagequeue_uploads_total", outcome="too_large") - value(
        before, "imagequeue_uploads_total", outcome="too_large"
    )
    assert too_large == 4


def test_a_failed_job_is_counted_by_reason(own: OwnStack) -> None:
    before = scrape(own.worker_url)
    whole = photo(1200, 900)
    image = own.api.wait_final(own.api.upload("cut.jpg", whole[: len(whole) // 3])["id"])
    assert image["status"] == "FAILED"
    wait_for(
        lambda: (
            value(scrape(own.worker_url), "imagequeue_jobs_failed_total", reason="unusable_image")
            == value(before, "imagequeue_jobs_failed_total", reason="unusable_image") + 1
        ),
        "the failed counter",
    )


def test_upload_and_processing_log_lines_share_the_image_id(own: OwnStack) -> None:
    image_id = int(own.api.upload("traced.jpg", photo())["id"])
    assert own.api.wait_final(str(image_id))["status"] == "COMPLETED"

    def worker_lines() -> list[dict[str, Any]]:
        return [line for line in json_lines(own.worker) if line.get("image_id") == image_id]

    wait_for(worker_lines, "the worker's log line")  # written after the ack
    [accepted] = [line for line in json_lines(own.server) if line.get("image_id") == image_id]
    assert accepted["msg"] == "upload accepted"
    assert accepted["client_filename"] == "traced.jpg"
    [done] = worker_lines()
    assert done["outcome"] == "completed"
    assert done["logger"] == "worker.consumer"
    # The grep the README promises finds both.
    needle = re.compile(f'"image_id": {image_id}[,}}]')
    assert needle.search(own.server.log())
    assert needle.search(own.worker.log())


def test_access_log_lines_are_json(own: OwnStack) -> None:
    own.api.http.get("/healthz")
    wait_for(
        lambda: any(line.get("path") == "/healthz" for line in json_lines(own.server)),
        "an access log line",
    )
    line = next(line for line in json_lines(own.server) if line.get("path") == "/healthz")
    assert line["logger"] == "uvicorn.access"
    assert line["status"] == 200


def test_worker_readiness_and_unknown_paths(own: OwnStack) -> None:
    ready = httpx.get(f"{own.worker_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok"}
    assert httpx.get(f"{own.worker_url}/nope").status_code == 404
    assert httpx.post(f"{own.worker_url}/metrics").status_code == 405


def test_readyz_turns_503_while_the_database_is_unreachable_and_200_after(
    own: OwnStack,
) -> None:
    # A proxy of this test's own stands between one server and PostgreSQL; cutting it is
    # an outage for that server alone (the shared PostgreSQL keeps serving other tests).
    with proxied(own.database_url, "127.0.0.1", PG_PORT) as (proxied_url, proxy):
        _, base_url = own.launcher.start_server({"DATABASE_URL": proxied_url})
        ready = httpx.get(f"{base_url}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok"}

        proxy.cut()
        wait_for(lambda: httpx.get(f"{base_url}/readyz").status_code == 503, "/readyz 503")
        down = httpx.get(f"{base_url}/readyz").json()
        assert down["status"] == "unavailable"
        assert down["database"].startswith("down: ")
        assert down["broker"] == "ok" and down["storage"] == "ok"

        proxy.restore()
        wait_for(lambda: httpx.get(f"{base_url}/readyz").status_code == 200, "/readyz 200")
