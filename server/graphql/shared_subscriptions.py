"""Watch-all subscriptions: the GraphQL work done once per event, not once per subscriber.

Most subscribers of a busy server are dashboards sending the same document: every image's
events, no ``ids``. Strawberry executes a subscription's document for each subscriber and
each event; at 1,000 subscribers that was 88 % of the server's CPU and put p99 delivery
at 1.6 s (docs/benchmarks.md). Here a subscription, on either protocol, whose only root
field is ``imageUpdates`` with ``ids`` absent or null keeps its own hub subscriber (so
buffering and the slow-reader policy are unchanged), but its payload is executed and
encoded once per event for each distinct document, variables and base URL, and every
socket sends that same text. Any other operation goes through Strawberry as before. The
``graphql-transport-ws`` handler is here; the legacy ``graphql-ws`` one is in
server/graphql/legacy_ws.py.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast

from graphql import (
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    VariableNode,
    parse,
)
from graphql import OperationType as DocumentOperationType
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import NextMessage
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from infra.broker.messages import ImageEvent
from infra.db.images import ImageRecord
from infra.metrics import WEBSOCKETS_REFUSED
from server.graphql.context import Context
from server.graphql.subscriptions import watch_all
from server.graphql.types import ImageUpdate

K = TypeVar("K")
V = TypeVar("V")


class EncodedPayload(str):
    """A ``next`` payload already encoded as JSON, to be sent as it is."""


@dataclass(frozen=True, slots=True)
class SharedDocument:
    """What decides a watch-all payload besides the event; equal ones share payloads."""

    query: str
    operation_name: str | None
    variables_json: str
    base_url: str


def shared_document(
    query: str,
    variables: dict[str, object] | None,
    operation_name: str | None,
    *,
    base_url: str,
    max_tokens: int,
) -> SharedDocument | None:
    """The document's sharing key if it watches all images, else None.

    A document over ``max_tokens`` (the schema's token limit) is left to Strawberry,
    whose limit then answers it. So is a message whose fields have the wrong JSON types:
    they reach here unchecked, and Strawberry answers them with an error.
    """
    if (
        not isinstance(query, str)
        or not isinstance(operation_name, str | None)
        or not isinstance(variables, dict | None)
    ):
        return None
    shape = _watch_all_shape(query, operation_name, max_tokens)
    if shape is None:
        return None
    variables = variables or {}
    if shape.ids_variable is not None:
        # `imageUpdates(ids: $ids)` watches all images only when $ids ends up null.
        if variables.get(shape.ids_variable) is not None:
            return None
        if shape.ids_variable not in variables and shape.ids_default_is_set:
            return None
    try:
        variables_json = json.dumps(variables, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return SharedDocument(query, operation_name, variables_json, base_url)


@dataclass(frozen=True, slots=True)
class _WatchAllShape:
    ids_variable: str | None
    """The variable given as `ids`, if any; without one, `ids` is absent or null."""
    ids_default_is_set: bool


@lru_cache(maxsize=256)
def _watch_all_shape(
    query: str, operation_name: str | None, max_tokens: int
) -> _WatchAllShape | None:
    """How a one-field `imageUpdates` subscription passes `ids`; None for anything else."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (operation_name is None or _name_of(definition) == operation_name)
    ]
    if len(operations) != 1:
        return None
    operation = operations[0]
    if operation.operation is not DocumentOperationType.SUBSCRIPTION or operation.directives:
        return None
    (field, *others) = operation.selection_set.selections
    if (
        others
        or not isinstance(field, FieldNode)
        or field.name.value != "imageUpdates"
        or field.directives
    ):
        return None
    arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
    ids = arguments.pop("ids", NullValueNode())
    if arguments:
        return None
    if isinstance(ids, NullValueNode):
        return _WatchAllShape(ids_variable=None, ids_default_is_set=False)
    if isinstance(ids, VariableNode):
        name = ids.name.value
        default = next(
            (
                definition.default_value
                for definition in operation.variable_definitions or ()
                if definition.variable.name.value == name
            ),
            None,
        )
        is_set = default is not None and not isinstance(default, NullValueNode)
        return _WatchAllShape(ids_variable=name, ids_default_is_set=is_set)
    return None


def _name_of(operation: OperationDefinitionNode) -> str | None:
    return operation.name.value if operation.name else None


_PROBE_UPDATE = ImageUpdate.from_event(ImageEvent(0, "pending", 0.0, "queued"))


