"""Where a job goes when it is not done: a retry queue (later) or the dead-letter queue (never)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from infra.broker.topology import (
    DEAD_LETTER_QUEUE,
    SET_ASIDE_QUEUE,
    declare_dead_letter_queue,
    declare_delay_queue,
    persistent_json,
    retry_queue_name,
)
from worker.retries import ATTEMPT_HEADER, DATABASE_WAITS_HEADER

DEAD_LETTER_REASON_HEADER = "x-imagequeue-dead-letter-reason"
DEAD_LETTERED_AT_HEADER = "x-imagequeue-dead-lettered-at"


class JobRequeuer:
    """Publishes copies of a delivery (with a confirm) before the caller acks the original."""

    def __init__(self, channel: AbstractChannel) -> None:
        self._channel = channel
        self._declared: set[str] = set()

    async def declare(self) -> None:
        await declare_dead_letter_queue(self._channel)

    async def retry_later(
        self, message: AbstractIncomingMessage, *, attempts: int, delay_s: float
    ) -> None:
        """Back on the job queue after ``delay_s``, with ``attempts`` made so far."""
        headers = {**_headers(message), ATTEMPT_HEADER: attempts}
        # This delivery reached the database: a later outage is waited for from the start.
        headers.pop(DATABASE_WAITS_HEADER, None)
        await self._publish_delayed(message.body, headers, retry_queue_name(attempts), delay_s)

    async def set_aside(self, message: AbstractIncomingMessage, *, delay_s: float) -> None:
        """Back on the job queue after ``delay_s``, as it is: another delivery holds its image."""
        headers = _headers(message)
        headers.pop(DATABASE_WAITS_HEADER, None)
        await self._publish_delayed(message.body, headers, SET_ASIDE_QUEUE, delay_s)

    async def wait_for_outage(
        self, message: AbstractIncomingMessage, *, waits: int, wait_attempt: int, delay_s: float
    ) -> None:
        """Back on the job queue after ``delay_s``, its attempts unchanged (the database or
        the storage was away).

        ``delay_s`` must be attempt ``wait_attempt``'s backoff: it waits in that queue.
        """
        headers = {**_headers(message), DATABASE_WAITS_HEADER: waits}
        await self._publish_delayed(message.body, headers, retry_queue_name(wait_attempt), delay_s)

    async def _publish_delayed(
        self, body: bytes, headers: dict[str, Any], queue: str, delay_s: float
    ) -> None:
        if queue not in self._declared:
            await declare_delay_queue(self._channel, queue)
            self._declared.add(queue)
        await self._channel.default_exchange.publish(
            persistent_json(body, headers=headers, expiration_s=delay_s), routing_key=queue
        )

    async def dead_letter(
        self, message: AbstractIncomingMessage, *, reason: str, attempts: int | None = None
    ) -> None:
        headers: dict[str, Any] = {
            **_headers(message),
            DEAD_LETTER_REASON_HEADER: reason[:1000],
            DEAD_LETTERED_AT_HEADER: datetime.now(UTC).isoformat(),
        }
        if attempts is not None:
            headers[ATTEMPT_HEADER] = attempts
        await self._channel.default_exchange.publish(
            persistent_json(message.body, headers=headers), routing_key=DEAD_LETTER_QUEUE
        )


def _headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    # x-death is the broker's record of the retry queue's dead-lettering; it is not ours
    # to carry forward, and it grows with every hop.
    return {k: v for k, v in (message.headers or {}).items() if k != "x-death"}


def attempts_made(message: AbstractIncomingMessage) -> int:
    return _count(message, ATTEMPT_HEADER)


def database_waits(message: AbstractIncomingMessage) -> int:
    return _count(message, DATABASE_WAITS_HEADER)


def _count(message: AbstractIncomingMessage, header: str) -> int:
    value = (message.headers or {}).get(header, 0)
    return value if isinstance(value, int) else 0
