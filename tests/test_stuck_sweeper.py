"""The stuck sweeper: images whose job was lost are queued again, valid long jobs are not."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import cast

import aio_pika
import asyncpg

from infra.broker.topology import JOB_QUEUE
from infra.db import images, outbox
from server.outbox_relay import OutboxRelay
from server.stuck_sweeper import StuckSweeper
from tests.broker import queue_depth
from tests.images import photo
from tests.processes import own_server
from tests.scraping import wait_for

_STUCK_AFTER_S = 60.0


class _Relay:
    kicks = 0

    def kick(self) -> None:
        self.kicks += 1


async def _empty_job_queue() -> int:
    """What the broker says of a job queue with no message waiting (these tests have no
    broker; the tests below that start a server have a real one)."""
    return 0


def _sweeper(pool: asyncpg.Pool) -> StuckSweeper:
    relay = cast(OutboxRelay, _Relay())
    return StuckSweeper(
        pool=pool,
        relay=relay,
        jobs_waiting=_empty_job_queue,
        stuck_after_s=_STUCK_AFTER_S,
        interval_s=3600,
    )


async def _published_image(pool: asyncpg.Pool, *, age_s: float) -> int:
    """A pending image uploaded ``age_s`` ago whose job the relay has published."""
    record, _ = await outbox.insert_pending_image(
        pool, filename="a.jpg", original_path="originals/a.jpg", file_size=1, content_type="x"
    )
    await pool.execute("DELETE FROM job_outbox WHERE image_id = $1", record.id)
    await pool.execute(
        "UPDATE images SET created_at = now() - make_interval(secs => $2) WHERE id = $1",
        record.id,
        age_s,
    )
    return record.id


async def _outbox_entries(pool: asyncpg.Pool, image_id: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM job_outbox WHERE image_id = $1", image_id))


async def test_a_pending_image_whose_job_was_lost_is_queued_again_once_per_period(
    pool: asyncpg.Pool,
) -> None:
    # Given pending images: one whose job left the outbox long ago, one just uploaded,
    # and one old one whose job is still in the outbox (the broker is away)
    lost = await _published_image(pool, age_s=2 * _STUCK_AFTER_S)
    fresh = await _published_image(pool, age_s=1)
    waiting = await _published_image(pool, age_s=2 * _STUCK_AFTER_S)
    await outbox.enqueue(pool, waiting)
    sweeper = _sweeper(pool)

    # When the sweeper runs
    assert await sweeper.sweep() == [lost]

    # Then only the lost one has a new job in the outbox
    assert [await _outbox_entries(pool, i) for i in (lost, fresh, waiting)] == [1, 0, 1]
    # And once that job is published, it is not queued again before another period
    await pool.execute("DELETE FROM job_outbox WHERE image_id = $1", lost)
    assert await sweeper.sweep() == []
    await pool.execute(
        "UPDATE images SET requeued_at = now() - make_interval(secs => $2) WHERE id = $1",
        lost,
        _STUCK_AFTER_S + 1,
    )
    assert await sweeper.sweep() == [lost]


async def test_a_processing_image_is_requeued_only_past_its_own_deadline(
    pool: asyncpg.Pool,
) -> None:
    # Given two images claimed longer than STUCK_AFTER_S ago: one by a worker whose time
    # limit is longer still, one whose claim has run out
    long_job = await _published_image(pool, age_s=1)
    lost_job = await _published_image(pool, age_s=1)
    assert await images.claim_for_processing(pool, long_job, take_over=False, stale_after_s=600)
    assert await images.claim_for_processing(pool, lost_job, take_over=False, stale_after_s=10)
    await pool.execute(
        "UPDATE images SET started_at = now() - interval '2 minutes',"
        " processing_deadline_at = processing_deadline_at - interval '2 minutes'"
    )

    # When the sweeper runs
    swept = await _sweeper(pool).sweep()

    # Then the long job keeps its claim (its result will be accepted), the other is requeued
    assert swept == [lost_job]
    assert (await images.get(pool, long_job)).status == "processing"  # type: ignore[union-attr]
    # and neither can another delivery take over the long job before its deadline
    assert not await images.claim_for_processing(pool, long_job, take_over=False, stale_after_s=1)


async def test_a_take_back_never_takes_a_claim_made_after_the_sweeper_released_the_image(
    pool: asyncpg.Pool,
) -> None:
    # Given an image whose first delivery rendered it but could not record the result (the
    # database was away), leaving its claim (1 attempt), and whose claim then ran out
    image_id = await _published_image(pool, age_s=1)
    assert await images.claim_for_processing(pool, image_id, take_over=False, stale_after_s=10)
    await pool.execute(
        "UPDATE images SET started_at = now() - interval '2 minutes',"
        " processing_deadline_at = now() - interval '1 minute' WHERE id = $1",
        image_id,
    )
    # And the sweeper released it and another delivery claimed it (2 attempts)
    assert await _sweeper(pool).sweep() == [image_id]
    assert await images.claim_for_processing(pool, image_id, take_over=False, stale_after_s=60)

    # When the first job comes back to take back the claim it left (its 1 attempt)
    taken = await images.claim_for_processing(
        pool, image_id, take_over=True, stale_after_s=60, held_with_attempts=1
    )

    # Then it does not: the other delivery keeps the image, which is not rendered twice
    assert taken is None
    current = await images.get(pool, image_id)
    assert current is not None
    assert (current.status, current.attempts) == ("processing", 2)
    # While a take-back of the claim that is still its own goes ahead
    assert await images.claim_for_processing(
        pool, image_id, take_over=True, stale_after_s=60, held_with_attempts=2
    )


async def test_a_processing_image_claimed_before_deadlines_were_kept_is_requeued_as_before(
    pool: asyncpg.Pool,
) -> None:
    image_id = await _published_image(pool, age_s=1)
    await pool.execute(
        "UPDATE images SET status = 'processing', started_at = now() - interval '2 minutes'"
        " WHERE id = $1",
        image_id,
    )
    assert await _sweeper(pool).sweep() == [image_id]


def test_an_image_whose_job_was_purged_from_the_queue_completes(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    settings = {"STUCK_AFTER_S": "2", "STUCK_SWEEP_INTERVAL_S": "0.5"}
    with own_server(service_env, tmp_path, settings) as own:
        # Given an image uploaded while no worker runs, whose job is then purged from the
        # queue (through the management UI, or a broker volume recreated)
        image_id = own.api.upload("lost.jpg", photo())["id"]
        amqp_url = own.env["AMQP_URL"]
        wait_for(lambda: queue_depth(amqp_url, JOB_QUEUE) == 1, "the job in the queue")
        asyncio.run(_purge(amqp_url))

        # When a worker starts
        own.launcher.start_worker()

        # Then the image completes rather than staying pending forever
        image = own.api.wait_final(image_id, timeout_s=30)
        assert image["status"] == "COMPLETED", image
        assert "requeued a pending image whose job was lost" in own.server.log()


def test_a_backlog_waiting_for_workers_gets_no_copies_of_its_jobs(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    settings = {"STUCK_AFTER_S": "1", "STUCK_SWEEP_INTERVAL_S": "0.3"}
    with own_server(service_env, tmp_path, settings) as own:
        # Given images uploaded while no worker runs, whose jobs wait in the queue for
        # longer than STUCK_AFTER_S
        image_ids = [own.api.upload(f"waiting-{n}.jpg", photo())["id"] for n in range(3)]
        amqp_url = own.env["AMQP_URL"]
        wait_for(lambda: queue_depth(amqp_url, JOB_QUEUE) == 3, "the jobs in the queue")
        time.sleep(4)  # several sweeps past STUCK_AFTER_S

        # Then the queue holds each job once: none was taken for lost and queued again
        assert queue_depth(amqp_url, JOB_QUEUE) == 3
        assert "requeued a pending image whose job was lost" not in own.server.log()

        # And once a worker starts, each image completes on its first attempt
        own.launcher.start_worker()
        for image_id in image_ids:
            image = own.api.wait_final(image_id, timeout_s=30)
            assert (image["status"], image["attempts"]) == ("COMPLETED", 1), image


async def _purge(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(JOB_QUEUE, durable=True)
        await queue.purge()


def test_a_job_allowed_longer_than_stuck_after_s_completes_on_its_first_attempt(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    settings = {"STUCK_AFTER_S": "1", "STUCK_SWEEP_INTERVAL_S": "0.3"}
    with own_server(service_env, tmp_path, settings) as own:
        # Given a worker allowed 60 s per job, whose only pool process takes longer than
        # the server's STUCK_AFTER_S over one image (paused for a while mid-render)
        worker = own.launcher.start_worker({"WORKER_CONCURRENCY": "1", "JOB_TIMEOUT_S": "60"})
        [pool_process] = worker.pool_processes()
        os.kill(pool_process, signal.SIGSTOP)
        image_id = own.api.upload("long.jpg", photo(640, 480))["id"]
        wait_for(lambda: own.api.image(image_id)["status"] == "PROCESSING", "processing")  # type: ignore[index]
        time.sleep(4)  # several sweeps past STUCK_AFTER_S
        os.kill(pool_process, signal.SIGCONT)

        # Then the render is accepted: completed on its first attempt, never requeued
        image = own.api.wait_final(image_id, timeout_s=30)
        assert (image["status"], image["attempts"]) == ("COMPLETED", 1), image
        assert "requeued a stuck image" not in own.server.log()
