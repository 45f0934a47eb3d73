"""Assembles the schema from its parts, with the safety extensions on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from server.graphql.errors import should_mask_error
from server.graphql.mutations import Mutation
from server.graphql.queries import Query
from server.graphql.rejected_uploads import RejectedUploadsExtension
from server.graphql.subscriptions import Subscription


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15


def build_schema(limits: QueryLimits = QueryLimits()) -> strawberry.Schema:
    # The depth and alias limiters make a new validation rule class per instance, and
    # the rule classes are part of ValidationCache's key: built per operation, they made
    # every lookup a miss (~11 % of an upload's CPU). Built once, the key is stable.
    limit_rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Factories, not instances: an extension keeps per-operation state.
        extensions=[
            # Clients send the same few documents over and over (every upload is the same
            # mutation): parsing and validating each again was ~12 % of an upload's CPU.
            # Bounded LRU caches, so arbitrary query texts cannot grow them.
            ParserCache,
            ValidationCache,
            partial(AddValidationRules, limit_rules),
            partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
            RejectedUploadsExtension,
            partial(MaskErrors, should_mask_error=should_mask_error),
        ],
    )


schema = build_schema()
"""With default limits; ``strawberry export-schema server.graphql.schema:schema`` reads it."""
