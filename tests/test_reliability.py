"""Nothing lost, nothing stuck: fault tests that kill workers and restart the real services.

Each test gets its own database, vhost and storage, so what it breaks stays its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest

from infra.broker.messages import ImageJob
from infra.broker.topology import DEAD_LETTER_QUEUE, JOB_QUEUE, SET_ASIDE_QUEUE
from infra.renditions import job_for
from tests import broker
from tests.client import Api
from tests.faults import postgres_stopped, rabbitmq_stopped, restart_postgres, restart_rabbitmq
from tests.images import photo
from tests.processes import Launcher, Process, own_server
from tests.scraping import scrape, value, wait_for

FINAL = ("COMPLETED", "FAILED")

# Restarting RabbitMQ or PostgreSQL and waiting out backoffs takes longer than a unit test.
pytestmark = pytest.mark.timeout(300)


@dataclass
class Isolated:
    running: Launcher
    env: dict[str, str]
    api: Api
    server: Process
    storage: Path

    def start_worker(self, **env: str) -> Process:
        return self.running.start_worker(env)

    def upload(self, name: str = "photo.jpg", content: bytes | None = None) -> int:
        response = self.api.http.post(
            "/api/upload", files={"image": (name, content or photo(320, 240))}
        )
        assert response.status_code == 201, response.text
        image_id: int = response.json()["id"]
        return image_id

    def row(self, image_id: int) -> dict[str, object]:
        response = self.api.http.get(f"/api/images/{image_id}")
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def wait_final(self, image_ids: list[int], timeout_s: float = 120) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout_s
        rows: dict[int, dict[str, object]] = {}
        while len(rows) < len(image_ids):
            for image_id in image_ids:
                if image_id in rows:
                    continue
                try:
                    row = self.row(image_id)
                except httpx.HTTPError:
                    continue  # the server may be between reconnects
                if str(row["status"]).upper() in FINAL:
                    rows[image_id] = row
            if time.monotonic() > deadline:
                missing = sorted(set(image_ids) - rows.keys())
                raise AssertionError(f"not final after {timeout_s} s: {missing[:10]}")
            time.sleep(0.2)
        return [rows[image_id] for image_id in image_ids]

    def queue_depth(self, queue: str) -> int:
        return broker.queue_depth(self.env["AMQP_URL"], queue)

    def publish_raw(self, body: bytes, queue: str = JOB_QUEUE) -> None:
        broker.publish_raw(self.env["AMQP_URL"], body, queue)

    def sql(self, query: str, *args: object) -> object:
        async def run() -> object:
            connection = await asyncpg.connect(self.env["DATABASE_URL"])
            try:
                return await connection.fetchval(query, *args)
            finally:
                await connection.close()

        return asyncio.run(run())

    def thumbnails(self) -> list[Path]:
        return sorted((self.storage / "thumbnails").glob("*_thumb.jpg"))


@pytest.fixture
def isolated(
    service_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Isolated]:
    settings = {
        "RETRY_BASE_DELAY_S": "0.2",
        "RETRY_MAX_DELAY_S": "2",
        "OUTBOX_POLL_INTERVAL_S": "0.5",
        # Bounds how long a duplicate delivery waits before taking over an abandoned claim.
        "JOB_TIMEOUT_S": "15",
        **getattr(request, "param", {}),
    }
    with own_server(service_env, tmp_path, settings) as own:
        yield Isolated(own.launcher, own.env, own.api, own.server, own.storage)


def _running(pid: int) -> bool:
    """Whether the process lives; one that exited but was not reaped yet (a zombie) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_until_exited(pids: list[int]) -> None:
    wait_for(
        lambda: not [pid for pid in pids if _running(pid)],
        lambda: f"the killed worker's pool processes to exit: {list(filter(_running, pids))}",
        timeout_s=30,
    )


