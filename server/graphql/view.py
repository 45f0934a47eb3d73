"""The Strawberry ASGI view, given our context and shared watch-all subscriptions."""

from __future__ import annotations

from typing import Any

from cross_web import FormData, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from infra.storage import StorageError
from server.graphql.context import Context, build_context
from server.graphql.shared_subscriptions import (
    EncodedPayload,
    SharedPayloads,
    SharedSubscriptionsHandler,
)
from server.resources import resources_of
from server.service import STORAGE_UNAVAILABLE
from server.upload_form import InvalidForm, read_form


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
    request_adapter_class = _StagingRequestAdapter

    def __init__(self, schema: BaseSchema, *, max_query_tokens: int, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.shared_payloads = SharedPayloads(schema, max_document_tokens=max_query_tokens)

    async def run(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(request, *args, **kwargs)
        finally:
            if form := getattr(request.state, "staged_form", None):
                await form.close()

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
