"""``imagequeue dlq list|replay``: look at the dead-letter queue and send jobs back.

Listing takes messages off the queue and puts them back (``nack`` with requeue), so it
is safe to run at any time; their order may change. Replaying a job resets its FAILED
image to pending with a fresh attempt count and writes the job to the outbox, in one
transaction, then acks the dead letter: the server's relay publishes it. A job whose
paths are not its image's (``worker/job_paths.py``) is kept, as an undecodable body is:
replayed, it would be refused again, and its image, reset to pending, would wait forever.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from cli.services import broker, database
from infra.broker.messages import DecodeError, ImageJob
from infra.broker.topology import declare_dead_letter_queue
from infra.db import images, outbox
from infra.db.images import Executor
from infra.settings import Settings
from worker.job_paths import PathsRefused, job_paths
from worker.requeue import DEAD_LETTER_REASON_HEADER, DEAD_LETTERED_AT_HEADER, attempts_made

_MAX_MESSAGES = 10_000


@dataclass(frozen=True)
class DeadLetter:
    image_id: int | None
    reason: str
    attempts: int
    dead_lettered_at: str
    body_preview: str


def _decode(message: AbstractIncomingMessage) -> ImageJob | None:
    try:
        return ImageJob.decode(message.body)
    except DecodeError:
        return None


def _describe(message: AbstractIncomingMessage, job: ImageJob | None) -> DeadLetter:
    headers = message.headers or {}
    return DeadLetter(
        image_id=None if job is None else job.image_id,
        reason=str(headers.get(DEAD_LETTER_REASON_HEADER, "unknown")),
        attempts=attempts_made(message),
        dead_lettered_at=str(headers.get(DEAD_LETTERED_AT_HEADER, "")),
        body_preview=message.body[:120].decode("utf-8", "replace"),
    )


async def _refused_paths(db: Executor, job: ImageJob) -> PathsRefused | None:
    """Why the worker would refuse ``job`` for its paths now, or None."""
    record = await images.get(db, job.image_id)
    if record is None:
        return None
    try:
        await job_paths(db, job, record)
    except PathsRefused as refused:
        return refused
    return None


async def _take_all(channel: aio_pika.abc.AbstractChannel) -> list[AbstractIncomingMessage]:
    queue = await declare_dead_letter_queue(channel)
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < _MAX_MESSAGES:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    return taken


async def list_dead_letters(settings: Settings) -> list[DeadLetter]:
    connection = await broker(settings, client_name="imagequeue-dlq")
    async with connection:
        channel = await connection.channel()
        taken = await _take_all(channel)
        letters = [_describe(message, _decode(message)) for message in taken]
        for message in taken:
            await message.nack(requeue=True)
    return letters


async def replay(settings: Settings, image_ids: set[int] | None) -> dict[str, list[str]]:
    """Replay the dead letters of ``image_ids`` (all when None); what happened to each,
    and under ``missing`` the ids asked for that have no dead letter."""
    report: dict[str, list[str]] = {"replayed": [], "dropped": [], "kept": [], "missing": []}
    found: set[int] = set()
    async with database(settings) as db:
        connection = await broker(settings, client_name="imagequeue-dlq")
        async with connection:
            channel = await connection.channel()
            for message in await _take_all(channel):
                job = _decode(message)
                letter = _describe(message, job)
                if job is None:
                    report["kept"].append(f"undecodable body {letter.body_preview!r}")
                    await message.nack(requeue=True)
                    continue
                if image_ids is not None and job.image_id not in image_ids:
                    await message.nack(requeue=True)
                    continue
                found.add(job.image_id)
                refused = await _refused_paths(db, job)
                if refused is not None:
                    report["kept"].append(f"image {job.image_id}: {refused}")
                    await message.nack(requeue=True)
                    continue
                record = await outbox.requeue_failed(db, job.image_id, job)
                if record is None:
                    # Deleted, or already processed again: the letter has nothing to do.
                    report["dropped"].append(f"image {letter.image_id}: not failed any more")
                else:
                    report["replayed"].append(f"image {letter.image_id}")
                await message.ack()
    missing = sorted((image_ids or set()) - found)
    report["missing"] = [f"image {image_id}" for image_id in missing]
    return report


def run_dlq(settings: Settings, action: str, ids: list[int], *, as_json: bool) -> int:
    """List or replay; the exit code: 1 when an image asked for has no dead letter."""
    if action == "list":
        letters = asyncio.run(list_dead_letters(settings))
        if as_json:
            print(json.dumps([letter.__dict__ for letter in letters], indent=2))
        elif not letters:
            print("the dead-letter queue is empty")
        else:
            for letter in letters:
                print(
                    f"image {letter.image_id or '?':>6}  attempts {letter.attempts}  "
                    f"{letter.dead_lettered_at}  {letter.reason}"
                )
        return 0
    report = asyncio.run(replay(settings, set(ids) if ids else None))
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for outcome, entries in report.items():
            if outcome != "missing":
                for entry in entries:
                    print(f"{outcome}: {entry}")
        for entry in report["missing"]:
            # A mistyped id, or one replayed already: either way, not what was asked for.
            print(f"not in the dead-letter queue: {entry}", file=sys.stderr)
    return 1 if report["missing"] else 0
