"""Assembles the schema from its parts, with the safety extensions on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.types import ExecutionContext

from server.graphql.errors import (
    MaskUnexpectedErrors,
    ValidationErrorCodes,
    add_code,
    should_mask_error,
)
from server.graphql.fragment_expansion import CheckedValidationCache, FragmentExpansionLimiter
from server.graphql.mutations import Mutation
from server.graphql.operation_name import RequireOperationName
from server.graphql.queries import Query
from server.graphql.rejected_uploads import RejectedUploadsExtension
from server.graphql.subscriptions import Subscription

log = logging.getLogger(__name__)


class AnsweredParserCache(ParserCache):
    """``ParserCache`` whose parse errors are answered on WebSocket too.

    Strawberry's cache parses in its ``on_parse`` hook, outside the parse step's error handling:
    ``Schema.execute`` (HTTP) catches what escapes, but ``Schema.stream`` (both WebSocket
    protocols) let a syntax error or the token limit's error out of the stream, so the
    client got a bare ``complete`` (graphql-transport-ws) or nothing (graphql-ws), and the
    log a traceback. A document that fails to parse is left unparsed here: Strawberry's
    own parse step, run next, fails on it again and answers the error as any transport
    does. Only failing documents are parsed twice, and the token limit bounds that.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with suppress(Exception):  # Strawberry's parse step, next, answers it.
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its ``extensions.code``; log bugs with their traceback, the
        client's own mistakes only at debug level.

        Strawberry calls this for every error of every transport, before masking
        (``MaskUnexpectedErrors`` gives a masked one its code again).

        Strawberry logs every error at ERROR with a traceback, so a malformed query or an
        upload that is not an image looked like an incident. Errors a client reads as they
        are (``should_mask_error``) are answered, not logged; services log their failures
        where they happen, with the cause.
        """
        for error in errors:
            add_code(error)
            if should_mask_error(error):
                log.error(
                    "unexpected error in a GraphQL operation: %s",
                    error.message,
                    exc_info=error.original_error,
                    extra={"path": error.path},
                )
            else:
                log.debug("GraphQL error for the client: %s", error.message)


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15


def build_schema(limits: QueryLimits = QueryLimits()) -> Schema:
    # The depth and alias limiters make a new validation rule class per instance, and
    # the rule classes are part of ValidationCache's key: built per operation, they made
    # every lookup a miss (~11 % of an upload's CPU). Built once, the key is stable.
    limit_rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Factories, not instances: an extension keeps per-operation state.
        extensions=[
            # Its validation hook only reads, after every other one: their errors are in.
            ValidationErrorCodes,
            # First of the validation hooks that work: the depth and alias limiters' work doubles
            # with each fragment that spreads the next one twice (fragment_expansion.py).
            FragmentExpansionLimiter,
            # Clients send the same few documents over and over (every upload is the same
            # mutation): parsing and validating each again was ~12 % of an upload's CPU.
            # Bounded LRU caches, so arbitrary query texts cannot grow them.
            AnsweredParserCache,
            CheckedValidationCache,
            partial(AddValidationRules, limit_rules),
            partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
            RequireOperationName,
            RejectedUploadsExtension,
            partial(MaskUnexpectedErrors, should_mask_error=should_mask_error),
        ],
    )


schema = build_schema()
"""With default limits; ``strawberry export-schema server.graphql.schema:schema`` reads it."""