def test_100_uploads_survive_five_worker_kills(isolated: Isolated) -> None:
    # Given 100 accepted uploads and one worker
    ids = [isolated.upload(f"kill-{i}.jpg") for i in range(100)]
    worker = isolated.start_worker()
    chance = random.Random(20261127)

    # When the worker is killed with SIGKILL five times at random moments and restarted
    for _ in range(5):
        time.sleep(chance.uniform(0.2, 1.5))
        pool = worker.pool_processes()
        assert pool, f"worker {worker.popen.pid} has no pool processes"
        worker.kill()
        # Then its pool processes exit with it instead of living on as orphans
        _wait_until_exited(pool)
        worker = isolated.start_worker()

    # Then every image completes, with exactly one thumbnail each, and none is stuck
    rows = isolated.wait_final(ids)
    assert [row["status"] for row in rows] == ["completed"] * 100
    assert len(isolated.thumbnails()) == 100
    assert {str(row["thumbnail_path"]).rsplit("/", 1)[-1] for row in rows} == {
        path.name for path in isolated.thumbnails()
    }
    assert isolated.sql("SELECT count(*) FROM images WHERE status = 'processing'") == 0


def test_a_worker_killed_after_its_database_write_but_before_its_ack(isolated: Isolated) -> None:
    # Given a worker that dies right after recording the result, before acking
    crashing = isolated.start_worker(FAULT_CRASH_AFTER_COMMIT="true")
    image_id = isolated.upload()
    assert crashing.popen.wait(timeout=60) == 70
    files_after_crash = isolated.api.stored_files()
    assert isolated.row(image_id)["status"] == "completed"

    # When the job is redelivered to a healthy worker
    healthy = isolated.start_worker()
    wait_for(
        lambda: "skipped" in healthy.log(),
        lambda: f"'skipped' in the healthy worker's log:\n{healthy.log()}",
        timeout_s=30,
    )

    # Then there is one result: same files, one attempt, nothing left in the queue
    row = isolated.row(image_id)
    assert row["status"] == "completed" and row["attempts"] == 1
    assert isolated.api.stored_files() == files_after_crash
    assert isolated.queue_depth(JOB_QUEUE) == 0


