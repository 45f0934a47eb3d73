"""The legacy graphql-ws protocol gets what graphql-transport-ws has: an init timeout, and
watch-all subscriptions served from shared payloads."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from infra.broker.messages import ImageEvent
from server.events.hub import EventHub
from server.graphql.context import Context, Urls
from server.graphql.legacy_ws import LegacyGraphQLWSHandler
from server.graphql.schema import schema
from server.graphql.shared_subscriptions import EncodedPayload, SharedPayloads
from tests.processes import Launcher
from tests.scraping import scrape, value, wait_for
from tests.ws import LEGACY_WS, TRANSPORT_WS

INIT_TIMEOUT_S = 1.0


def _socket(base_url: str, protocol: str) -> ClientConnection:
    url = base_url.replace("http://", "ws://") + "/graphql"
    return connect(url, subprotocols=[protocol], open_timeout=10)  # type: ignore[list-item]


def _close_code(socket: ClientConnection) -> int:
    """Wait, sending nothing, until the server closes ``socket``; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = json.loads(socket.recv(timeout=INIT_TIMEOUT_S + 10))
            assert message["type"] == "ka", message
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


def test_a_socket_that_never_initialises_is_closed_on_either_protocol(stack: Launcher) -> None:
    server, base_url = stack.start_server({"WS_CONNECTION_INIT_TIMEOUT_S": str(INIT_TIMEOUT_S)})
    try:
        # Given a legacy client that initialises and sockets of both protocols that never do
        talker = _socket(base_url, LEGACY_WS)
        talker.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(talker.recv(timeout=10))["type"] == "connection_ack"
        opened_s = time.monotonic()
        silent = {protocol: _socket(base_url, protocol) for protocol in (LEGACY_WS, TRANSPORT_WS)}

        # Then each silent one is closed with 4408, once the timeout has passed
        for protocol, socket in silent.items():
            assert _close_code(socket) == 4408, protocol
        after_s = time.monotonic() - opened_s
        assert INIT_TIMEOUT_S * 0.9 <= after_s <= INIT_TIMEOUT_S + 5, after_s
        # And counted for operators, and no longer held
        samples = scrape(base_url)
        assert value(samples, "imagequeue_websockets_refused_total", reason="init_timeout") == 2
        wait_for(
            lambda: value(scrape(base_url), "imagequeue_websockets_open") == 1,
            "only the initialised socket left open",
        )

        # And the client that initialised in time is still served after the timeout
        talker.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {"query": "subscription { imageUpdates { nope } }"},
                }
            )
        )
        answer = json.loads(talker.recv(timeout=10))
        while answer["type"] == "ka":
            answer = json.loads(talker.recv(timeout=10))
        assert answer["type"] == "error" and "nope" in answer["payload"]["message"], answer
        talker.close()
        # And so is HTTP
        assert httpx.get(f"{base_url}/healthz").status_code == 200
    finally:
        server.stop()


# --- shared watch-all subscriptions, without a server --------------------------------------


class _RecordingSocket:
    """What a handler sends, in order, as the dicts it hands to the socket."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, object]] = []

    async def send_json(self, message: Mapping[str, object]) -> None:
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"closed: {code} {reason}")


async def _until(condition: Any, what: str) -> None:
    """Let the handlers' tasks run until ``condition()``, for up to 10 s."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def test_legacy_watch_all_subscribers_send_one_shared_payload() -> None:
    # Given two legacy connections, each with the same watch-all subscription
    hub = EventHub()
    view = SimpleNamespace(
        shared_payloads=SharedPayloads(schema, max_document_tokens=2000),
        connection_init_wait_timeout=timedelta(minutes=1),
    )
    context = cast("Context", SimpleNamespace(hub=hub, urls=Urls("http://x")))
    sockets = [_RecordingSocket(), _RecordingSocket()]
    handlers = [
        LegacyGraphQLWSHandler(
            view,  # type: ignore[arg-type]
            socket,  # type: ignore[arg-type]
            context,
            None,
            schema,
            keep_alive=False,
            keep_alive_interval=None,
            max_subscriptions_per_connection=100,
        )
        for socket in sockets
    ]
    start: StartMessage = {
        "type": "start",
        "id": "1",
        "payload": {"query": "subscription { imageUpdates { id status } }"},
    }
    for handler in handlers:
        handler.connection_acknowledged = True
        await handler.handle_start(start)
    await _until(lambda: hub.subscriber_count == 2, "both subscribed")

    # When an event arrives
    hub.publish(ImageEvent(7, "processing", 0.5, "decoded"))
    await _until(lambda: all(socket.sent for socket in sockets), "a message for each")

    # Then both send the very same payload text, executed once for both
    first, second = (socket.sent[0] for socket in sockets)
    assert first["type"] == second["type"] == "data"
    assert isinstance(first["payload"], EncodedPayload)
    assert first["payload"] is second["payload"]
    assert json.loads(first["payload"]) == {
        "data": {"imageUpdates": {"id": "7", "status": "PROCESSING"}}
    }

    # And a `stop` completes the subscription and leaves the hub, as Strawberry's do
    await handlers[0].handle_stop({"type": "stop", "id": "1"})
    assert sockets[0].sent[-1] == {"type": "complete", "id": "1"}
    assert hub.subscriber_count == 1 and not handlers[0].tasks
    await handlers[1].cleanup()
    assert hub.subscriber_count == 0
