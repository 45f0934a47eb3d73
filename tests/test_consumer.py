"""The worker's consumer: how jobs survive what goes wrong around the rendering itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image

from infra.broker.topology import DEAD_LETTER_QUEUE
from tests import broker
from tests.images import encode, photo
from tests.processes import OwnServer, Process, own_server
from tests.scraping import scrape, value, wait_for
from tests.services import AMQP_HOST, AMQP_PORT, PG_PORT, free_port
from tests.tcp_proxy import proxied
from worker.lanes import Lanes
from worker.retries import RetryPolicy, database_unavailable, is_transient

# Quick retries, so a test that pays an attempt does not wait out a production backoff.
_FAST_RETRIES = {"RETRY_BASE_DELAY_S": "0.2", "RETRY_MAX_DELAY_S": "2"}


@pytest.fixture
def own(service_env: dict[str, str], tmp_path: Path) -> Iterator[OwnServer]:
    """A server on a database, vhost and storage of its own; tests start their worker."""
    with own_server(service_env, tmp_path, _FAST_RETRIES) as server:
        yield server


def test_a_pool_process_killed_while_idle_is_replaced_and_every_image_completes(
    own: OwnServer,
) -> None:
    # Given a worker with two pool processes, one of them killed as the OOM killer would
    metrics_port = free_port()
    worker = own.launcher.start_worker(
        {"WORKER_CONCURRENCY": "2", "WORKER_METRICS_PORT": str(metrics_port)}
    )
    readyz = f"http://127.0.0.1:{metrics_port}/readyz"
    assert httpx.get(readyz).status_code == 200
    os.kill(worker.pool_processes()[0], signal.SIGKILL)

    # Then the worker's /readyz says its pool cannot take a job
    wait_for(lambda: httpx.get(readyz).status_code == 503, "/readyz 503")
    down = httpx.get(readyz).json()
    assert down["processes"].startswith("down: a pool process died")
    assert down["database"] == down["broker"] == down["storage"] == "ok"

    # When images are uploaded
    ids = [own.api.upload(f"after-kill-{i}.jpg", photo(640, 480))["id"] for i in range(6)]

    # Then every one completes, and the worker is ready again
    images = [own.api.wait_final(image_id) for image_id in ids]
    assert [image["status"] for image in images] == ["COMPLETED"] * 6, images
    assert httpx.get(readyz).json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def test_a_worker_told_to_stop_does_not_wait_for_a_stuck_render(own: OwnServer) -> None:
    # Given a worker whose only pool process is stuck mid-render (paused, as if in C code)
    worker = own.launcher.start_worker({"WORKER_CONCURRENCY": "1", "JOB_TIMEOUT_S": "2"})
    [pool_process] = worker.pool_processes()
    os.kill(pool_process, signal.SIGSTOP)
    stuck = own.api.upload("stuck.jpg", photo(640, 480))["id"]
    wait_for(lambda: _status(own, stuck) == "PROCESSING", "the image processing")

    # When the worker is told to stop
    worker.popen.send_signal(signal.SIGTERM)

    # Then it exits on its own, once its drain is over, and takes the stuck process with it
    assert worker.popen.wait(timeout=60) == 0, worker.log()
    wait_for(lambda: not Path(f"/proc/{pool_process}").exists() or _zombie(pool_process), "exit")
    # And the job, handed back, completes in the next worker
    own.launcher.start_worker()
    assert own.api.wait_final(stuck)["status"] == "COMPLETED"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_pool_process_killed_mid_job_costs_that_job_one_attempt(own: OwnServer) -> None:
    # Given a worker whose only pool process is rendering an image (paused, so it stays busy)
    worker, pool_process, busy = _rendering_worker(own)

    # When that process is killed mid-job
    os.kill(pool_process, signal.SIGKILL)

    # Then the job is retried in a new pool and completes, and so do the images after it
    later = [own.api.upload(f"later-{i}.jpg", photo(640, 480))["id"] for i in range(3)]
    first = own.api.wait_final(busy)
    assert (first["status"], first["attempts"]) == ("COMPLETED", 2), first
    assert [own.api.wait_final(image_id)["status"] for image_id in later] == ["COMPLETED"] * 3
    assert "a pool process died: replacing the pool process" in worker.log()


def test_ctrl_c_in_a_terminal_lets_the_worker_finish_its_job_and_stop(own: OwnServer) -> None:
    # Given a worker rendering an image (its only pool process paused, so it stays busy)
    worker, pool_process, busy = _rendering_worker(own)

    # When Ctrl-C in its terminal sends SIGINT to the worker and its pool process alike
    for pid in (worker.popen.pid, pool_process):
        os.kill(pid, signal.SIGINT)
    os.kill(pool_process, signal.SIGCONT)

    # Then the job in flight completes, and the worker stops cleanly, without a traceback
    assert worker.popen.wait(timeout=60) == 0, worker.log()
    assert _status(own, busy) == "COMPLETED"
    assert "Traceback" not in worker.log()


def test_a_job_over_its_time_limit_fails_once_as_a_timeout(own: OwnServer) -> None:
    # Given a worker whose time limit a 12 MP photo cannot be rendered in
    metrics_port = free_port()
    worker = own.launcher.start_worker(
        {
            "WORKER_CONCURRENCY": "1",
            "JOB_TIMEOUT_S": "0.02",
            "WORKER_METRICS_PORT": str(metrics_port),
        }
    )

    # When one is uploaded
    slow = own.api.wait_final(own.api.upload("slow.jpg", photo(4000, 3000))["id"])

    # Then it fails at its first attempt, saying why, and the pool is not taken for crashed
    assert (slow["status"], slow["attempts"]) == ("FAILED", 1), slow
    assert slow["error"] == "processing exceeded the time limit of 0.02 s"
    samples = scrape(f"http://127.0.0.1:{metrics_port}")
    assert value(samples, "imagequeue_jobs_failed_total", reason="timeout") == 1
    assert "replacing the pool process" not in worker.log()


def test_a_job_killed_past_its_hard_deadline_costs_the_job_beside_it_nothing(
    own: OwnServer,
) -> None:
    # Given a worker with two pool processes (time limit 2 s, so a job unanswered for 7 s is
    # killed), both paused as if stuck in C code
    metrics_port = free_port()
    worker = own.launcher.start_worker(
        {"WORKER_CONCURRENCY": "2", "JOB_TIMEOUT_S": "2", "WORKER_METRICS_PORT": str(metrics_port)}
    )
    paused = worker.pool_processes()
    assert len(paused) == 2, paused
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)

    # When one job is handed to a pool process, and a second to the other a few seconds
    # later (so the first reaches its hard deadline while the second is still within its own)
    stuck = own.api.upload("stuck.jpg", photo(640, 480))["id"]
    wait_for(lambda: _status(own, stuck) == "PROCESSING", "the first image processing")
    time.sleep(4)
    beside = own.api.upload("beside.jpg", photo(640, 480))["id"]
    wait_for(lambda: _status(own, beside) == "PROCESSING", "the second image processing")

    # Then the first fails once, as a timeout, its process killed
    first = own.api.wait_final(stuck)
    assert (first["status"], first["attempts"]) == ("FAILED", 1), first
    assert first["error"] == "processing exceeded the time limit of 2 s"
    # And once the process beside it goes on (if it is still there), the second completes
    # on its first attempt: its pool process was not killed with the stuck one
    for pid in paused:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    second = own.api.wait_final(beside)
    assert (second["status"], second["attempts"]) == ("COMPLETED", 1), second
    samples = scrape(f"http://127.0.0.1:{metrics_port}")
    assert value(samples, "imagequeue_jobs_failed_total", reason="timeout") == 1
    assert value(samples, "imagequeue_jobs_retried_total", reason="worker_crash") == 0
    assert worker.log().count("job over the hard deadline: replacing the pool process") == 1
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/readyz").status_code == 200


# What PostgreSQL says while it is away or coming back, each with its SQLSTATE.
_DATABASE_AWAY = [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CrashShutdownError("terminating connection because of crash"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.InterfaceError("connection is closed"),
    ConnectionRefusedError(111, "Connection refused"),
]


@pytest.mark.parametrize("exc", _DATABASE_AWAY, ids=lambda exc: type(exc).__name__)
def test_a_database_that_is_away_is_waited_for_not_blamed(exc: BaseException) -> None:
    # A job that fails with it is retried, and recording that is skipped until it is back.
    assert is_transient(exc)
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UndefinedColumnError('column "nope" does not exist'),
        asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax for type json"),
        ValueError("a bug"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_database_that_refuses_a_statement_is_not_away(exc: BaseException) -> None:
    # A bug or bad data fails the same way every time: no retry, and it is recorded.
    assert not is_transient(exc)
    assert not database_unavailable(exc)


def test_what_a_pool_process_logs_reaches_the_workers_log(own: OwnServer) -> None:
    # Given a worker logging JSON
    worker = own.launcher.start_worker({"LOG_FORMAT": "json"})
    # When it renders a PNG whose embedded colour profile is garbage
    broken_profile = encode(Image.new("RGB", (300, 200), "red"), "PNG", icc_profile=b"junk")
    image = own.api.wait_final(own.api.upload("odd-profile.png", broken_profile)["id"])
    # Then the image still completes, and the pool process's warning is in the worker's log,
    # as JSON like every other line
    assert image["status"] == "COMPLETED", image["error"]
    [warning] = [line for line in _json_lines(worker) if line["logger"] == "worker.colour"]
    assert warning["level"] == "warning"
    assert warning["msg"].startswith("ignoring unusable ICC profile")


def test_a_worker_cut_off_from_the_database_waits_for_it_without_using_attempts(
    own: OwnServer,
) -> None:
    # Given a worker allowed two attempts per job, whose only way to PostgreSQL is a proxy
    # (an outage of its own: the shared PostgreSQL keeps serving every other test)
    with proxied(own.env["DATABASE_URL"], "127.0.0.1", PG_PORT) as (proxied_url, proxy):
        worker = own.launcher.start_worker({"DATABASE_URL": proxied_url, "MAX_ATTEMPTS": "2"})

        # When the database is out of its reach while images arrive
        proxy.cut()
        ids = [int(own.api.upload(f"outage-{i}.jpg", photo(320, 240))["id"]) for i in range(3)]

        def handled(image_id: int) -> list[str]:
            """The outcome of each delivery of ``image_id``'s job, from the worker's log."""
            return [
                line["outcome"]
                for line in _json_lines(worker)
                if line.get("image_id") == image_id and "outcome" in line
            ]

        # ... for longer than two attempts would last (or until the job is given up)
        wait_for(
            lambda: all(len(handled(i)) > 2 or "failed" in handled(i) for i in ids),
            lambda: f"each job handled 3 times: { {i: handled(i) for i in ids} }",
        )
        proxy.restore()

        # Then no job was given up, and once the database is back every image completes
        # on its first attempt
        assert broker.queue_depth(own.env["AMQP_URL"], DEAD_LETTER_QUEUE) == 0
        images = [own.api.wait_final(str(image_id)) for image_id in ids]
        assert [(image["status"], image["attempts"]) for image in images] == [("COMPLETED", 1)] * 3


def test_waits_for_the_database_back_off_as_retries_do_up_to_the_cap() -> None:
    # Retry queues hold one delay each (messages expire only at a queue's head), so the
    # n-th wait shares attempt n's queue and delay, and past the cap, the capped one's.
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=60.0)
    assert [policy.wait_attempt(waits) for waits in range(1, 11)] == [1, 2, 3, 4, 5, 6, 7, 7, 7, 7]
    assert 16.0 <= policy.backoff_s(6) <= 32.0
    assert 30.0 <= policy.backoff_s(7) <= 60.0
    assert RetryPolicy(base_delay_s=5.0, max_delay_s=2.0).wait_attempt(3) == 1


def _status(own: OwnServer, image_id: str) -> str:
    image = own.api.image(image_id)
    assert image is not None, f"image {image_id} vanished"
    return str(image["status"])


def _rendering_worker(own: OwnServer) -> tuple[Process, int, str]:
    """A worker with one pool process, paused mid-render of an image, so it stays busy:
    the worker, that pool process and the image's id."""
    worker = own.launcher.start_worker({"WORKER_CONCURRENCY": "1"})
    [pool_process] = worker.pool_processes()
    os.kill(pool_process, signal.SIGSTOP)
    busy = own.api.upload("busy.jpg", photo(640, 480))["id"]
    wait_for(lambda: _status(own, busy) == "PROCESSING", "the image processing")
    return worker, pool_process, busy


