"""Refuses a document of several operations that does not name the one to run.

The GraphQL spec (GetOperation) makes that a request error. Strawberry runs the first
operation instead, so ``query A { … } mutation B { … }`` sent without ``operationName``
answered A, and the client could not tell that B never ran.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from server.graphql.errors import OPERATION_RESOLUTION_FAILURE

OPERATION_NAME_REQUIRED = "operationName is required when the document has more than one operation"


class RequireOperationName(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        # The name the client sent: the public `operation_name` falls back to the first
        # operation's, which is the very guess this refuses.
        sent_name = context._provided_operation_name
        document = context.graphql_document
        if sent_name is None and document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                # Raised before execution starts, so no operation of the document runs.
                raise GraphQLError(
                    OPERATION_NAME_REQUIRED,
                    extensions={"code": OPERATION_RESOLUTION_FAILURE},
                )
        yield
