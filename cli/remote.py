"""What ``upload`` and ``watch`` share as clients of a running server: where it is, the
exit codes, and how a network error is put to the user."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape

URL_ENV = "IMAGEQUEUE_URL"
FALLBACK_URL = "http://127.0.0.1:8000/graphql"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# 128 + SIGINT: what a shell reports for a command stopped with Ctrl-C.
EXIT_INTERRUPTED = 130

FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "DELETED"})
"""After one of these a subscription by id sends nothing more about that image."""

WATCH = (
    "subscription($ids: [ID!]) { imageUpdates(ids: $ids) "
    "{ id status progress stage error occurredAt } }"
)

stdout = Console()
stderr = Console(stderr=True)


def default_url() -> str:
    return os.environ.get(URL_ENV) or FALLBACK_URL


def print_error(message: str) -> None:
    """One red line on stderr; never wrapped, so scripts can grep it."""
    stderr.print(f"[red]{escape(message)}[/]", soft_wrap=True)


def print_note(message: str) -> None:
    """A dim line on stderr, for what goes on without needing the user."""
    stderr.print(f"[dim]{escape(message)}[/]", soft_wrap=True)


def describe(exc: BaseException) -> str:
    """A network error in a few words: "Connection refused", not a repr or an errno.

    httpx and websockets wrap the OS error that says what happened, so look down the chain.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, OSError) and cause.errno:
            # asyncio words it "Connect call failed (...)"; the errno's own text is plainer.
            # Negative errnos are getaddrinfo's, which os.strerror does not know.
            return os.strerror(cause.errno) if cause.errno > 0 else str(cause.strerror)
        if "got <Connection.Close" in str(cause):
            # aiormq's words for a broker that closed the connection at its opening, which
            # is how RabbitMQ refuses a vhost that does not exist or the user may not use.
            return (
                "the broker closed the connection as it opened "
                "(check AMQP_URL's vhost and the user's permissions on it)"
            )
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__