def _json_lines(process: Process) -> list[dict[str, Any]]:
    # Lines that are not JSON are the plain "consuming" banner printed to stdout.
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


def test_a_worker_cut_off_from_the_broker_says_so_and_still_stops_when_told(
    own: OwnServer,
) -> None:
    # Given a worker rendering an image (its only pool process paused), whose only way to
    # RabbitMQ is a proxy (an outage of its own)
    with proxied(own.env["AMQP_URL"], AMQP_HOST, AMQP_PORT) as (proxied_url, proxy):
        metrics_port = free_port()
        worker = own.launcher.start_worker(
            {
                "AMQP_URL": proxied_url,
                "WORKER_CONCURRENCY": "1",
                "WORKER_METRICS_PORT": str(metrics_port),
                "LOG_FORMAT": "json",
            }
        )
        readyz = f"http://127.0.0.1:{metrics_port}/readyz"
        [pool_process] = worker.pool_processes()
        os.kill(pool_process, signal.SIGSTOP)
        busy = own.api.upload("busy.jpg", photo(640, 480))["id"]
        wait_for(lambda: _status(own, busy) == "PROCESSING", "the image processing")

        # When the broker becomes unreachable
        proxy.cut()

        # Then the worker's /readyz says so, though its connection object is not closed
        # (it keeps trying to reconnect)
        wait_for(lambda: httpx.get(readyz).status_code == 503, "/readyz 503")
        down = httpx.get(readyz).json()
        assert down["broker"].startswith("down: "), down
        assert down["database"] == down["storage"] == "ok"

        # And when it is told to stop while the broker is still away
        worker.popen.send_signal(signal.SIGTERM)
        os.kill(pool_process, signal.SIGCONT)

        # Then it exits 0 within seconds, without waiting for the broker to come back
        assert worker.popen.wait(timeout=30) == 0, worker.log()
        assert any(line["msg"] == "worker stopped" for line in _json_lines(worker))

    # And the job it could not ack is handed back: the next worker completes it
    own.launcher.start_worker()
    assert own.api.wait_final(busy)["status"] == "COMPLETED"


