"""Opening the broker connection: robust, so it reconnects by itself after a broker restart."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from infra.settings import Settings


async def connect(settings: Settings, *, client_name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        settings.amqp_url.get_secret_value(),
        client_properties={"connection_name": client_name},
    )
