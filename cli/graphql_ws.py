"""A small client of the graphql-transport-ws protocol, for the CLI and scripts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import connect

PROTOCOL = "graphql-transport-ws"


class SubscriptionError(Exception):
    pass


def websocket_url(http_url: str) -> str:
    """``http://host/graphql`` → ``ws://host/graphql`` (and https → wss)."""
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


async def subscribe(
    url: str, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield each ``data`` payload until the server completes the subscription."""
    async with connect(websocket_url(url), subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "connection_ack":
                break
            if message["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        async for raw in socket:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise SubscriptionError(payload["errors"][0]["message"])
                yield payload["data"]
            elif kind == "error":
                raise SubscriptionError(message["payload"][0]["message"])
            elif kind == "complete":
                return
