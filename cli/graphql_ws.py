"""A small client of the graphql-transport-ws protocol, for the CLI and scripts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from cli.remote import describe

PROTOCOL = "graphql-transport-ws"


class SubscriptionError(Exception):
    """The server refused or failed the subscription: asking again would get the same."""


class ConnectionLost(Exception):
    """No connection, or it closed before the subscription completed: worth another try."""


def websocket_url(http_url: str) -> str:
    """``http://host/graphql`` → ``ws://host/graphql`` (and https → wss)."""
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


def _nothing() -> None:
    pass


async def subscribe(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    on_connected: Callable[[], None] = _nothing,
) -> AsyncIterator[dict[str, Any]]:
    """Yield each ``data`` payload until the server completes the subscription.

    ``on_connected`` runs once the server has acknowledged the connection. Raises
    ConnectionLost when the socket cannot be opened or closes without a ``complete``,
    SubscriptionError when the server answers with an error.
    """
    try:
        async with connect(websocket_url(url), subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
            await _initialise(socket)
            on_connected()
            await _send(
                socket,
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                },
            )
            async for raw in socket:
                message = _decode(raw)
                kind = message.get("type")
                if kind == "ping":
                    await _send(socket, {"type": "pong"})
                elif kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        raise SubscriptionError(payload["errors"][0]["message"])
                    yield payload["data"]
                elif kind == "error":
                    raise SubscriptionError(message["payload"][0]["message"])
                elif kind == "complete":
                    return
    except InvalidStatus as exc:
        # A 4xx is the server (or a proxy) saying no; a 5xx may be a restart behind a proxy.
        if 400 <= exc.response.status_code < 500:
            raise SubscriptionError(str(exc)) from exc
        raise ConnectionLost(describe(exc)) from exc
    except ConnectionClosed as exc:
        # 4400-4499 are graphql-transport-ws protocol errors: the same request fails again.
        if exc.rcvd is not None and 4400 <= exc.rcvd.code < 4500:
            raise SubscriptionError(f"the server closed the subscription: {exc.rcvd}") from exc
        # "closed by the server: 1012 (service restart)" says what happened; a reset does not
        # come with a close frame, and says so itself.
        reason = describe(exc) if exc.rcvd is None else f"closed by the server: {exc.rcvd}"
        raise ConnectionLost(reason) from exc
    except (OSError, WebSocketException) as exc:
        raise ConnectionLost(describe(exc)) from exc
    # Iterating a socket ends quietly on a normal close (1000, 1001), still without `complete`.
    raise ConnectionLost("the server closed the connection before the subscription completed")


async def _initialise(socket: ClientConnection) -> None:
    await _send(socket, {"type": "connection_init", "payload": {}})
    while True:
        message = _decode(await socket.recv())
        if message.get("type") == "connection_ack":
            return
        if message.get("type") == "ping":
            await _send(socket, {"type": "pong"})


async def _send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


def _decode(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise SubscriptionError(f"not a graphql-transport-ws message: {raw[:120]!r}")
    return message