def test_a_full_storage_is_waited_for_without_using_attempts(own: OwnServer) -> None:
    # Given a backlog of images, and a worker allowed two attempts per job
    ids = [own.api.upload(f"backlog-{i}.jpg", photo(320, 240))["id"] for i in range(3)]
    metrics_port = free_port()
    # ... whose storage cannot take a file: nothing can be created in its staging folder
    # (as with a full or read-only volume; the unit tests cover those errnos themselves)
    staging = own.storage / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.write_bytes(b"in the way")
    worker = own.launcher.start_worker(
        {"MAX_ATTEMPTS": "2", "WORKER_METRICS_PORT": str(metrics_port), "LOG_FORMAT": "json"}
    )
    worker_url = f"http://127.0.0.1:{metrics_port}"

    def handled(image_id: str) -> list[str]:
        return [
            line["outcome"]
            for line in _json_lines(worker)
            if line.get("image_id") == int(image_id) and "outcome" in line
        ]

    # When the jobs meet it for longer than two attempts would last
    wait_for(
        lambda: all(len(handled(i)) > 2 or "failed" in handled(i) for i in ids),
        lambda: f"each job handled 3 times: { {i: handled(i) for i in ids} }",
    )

    # Then none is given up: each waits as pending, saying why, and the worker's /readyz and
    # retry counter name the storage
    assert all("failed" not in handled(i) for i in ids), {i: handled(i) for i in ids}
    assert broker.queue_depth(own.env["AMQP_URL"], DEAD_LETTER_QUEUE) == 0
    ready = httpx.get(f"{worker_url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["storage"].startswith("down: StorageError: cannot write"), ready.json()
    assert value(scrape(worker_url), "imagequeue_jobs_retried_total", reason="storage") >= 6
    waiting = own.api.image(ids[0])
    assert waiting is not None and waiting["status"] in ("PENDING", "PROCESSING"), waiting

    # And once the storage takes files again, every image completes on its first attempt
    staging.unlink()
    images = [own.api.wait_final(image_id) for image_id in ids]
    assert [(image["status"], image["attempts"]) for image in images] == [("COMPLETED", 1)] * 3
    assert httpx.get(f"{worker_url}/readyz").status_code == 200


@pytest.mark.parametrize("outage_s", [1.5, 8.0], ids=["blip", "longer_than_a_render"])
def test_a_render_finished_while_the_database_blinked_completes_soon_after(
    own: OwnServer, outage_s: float
) -> None:
    # Given a worker (time limit 4 s) rendering an image (its pool process paused), whose
    # only way to PostgreSQL is a proxy
    with proxied(own.env["DATABASE_URL"], "127.0.0.1", PG_PORT) as (proxied_url, proxy):
        worker = own.launcher.start_worker(
            {
                "DATABASE_URL": proxied_url,
                "WORKER_CONCURRENCY": "1",
                "JOB_TIMEOUT_S": "4",
                "LOG_FORMAT": "json",
            }
        )
        [pool_process] = worker.pool_processes()
        os.kill(pool_process, signal.SIGSTOP)
        busy = own.api.upload("blip.jpg", photo(640, 480))["id"]
        wait_for(lambda: _status(own, busy) == "PROCESSING", "the image processing")

        # When the database goes away just as the render finishes, for a blip (shorter than
        # the time limit) or longer
        proxy.cut()
        os.kill(pool_process, signal.SIGCONT)
        time.sleep(outage_s)
        proxy.restore()
        back = time.monotonic()

        # Then the image completes within seconds of the database's return, not after its
        # claim goes stale (JOB_TIMEOUT_S + 15 s = 19 s)
        image = own.api.wait_final(busy)
        assert image["status"] == "COMPLETED", image
        assert time.monotonic() - back < 12, worker.log()
        outcomes = [line.get("outcome") for line in _json_lines(worker)]
        assert "deferred" not in outcomes
        # ... and a blip keeps the finished render: one attempt, not two
        if outage_s < 4:
            assert image["attempts"] == 1, image


def test_a_server_cut_off_from_the_broker_still_stops_when_told(own: OwnServer) -> None:
    # Given a server whose only way to RabbitMQ is a proxy, cut (an outage of its own)
    with proxied(own.env["AMQP_URL"], AMQP_HOST, AMQP_PORT) as (proxied_url, proxy):
        server, _ = own.launcher.start_server({"AMQP_URL": proxied_url})
        proxy.cut()
        time.sleep(2)  # its connections notice and start reconnecting

        # When it is told to stop
        server.popen.send_signal(signal.SIGTERM)

        # Then it stops, without waiting for the broker to come back (or this raises)
        assert server.popen.wait(timeout=40) is not None


def test_a_lane_whose_job_stopped_waiting_is_free_only_once_its_render_ends() -> None:
    # A closing channel cancels the job's task, not the render in the pool process: the
    # next job given that lane would queue behind it with its own hard deadline running.
    async def scenario() -> None:
        lanes = Lanes(1, partial(ProcessPoolExecutor, max_workers=1))
        loop = asyncio.get_running_loop()
        try:
            await lanes.warm_up()
            # Given a job whose render (1 s) it stopped waiting for
            lane = await lanes.take()
            lane.submit(partial(time.sleep, 1.0), hard_deadline_s=loop.time() + 30)
            lanes.give_back(lane)
            # Then the lane is free again only once the render is over
            started = loop.time()
            assert await lanes.take() is lane
            assert loop.time() - started >= 0.8
            assert not lane.broken
            # And a render stuck past its hard deadline has its process killed and replaced
            lane.submit(partial(time.sleep, 30.0), hard_deadline_s=loop.time() + 0.5)
            lanes.give_back(lane)
            stuck_since = loop.time()
            assert await asyncio.wait_for(lanes.take(), 10) is lane
            assert loop.time() - stuck_since < 5
            assert await asyncio.wrap_future(lane.submit(int, hard_deadline_s=0)) == 0
        finally:
            lanes.close()

    asyncio.run(scenario())
