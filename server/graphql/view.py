"""The Strawberry ASGI view, given our context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from server.graphql.context import Context, build_context
from server.resources import resources_of


class GraphQLView(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        resources = resources_of(request.app)
        settings = resources.settings
        return build_context(
            request,
            resources.service,
            settings.public_url,
            expose_gps_coordinates=settings.expose_gps_coordinates,
        )
