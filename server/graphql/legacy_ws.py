"""The legacy ``graphql-ws`` protocol (subscriptions-transport-ws), held to what we give
``graphql-transport-ws``: a time limit for ``connection_init``, and watch-all
subscriptions served from shared payloads (server/graphql/shared_subscriptions.py).

Strawberry gives only ``graphql-transport-ws`` an init timeout (``connection_init_wait_
timeout``), so a legacy socket that never sent ``connection_init`` was held for as long
as its client kept it open; and it executed every legacy watch-all subscription once per
subscriber and event, the cost the shared payloads remove for the other protocol.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing, suppress
from typing import cast

from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    DataMessage,
)

from infra.metrics import WEBSOCKETS_REFUSED
from server.graphql.context import Context
from server.graphql.shared_subscriptions import SharedPayloads

log = logging.getLogger(__name__)

INIT_TIMEOUT_CLOSE_CODE = 4408
"""The legacy protocol has no close codes of its own; this is graphql-transport-ws's for
the same event, and what Strawberry closes that protocol's silent sockets with."""


class LegacyGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """``graphql-ws`` with an init timeout and shared watch-all subscriptions."""

    _init_timeout: asyncio.Task[None] | None = None
    _init_timed_out = False

    async def handle(self) -> None:
        # The view has accepted the handshake by now: the wait starts here, as Strawberry
        # starts it for graphql-transport-ws.
        self._init_timeout = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            self._init_timeout.cancel()
            with suppress(asyncio.CancelledError):
                await self._init_timeout

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        self._init_timed_out = True
        WEBSOCKETS_REFUSED.labels("init_timeout").inc()
        # Ends the handler's read loop: its next receive is the disconnect.
        with suppress(WebSocketDisconnect):  # It left on its own meanwhile.
            await self.websocket.close(INIT_TIMEOUT_CLOSE_CODE, "Connection initialisation timeout")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self._init_timed_out:
            return
        if self._init_timeout is not None:
            self._init_timeout.cancel()
        await super().handle_connection_init(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        payloads: SharedPayloads = self.view.shared_payloads  # type: ignore[attr-defined]
        document = await payloads.document_for(query, variables, operation_name, self.context)
        if document is None:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        try:
            async with aclosing(payloads.stream(document, self.context)) as stream:
                async for payload in stream:
                    # Typed for a payload dict; the view's encoder sends this text as is.
                    message = {"type": "data", "id": operation_id, "payload": payload}
                    await self.send_message(cast("DataMessage", message))
        except asyncio.CancelledError:
            # A `stop`, or the socket closing: Strawberry's own operations answer `complete`.
            await self.send_message({"type": "complete", "id": operation_id})
        except Exception:
            # Nothing awaits this task once it has forgotten itself below, so report here.
            log.exception("a shared watch-all subscription failed")
            await self.send_message({"type": "complete", "id": operation_id})
        finally:
            # Frees its place among max_subscriptions_per_connection, as Strawberry's does.
            self.tasks.pop(operation_id, None)
