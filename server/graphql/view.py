"""The Strawberry ASGI view, given our context and shared watch-all subscriptions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from server.graphql.context import Context, build_context
from server.graphql.shared_subscriptions import (
    EncodedPayload,
    SharedPayloads,
    SharedSubscriptionsHandler,
)
from server.resources import resources_of


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SharedSubscriptionsHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_payloads = SharedPayloads(self.schema)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return build_context(request, resources_of(request.app))

    def encode_json(self, data: object) -> str | bytes:
        if isinstance(data, dict) and isinstance(payload := data.get("payload"), EncodedPayload):
            # One payload text goes to many sockets; only the envelope is encoded here.
            envelope = super().encode_json({k: v for k, v in data.items() if k != "payload"})
            assert isinstance(envelope, str)
            return f'{envelope[:-1]},"payload":{payload}}}'
        return super().encode_json(data)
