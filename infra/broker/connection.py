"""Opening the broker connection: robust, so it reconnects by itself after a broker restart."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from infra.settings import Settings


async def connect(settings: Settings, *, client_name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        settings.amqp_url.get_secret_value(),
        # Without a timeout, a handshake with a broker that is still booting can hang
        # the reconnect loop for good.
        timeout=settings.amqp_connect_timeout_s,
        client_properties={"connection_name": client_name},
        reconnect_interval=settings.amqp_reconnect_interval_s,
    )
