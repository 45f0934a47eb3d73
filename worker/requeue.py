"""Where a job goes when it is not done: a retry queue (later) or the dead-letter queue (never)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from infra.broker.topology import (
    DEAD_LETTER_QUEUE,
    declare_dead_letter_queue,
    declare_retry_queue,
    persistent_json,
    retry_queue_name,
)
from worker.retries import ATTEMPT_HEADER

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
        queue = retry_queue_name(attempts)
        if queue not in self._declared:
            await declare_retry_queue(self._channel, attempts)
            self._declared.add(queue)
        headers = {**_headers(message), ATTEMPT_HEADER: attempts}
        await self._channel.default_exchange.publish(
            persistent_json(message.body, headers=headers, expiration_s=delay_s),
            routing_key=queue,
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
    value = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    return value if isinstance(value, int) else 0