class SharedPayloads:
    """Encoded ``next`` payloads of recent events, one per shared document and event.

    Subscribers woken by the same event ask at the same moment: the first starts the
    execution, the others await the same task. Bounded, oldest forgotten first.
    """

    def __init__(
        self, schema: BaseSchema, *, max_document_tokens: int, max_entries: int = 1024
    ) -> None:
        self._schema = schema
        self.max_document_tokens = max_document_tokens
        self._max_entries = max_entries
        self._payloads: OrderedDict[
            tuple[SharedDocument, ImageEvent], asyncio.Task[EncodedPayload]
        ] = OrderedDict()
        self._valid: OrderedDict[SharedDocument, bool] = OrderedDict()

    async def document_for(
        self,
        query: str,
        variables: dict[str, object] | None,
        operation_name: str | None,
        context: Context,
    ) -> SharedDocument | None:
        """The sharing key of a valid watch-all operation; None leaves it to Strawberry."""
        document = shared_document(
            query,
            variables,
            operation_name,
            base_url=context.urls.base,
            max_tokens=self.max_document_tokens,
        )
        if document is None or not await self.is_valid(document, context):
            return None
        return document

    async def stream(
        self, document: SharedDocument, context: Context
    ) -> AsyncGenerator[EncodedPayload, None]:
        """The document's payload for each event: the subscription, with shared payloads."""
        async with aclosing(watch_all(context)) as updates:
            async for event, record in updates:
                yield await self.payload(document, event, record, context)

    async def is_valid(self, document: SharedDocument, context: Context) -> bool:
        """Whether the document passes parsing, validation and the query limits.

        Executed once per document against a placeholder update: no data means a
        pre-execution error (syntax, validation, a limit, variables). Such a document
        goes through Strawberry, which reports the errors the usual way.
        """
        valid = self._valid.get(document)
        if valid is None:
            result = await self._execute(document, _PROBE_UPDATE, context)
            valid = result.data is not None
            _remember(self._valid, document, valid, self._max_entries)
        return valid

    async def payload(
        self,
        document: SharedDocument,
        event: ImageEvent,
        record: ImageRecord | None,
        context: Context,
    ) -> EncodedPayload:
        key = (document, event)
        task = self._payloads.get(key)
        if task is None:
            update = ImageUpdate.from_event(event, record)
            task = asyncio.ensure_future(self._encode(document, update, context))
            _remember(self._payloads, key, task, self._max_entries)
        if task.done():
            return task.result()
        # Shielded: one subscriber leaving must not cancel the others' payload.
        return await asyncio.shield(task)

    async def _encode(
        self, document: SharedDocument, update: ImageUpdate, context: Context
    ) -> EncodedPayload:
        result = await self._execute(document, update, context)
        # The shape Strawberry's own `next` message has.
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        return EncodedPayload(json.dumps(payload, separators=(",", ":")))

    async def _execute(
        self, document: SharedDocument, update: ImageUpdate, context: Context
    ) -> ExecutionResult:
        # A subscription's root field resolves to the event it is given: executing the
        # document with the update as root value is exactly one step of the stream.
        return await self._schema.execute(
            document.query,
            variable_values=json.loads(document.variables_json),
            context_value=context,
            root_value=update,
            operation_name=document.operation_name,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )


def _remember(entries: OrderedDict[K, V], key: K, value: V, max_entries: int) -> None:
    entries[key] = value
    if len(entries) > max_entries:
        entries.popitem(last=False)


class SharedSubscriptionsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """``graphql-transport-ws`` with watch-all subscriptions served from shared payloads."""

    async def handle_connection_init_timeout(self) -> None:
        await super().handle_connection_init_timeout()
        if self.connection_timed_out:
            WEBSOCKETS_REFUSED.labels("init_timeout").inc()

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        """Never: a document's error ends its operation, not the connection.

        Strawberry closes the socket (4400) when a document does not parse or names no
        operation it has, which ends every other subscription on it too, and graphql-ws
        clients (the web app) give up on a 4400 for good. Such a document is answered
        like a validation error, with that operation's ``error`` message.
        """
        return None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        payloads: SharedPayloads = self.view.shared_payloads  # type: ignore[attr-defined]
        document = await payloads.document_for(
            operation.query, operation.variables, operation.operation_name, self.context
        )
        if document is None:
            await super().run_operation(operation)
            return
        try:
            async with aclosing(payloads.stream(document, self.context)) as stream:
                async for payload in stream:
                    # Typed for a payload dict; the view's encoder sends this text as is.
                    message = {"id": operation.id, "type": "next", "payload": payload}
                    await operation.send_operation_message(cast("NextMessage", message))
        except Exception as error:
            # As Strawberry does for its own operations: report, complete, forget.
            await self.handle_task_exception(error)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
