"""Refuses a document whose fragment spreads expand to more selections than any query needs.

Strawberry's depth and alias limiters walk a fragment again at every spread, with no
memory of what they found: ``fragment F1 on Query { ...F2 ...F2 }``, F2 the same over F3,
and so on, doubles their work with each fragment. 23 such fragments (909 bytes, far
under the token limit) held the event loop for 23 s, and a cycle of fragments that all
spread each other makes it factorial. This check runs before validation, counts each
fragment's expansion once, and refuses such a document before the limiters see it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension, ValidationCache

MAX_EXPANDED_SELECTIONS = 5000
"""Selections (fields, fragment spreads, inline fragments) of a document with every
fragment spread replaced by its fragment. The web app's largest document (ImageDetail)
has 38, the CLI's fewer than 10 and graphql-core's full introspection query 239: this is
twenty times the largest, and walking it costs the limiters a few milliseconds."""

TOO_LARGE = (
    f"the query expands to more than {MAX_EXPANDED_SELECTIONS} selections through its fragments"
)


class _FragmentCycle(Exception):
    def __init__(self, fragment_name: str) -> None:
        super().__init__(f"Cannot spread fragment '{fragment_name}' within itself.")


def expansion_error(document: DocumentNode) -> GraphQLError | None:
    """Why the document expands too far, or None; linear in the document's size."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counter = _ExpansionCounter(fragments)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    try:
        # The limiters walk every operation, so their work is the sum.
        total = sum(counter.count(operation.selection_set) for operation in operations)
    except _FragmentCycle as cycle:
        # The limiters stop a cycle only where a path meets a fragment twice: every path
        # through it gets walked. The validation rule's own message, refused here.
        return GraphQLError(str(cycle))
    except RecursionError:
        # Nesting this deep is far past any depth limit: refuse it like an expansion.
        return GraphQLError(TOO_LARGE)
    return GraphQLError(TOO_LARGE) if total > MAX_EXPANDED_SELECTIONS else None


class _ExpansionCounter:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._fragment_sizes: dict[str, int] = {}
        self._in_progress: set[str] = set()

    def count(self, selection_set: SelectionSetNode) -> int:
        return sum(1 + self._expansion(selection) for selection in selection_set.selections)

    def _expansion(self, selection: SelectionNode) -> int:
        if isinstance(selection, (FieldNode, InlineFragmentNode)):
            return self.count(selection.selection_set) if selection.selection_set else 0
        if isinstance(selection, FragmentSpreadNode):
            return self._fragment_size(selection.name.value)
        return 0

    def _fragment_size(self, name: str) -> int:
        size = self._fragment_sizes.get(name)
        if size is not None:
            return size
        fragment = self._fragments.get(name)
        if fragment is None:
            # Unknown: validation names it. Nothing to expand, and the limiters stop here.
            return 0
        if name in self._in_progress:
            raise _FragmentCycle(name)
        self._in_progress.add(name)
        size = self.count(fragment.selection_set)
        self._in_progress.discard(name)
        self._fragment_sizes[name] = size
        return size


class FragmentExpansionLimiter(SchemaExtension):
    """Answers a document that expands too far with an error, before validation runs.

    The error is set as the operation's pre-execution errors rather than raised: raised
    from a hook, it escapes ``Schema.stream`` and a WebSocket client gets no answer.
    Goes before ``CheckedValidationCache``, which leaves a refused document unvalidated.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            error = expansion_error(context.graphql_document)
            if error is not None:
                context.pre_execution_errors = [error]
        yield


class CheckedValidationCache(ValidationCache):
    """``ValidationCache`` that validates only documents no earlier check refused.

    Strawberry's own validation step skips a document that already has pre-execution
    errors; ``ValidationCache`` validates every one, and would run the limiters anyway.
    """

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
        else:
            yield from super().on_validate()
