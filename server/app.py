"""The ASGI application: routes, middleware and the lifespan that opens the resources."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from infra.allowed_hosts import default_allowed_hosts
from infra.heap import freeze_startup_heap
from infra.settings import Settings
from server.body_limit import BodyLimitMiddleware
from server.csrf import CSRFPreventionMiddleware
from server.graphql.schema import QueryLimits, build_schema
from server.graphql.view import GraphQLView
from server.health import healthz, readyz
from server.metrics import metrics_endpoint
from server.origins import cors_middleware
from server.resources import open_resources
from server.rest.routes import api_routes, service_unavailable
from server.service import ServiceUnavailable
from server.trusted_hosts import TrustedHostRefusalMiddleware
from server.web import web_routes
from server.websocket_limits import WebSocketLimitMiddleware


def create_app(settings: Settings) -> Starlette:
    """The app for ``settings``, whose ``host`` is the address it will be bound to."""
    schema = build_schema(
        QueryLimits(
            max_depth=settings.graphql_max_depth,
            max_tokens=settings.graphql_max_tokens,
            max_aliases=settings.graphql_max_aliases,
        )
    )
    view = GraphQLView(
        schema,
        max_query_tokens=settings.graphql_max_tokens,
        multipart_uploads_enabled=True,
        # graphql-ws gets "ka" messages; both protocols also get WebSocket ping frames
        # from uvicorn, and graphql-transport-ws clients' pings are answered.
        keep_alive=True,
        keep_alive_interval=settings.ws_keepalive_interval_s,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        # Both protocols: Strawberry gives it to graphql-transport-ws, our handler to graphql-ws.
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
        allowed_origins=settings.allowed_origins,
    )
    graphql = CSRFPreventionMiddleware(view)
    graphql_websockets = WebSocketLimitMiddleware(
        graphql,
        max_per_process=settings.max_websockets_per_process,
        max_per_address=settings.max_websockets_per_address,
        subprotocols=view.websocket_subprotocols,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            freeze_startup_heap()
            yield

    allowed_hosts = settings.allowed_hosts or default_allowed_hosts(
        bind_host=settings.host, public_url=settings.public_url
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_websockets),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            # Every /api path, unknown ones included, so the web app never answers for them.
            *api_routes(max_upload_bytes=settings.max_upload_bytes),
            # Last: the web app's mount at "/" would otherwise shadow the API.
            *web_routes(settings.web_dir),
        ],
        middleware=[
            # First: a request for another host (DNS rebinding) reaches nothing else.
            Middleware(TrustedHostRefusalMiddleware, allowed_hosts=allowed_hosts),
            # Before the body limit: a preflight carries no body and must get its answer.
            *cors_middleware(settings.allowed_origins),
            Middleware(
                BodyLimitMiddleware,
                max_files=settings.max_files_per_request,
                max_file_bytes=settings.max_upload_bytes,
            ),
        ],
        exception_handlers={ServiceUnavailable: service_unavailable},
        lifespan=lifespan,
    )
