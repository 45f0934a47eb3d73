"""The Strawberry ASGI view, given our context, our protocol handlers and shared watch-all
subscriptions."""

from __future__ import annotations

from typing import Any

from cross_web import AsyncHTTPRequestAdapter, FormData, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from infra.storage import StorageError
from server.graphql.context import Context, build_context
from server.graphql.legacy_ws import LegacyGraphQLWSHandler
from server.graphql.shared_subscriptions import (
    EncodedPayload,
    SharedPayloads,
    SharedSubscriptionsHandler,
)
from server.resources import resources_of
from server.service import STORAGE_UNAVAILABLE
from server.upload_form import InvalidForm, read_form

SUBSCRIPTIONS_NEED_A_WEBSOCKET = "subscriptions need a WebSocket (graphql-transport-ws) at /graphql"
NOT_A_GRAPHQL_REQUEST = (
    "the request must be a JSON object with a `query`; for an upload, the form's `operations` "
    "must be one and its `map` a JSON object of lists of paths"
)


class _StagingRequestAdapter(StarletteRequestAdapter):
    """Multipart uploads go straight into storage (server/upload_form.py)."""

    async def get_form_data(self) -> FormData:
        request = self._request
        resources = resources_of(request.app)
        try:
            form = await read_form(
                request,
                resources.storage.staging_file,
                max_files=resources.service.max_files_per_request,
                max_file_bytes=resources.service.max_upload_bytes,
            )
        except InvalidForm as exc:
            # Strawberry would answer any ValueError with a bare "Unable to parse".
            raise HTTPException(400, f"invalid multipart form: {exc}") from exc
        except StorageError as exc:
            raise HTTPException(503, STORAGE_UNAVAILABLE) from exc
        # Closed by GraphQLView.run once the response exists: a staged file is removed on
        # close unless it was adopted, and waiting for garbage collection would leave it.
        request.state.staged_form = form
        return FormData(files=form, form=form)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SharedSubscriptionsHandler
    graphql_ws_handler_class = LegacyGraphQLWSHandler
    request_adapter_class = _StagingRequestAdapter

    def __init__(self, schema: BaseSchema, *, max_query_tokens: int, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.shared_payloads = SharedPayloads(schema, max_document_tokens=max_query_tokens)

    async def run(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(request, *args, **kwargs)
        except HTTPException as refusal:
            # Strawberry answers a request it cannot run in plain text; clients read every
            # other answer of /graphql (the CSRF check, the body cap) as GraphQL JSON.
            return JSONResponse(
                {"errors": [{"message": refusal.reason}]}, status_code=refusal.status_code
            )
        finally:
            if form := getattr(request.state, "staged_form", None):
                await form.close()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        try:
            return await super().parse_http_body(request)
        except (AttributeError, TypeError) as exc:
            # Strawberry reads the JSON it parsed as an object: a body of `null`, `5` or a
            # string (or a form whose `operations` or `map` is one) failed as a 500.
            raise HTTPException(400, NOT_A_GRAPHQL_REQUEST) from exc

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's (0.341), except that a subscription is refused.

        Strawberry allows subscriptions on GET and POST for its streaming HTTP transports,
        which this view does not offer: executed as a query, a subscription's root field
        failed as a bug, logged with a traceback, and the client read "Unexpected error.".
        Strawberry has no hook for the allowed operation types, hence the copy.
        """
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed -= {OperationType.QUERY}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, SUBSCRIPTIONS_NEED_A_WEBSOCKET) from exc
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from exc
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

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