def test_every_accepted_upload_completes_across_a_rabbitmq_restart(isolated: Isolated) -> None:
    isolated.start_worker()
    accepted: list[int] = []

    def upload_batch() -> None:
        for i in range(50):
            try:
                response = isolated.api.http.post(
                    "/api/upload", files={"image": (f"b{i}.jpg", photo(320, 240))}
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 201:
                accepted.append(response.json()["id"])
            time.sleep(0.05)

    uploader = threading.Thread(target=upload_batch)
    uploader.start()
    time.sleep(0.5)
    restart_rabbitmq()
    uploader.join()

    # With the outbox every upload is accepted while the database is up.
    assert len(accepted) == 50
    assert {row["status"] for row in isolated.wait_final(accepted)} == {"completed"}


def test_uploads_while_storage_fails_get_503_and_leave_nothing(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server whose storage cannot take uploads: its staging folder is a file
    storage = tmp_path / "storage"
    blocker = storage / ".staging"
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"")
    with own_server(service_env, tmp_path, {}) as own:
        # When a client uploads through REST and through GraphQL
        rest = own.api.http.post("/api/upload", files={"image": ("a.jpg", photo())})
        graphql = own.api.upload_multipart([("b.jpg", photo())])
        # Then both are told to try again later, and nothing is kept
        assert rest.status_code == 503, rest.text
        assert rest.json() == {"error": "storage is unavailable; try again"}
        assert graphql.status_code == 503, graphql.text
        assert graphql.json() == {"errors": [{"message": "storage is unavailable; try again"}]}
        listed = own.api.graphql("{ images(first: 10) { edges { node { id } } } }")
        assert listed["data"]["images"]["edges"] == []
        assert [p for p in storage.rglob("*") if p.is_file() and p != blocker] == []
        # And operators see why in the log, and both in the uploads metric
        assert "storage failed during an upload" in own.server.log()
        unavailable = value(
            scrape(own.api.base_url), "imagequeue_uploads_total", outcome="unavailable"
        )
        assert unavailable == 2
        # And once storage is back, the same server takes uploads again
        blocker.unlink()
        assert own.api.upload("c.jpg", photo())["status"] == "PENDING"


def test_an_upload_the_database_refuses_gets_503_keeps_no_file_and_logs_why_once(
    isolated: Isolated,
) -> None:
    # Given a database that refuses every new image (a constraint no row can meet)
    isolated.sql("ALTER TABLE images ADD CONSTRAINT refuse_uploads CHECK (false) NOT VALID")
    # When a client uploads through REST and through GraphQL
    rest = isolated.api.http.post("/api/upload", files={"image": ("a.jpg", photo())})
    graphql = isolated.api.upload_multipart([("b.jpg", photo())])
    # Then both are told to try again, and the originals already stored are removed
    assert rest.status_code == 503, rest.text
    assert rest.json() == {"error": "the database is unavailable; try again"}
    assert "the database is unavailable; try again" in graphql.text
    assert isolated.api.stored_originals() == []
    # And operators read the database's own reason, one line per upload, no traceback
    log = isolated.server.log()
    assert log.count("database failed during an upload") == 2
    assert log.count("refuse_uploads") == 2
    assert "Traceback" not in log
    # And once the database takes rows again, the same server takes uploads again
    isolated.sql("ALTER TABLE images DROP CONSTRAINT refuse_uploads")
    assert isolated.api.upload("c.jpg", photo())["status"] == "PENDING"


def test_a_batch_upload_answers_for_each_file_when_the_database_refuses_one(
    isolated: Isolated,
) -> None:
    # Given a database that refuses one particular file's row
    isolated.sql(
        "ALTER TABLE images ADD CONSTRAINT refuse_one CHECK (filename <> 'b.jpg') NOT VALID"
    )
    # When a client uploads three files in one batch, the second of them that one
    files = [("a.jpg", photo()), ("b.jpg", photo()), ("c.jpg", photo())]
    body = isolated.api.upload_multipart(files).json()
    # Then the two others are accepted and listed, not hidden behind a null list
    assert [image["filename"] for image in body["data"]["uploadImages"]] == ["a.jpg", "c.jpg"]
    # And the refused one is reported by its index, as something to send again later
    [error] = body["errors"]
    assert error["path"] == ["uploadImages"]
    assert error["extensions"]["fileIndex"] == 1
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["reason"] == "the database is unavailable; try again"
    # And only the accepted files are kept
    assert len(isolated.api.stored_originals()) == 2


def test_uploads_while_rabbitmq_is_down_succeed_and_complete_after(isolated: Isolated) -> None:
    isolated.start_worker()
    with rabbitmq_stopped():
        ids = [isolated.upload(f"offline-{i}.jpg") for i in range(5)]
        health = isolated.api.http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["broker"].startswith("down")
        assert all(isolated.row(i)["status"] == "pending" for i in ids)
    assert {row["status"] for row in isolated.wait_final(ids)} == {"completed"}
    assert isolated.api.http.get("/healthz").status_code == 200


def test_every_accepted_upload_completes_across_a_postgres_restart(isolated: Isolated) -> None:
    isolated.start_worker()
    accepted: list[int] = []
    refused = 0

    def upload_batch() -> None:
        nonlocal refused
        for i in range(30):
            try:
                response = isolated.api.http.post(
                    "/api/upload", files={"image": (f"p{i}.jpg", photo(320, 240))}
                )
            except httpx.HTTPError:
                refused += 1
                continue
            if response.status_code == 201:
                accepted.append(response.json()["id"])
            else:
                # Without the database nothing can be promised: a clear 503, nothing kept.
                assert response.status_code == 503, response.text
                refused += 1
            time.sleep(0.1)

    uploader = threading.Thread(target=upload_batch)
    uploader.start()
    time.sleep(0.5)
    with postgres_stopped():
        health = isolated.api.http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"].startswith("down")
    uploader.join()

    assert accepted
    rows = isolated.wait_final(accepted)
    assert {row["status"] for row in rows} == {"completed"}
    # And only the accepted uploads kept an original: nothing stays for the refused ones
    kept = [str(path.relative_to(isolated.storage)) for path in isolated.api.stored_originals()]
    assert sorted(kept) == sorted(str(row["original_path"]) for row in rows)
    assert isolated.api.http.get("/healthz").status_code == 200


def test_a_poison_job_is_dead_lettered_and_the_others_flow(isolated: Isolated) -> None:
    isolated.start_worker()
    isolated.publish_raw(b"\x00 this is not a job")
    ids = [isolated.upload(f"after-poison-{i}.jpg") for i in range(5)]
    assert {row["status"] for row in isolated.wait_final(ids)} == {"completed"}
    assert isolated.queue_depth(DEAD_LETTER_QUEUE) == 1
    assert isolated.queue_depth(JOB_QUEUE) == 0


def _block_thumbnails(storage: Path) -> Path:
    # A file where the thumbnails directory should be: every write fails like a disk error.
    storage.mkdir(parents=True, exist_ok=True)
    blocker = storage / "thumbnails"
    blocker.write_text("not a directory")
    return blocker


def test_a_job_that_fails_transiently_twice_then_succeeds(isolated: Isolated) -> None:
    blocker = _block_thumbnails(isolated.storage)
    isolated.start_worker()
    image_id = isolated.upload()

    # The attempt count and last error are visible while it waits for its next attempt.
    seen: dict[str, dict[str, object]] = {}

    def waiting_after_two_attempts() -> bool:
        row = seen["row"] = isolated.row(image_id)
        return row["attempts"] == 2 and row["status"] == "pending"

    wait_for(
        waiting_after_two_attempts,
        lambda: f"attempt 2 pending: {seen['row']}",
        timeout_s=30,
        interval_s=0.02,
    )
    row = seen["row"]
    assert str(row["error"]).startswith("attempt 2 failed: StorageError")
    blocker.unlink()

    [final] = isolated.wait_final([image_id])
    assert final["status"] == "completed"
    assert final["attempts"] == 3
    assert final["error"] is None


@pytest.mark.parametrize("isolated", [{"MAX_ATTEMPTS": "2"}], indirect=True)
def test_exhausted_retries_dead_letter_and_can_be_replayed(isolated: Isolated) -> None:
    blocker = _block_thumbnails(isolated.storage)
    isolated.start_worker()
    first, second = isolated.upload("one.jpg"), isolated.upload("two.jpg")
    rows = isolated.wait_final([first, second])
    assert [row["status"] for row in rows] == ["failed", "failed"]
    assert str(rows[0]["error"]).startswith("gave up after 2 attempts: StorageError")
    assert isolated.queue_depth(DEAD_LETTER_QUEUE) == 2
    listed = isolated.running.start("dlq", "dlq", "list")
    assert listed.popen.wait(timeout=60) == 0
    assert f"image {first:>6}  attempts 2" in listed.log()
    blocker.unlink()

    # The CLI replays one dead letter; the API retries the other image.
    replayed = isolated.running.start("dlq", "dlq", "replay", str(first))
    assert replayed.popen.wait(timeout=60) == 0
    assert f"replayed: image {first}" in replayed.log()
    retried = isolated.api.http.post(f"/api/images/{second}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0

    assert [row["status"] for row in isolated.wait_final([first, second])] == ["completed"] * 2
    conflict = isolated.api.http.post(f"/api/images/{second}/retry")
    assert conflict.status_code == 409
    assert "only failed images can be retried" in conflict.json()["error"]


def test_the_same_job_published_twice_yields_one_result(isolated: Isolated) -> None:
    # Given a job in the queue twice before any worker runs
    image_id = isolated.upload()
    original = str(isolated.row(image_id)["original_path"])
    wait_for(lambda: isolated.queue_depth(JOB_QUEUE) >= 1, "the job in the queue", timeout_s=10)
    isolated.publish_raw(job_for(image_id, original).encode())

    # When a worker takes both at once
    isolated.start_worker(WORKER_CONCURRENCY="2")
    [row] = isolated.wait_final([image_id])

    # Then one attempt made one set of files, and the second copy is set aside to be
    # looked at again later (when it will find the image completed and be dropped)
    assert row["status"] == "completed" and row["attempts"] == 1
    assert len(isolated.thumbnails()) == 1
    assert isolated.queue_depth(JOB_QUEUE) == 0
    # And it waits in a queue of its own, where it holds back no retry's shorter delay
    assert isolated.queue_depth(SET_ASIDE_QUEUE) == 1


def test_a_retried_image_through_graphql(isolated: Isolated) -> None:
    isolated.start_worker()
    broken = isolated.upload("broken.jpg", photo()[:2000])
    [row] = isolated.wait_final([broken])
    assert row["status"] == "failed"
    mutation = "mutation($id: ID!) { retryImage(id: $id) { id status attempts error } }"
    body = isolated.api.graphql(mutation, {"id": str(broken)})
    assert body["data"]["retryImage"] == {
        "id": str(broken), "status": "PENDING", "attempts": 0, "error": None,
    }  # fmt: skip
    [again] = isolated.wait_final([broken])
    assert again["status"] == "failed" and again["attempts"] == 1
    done = isolated.upload("fine.jpg")
    isolated.wait_final([done])
    refused = isolated.api.graphql(mutation, {"id": str(done)})
    assert refused["errors"][0]["message"] == (
        f"image {done} is COMPLETED; only FAILED images can be retried"
    )


@pytest.mark.parametrize(
    "isolated", [{"STUCK_AFTER_S": "1", "STUCK_SWEEP_INTERVAL_S": "0.5"}], indirect=True
)
def test_an_image_stuck_in_processing_without_a_job_is_swept_back(isolated: Isolated) -> None:
    # Given an image its worker abandoned and whose job is gone from the broker
    image_id = isolated.upload()
    wait_for(lambda: isolated.queue_depth(JOB_QUEUE) >= 1, "the job in the queue", timeout_s=10)

    async def lose_the_job() -> None:
        connection = await aio_pika.connect(isolated.env["AMQP_URL"])
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(JOB_QUEUE, durable=True)
            await queue.purge()

    asyncio.run(lose_the_job())
    isolated.sql(
        "UPDATE images SET status = 'processing', started_at = now() - interval '1 hour'"
        " WHERE id = $1",
        image_id,
    )
    # When the sweeper runs and a worker is there
    isolated.start_worker()
    # Then the image completes
    [row] = isolated.wait_final([image_id], timeout_s=60)
    assert row["status"] == "completed"


def test_sigterm_lets_the_worker_finish_its_job_and_exit_0(isolated: Isolated) -> None:
    worker = isolated.start_worker()
    image_id = isolated.upload("big.jpg", photo(6000, 4000))
    wait_for(
        lambda: isolated.row(image_id)["status"] == "processing",
        "the image processing",
        timeout_s=30,
        interval_s=0.02,
    )
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(timeout=60) == 0
    assert isolated.row(image_id)["status"] == "completed"


def test_a_job_waiting_for_a_pool_process_stays_pending_and_sigterm_hands_it_back(
    isolated: Isolated,
) -> None:
    # Given a worker whose only pool process is busy (paused, so it stays busy)
    worker = isolated.start_worker(WORKER_CONCURRENCY="1")
    [pool_process] = worker.pool_processes()
    os.kill(pool_process, signal.SIGSTOP)
    try:
        busy_id = isolated.upload("busy.jpg")
        wait_for(lambda: isolated.row(busy_id)["status"] == "processing", "the first job")
        # When a second job arrives, the worker takes it off the queue to have it ready
        waiting_id = isolated.upload("next.jpg")
        wait_for(lambda: isolated.queue_depth(JOB_QUEUE) == 0, "the second job delivered")
        # Then that image still says pending: nothing renders it yet
        time.sleep(0.5)
        assert isolated.row(waiting_id)["status"] == "pending"
        # And a SIGTERM lets the running job finish and puts the waiting one back, unclaimed
        worker.popen.send_signal(signal.SIGTERM)
    finally:
        os.kill(pool_process, signal.SIGCONT)
    assert worker.popen.wait(timeout=60) == 0
    assert isolated.row(busy_id)["status"] == "completed"
    assert isolated.row(waiting_id)["status"] == "pending"
    assert isolated.queue_depth(JOB_QUEUE) == 1
    # And the next worker completes it
    isolated.start_worker()
    [row] = isolated.wait_final([waiting_id], timeout_s=60)
    assert row["status"] == "completed"


def test_sigterm_on_the_server_finishes_an_upload_in_flight(isolated: Isolated) -> None:
    content = photo(1200, 900)
    boundary = "faultboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="slow.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent_first_part = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield head + content[:1000]
        sent_first_part.set()
        time.sleep(1.0)
        yield content[1000:] + tail

    result: dict[str, httpx.Response] = {}

    def send() -> None:
        result["response"] = httpx.post(
            f"{isolated.api.base_url}/api/upload",
            content=slow_body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=30,
        )

    sender = threading.Thread(target=send)
    sender.start()
    assert sent_first_part.wait(10)
    time.sleep(0.2)
    isolated.server.popen.send_signal(signal.SIGTERM)
    sender.join(30)
    assert result["response"].status_code == 201, result["response"].text
    isolated.server.popen.wait(timeout=30)
    image_id = result["response"].json()["id"]
    assert isolated.sql("SELECT status FROM images WHERE id = $1", image_id) == "pending"
    # And its job was not lost with the server: whether still in the outbox or already in
    # the queue, the next server and a worker complete it (nothing else queues a pending image)
    isolated.running.start_server()
    isolated.start_worker()
    wait_for(
        lambda: isolated.sql("SELECT status FROM images WHERE id = $1", image_id) == "completed",
        lambda: (
            f"image {image_id} to complete: "
            f"{isolated.sql('SELECT status FROM images WHERE id = $1', image_id)}"
        ),
        timeout_s=60,
    )


def test_a_postgres_restart_is_survived_by_server_and_worker(isolated: Isolated) -> None:
    isolated.start_worker()
    assert isolated.wait_final([isolated.upload("before.jpg")])[0]["status"] == "completed"
    restart_postgres()
    wait_for(
        lambda: isolated.api.http.get("/healthz").status_code == 200,
        "/healthz 200 after the restart",
        timeout_s=30,
        interval_s=0.2,
    )
    after = isolated.upload("after.jpg")
    assert isolated.wait_final([after])[0]["status"] == "completed"


def test_messages_from_the_original_design_are_processed(isolated: Isolated) -> None:
    # A producer written against the original design declares the queue its own way and
    # publishes the old message; both must still work.
    async def legacy_producer(image_id: int, original: str) -> None:
        connection = await aio_pika.connect(isolated.env["AMQP_URL"])
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(JOB_QUEUE, durable=True)
            body = ImageJob(image_id, original, f"thumbnails/legacy-{image_id}_thumb.jpg")
            legacy = body.encode().replace(b'"version": 1, ', b"")
            await channel.default_exchange.publish(
                aio_pika.Message(legacy, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=JOB_QUEUE,
            )

    first = isolated.upload()
    original = str(isolated.row(first)["original_path"])
    image_id = isolated.sql(
        "INSERT INTO images (filename, original_path) VALUES ('legacy.jpg', $1) RETURNING id",
        original,
    )
    assert isinstance(image_id, int)
    isolated.start_worker()
    asyncio.run(legacy_producer(image_id, original))
    [row] = isolated.wait_final([image_id])
    assert row["status"] == "completed"
    assert row["thumbnail_path"] == f"thumbnails/legacy-{image_id}_thumb.jpg"
