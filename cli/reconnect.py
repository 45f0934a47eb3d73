"""Subscriptions that outlive a server restart: they connect again, with a capped backoff.

A subscription by ids loses nothing by this: the server starts each one with the current
state of its images, read from the database. A watch-all subscription only gets what
happens after it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from cli.graphql_ws import ConnectionLost, subscribe
from cli.remote import print_note


@dataclass
class Backoff:
    """The waits between attempts: doubling from ``first_delay_s`` up to ``max_delay_s``."""

    first_delay_s: float = 0.5
    max_delay_s: float = 5.0
    _next_delay_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._next_delay_s = self.first_delay_s

    def next_delay_s(self) -> float:
        delay_s = self._next_delay_s
        self._next_delay_s = min(delay_s * 2, self.max_delay_s)
        return delay_s


class OutageNotes:
    """One dim note on stderr per outage, however many subscriptions it interrupts."""

    def __init__(self, url: str, *, note_when_back: str | None = None) -> None:
        self._url = url
        self._note_when_back = note_when_back
        self._down = 0

    def lost(self, reason: str) -> None:
        self._down += 1
        if self._down == 1:
            print_note(f"lost the server at {self._url} ({reason}); reconnecting…")

    def back(self) -> None:
        self._down -= 1
        if self._down == 0 and self._note_when_back:
            print_note(self._note_when_back)


async def resubscribe(
    url: str,
    query: str,
    variables: Callable[[], dict[str, Any] | None],
    *,
    notes: OutageNotes,
    retry_first_connect: bool = False,
    backoff: Backoff | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Like ``subscribe``, but a lost connection is opened again until the subscription
    completes; ``variables()`` is asked before each attempt, None meaning nothing is left
    to wait for.

    A first connection that fails raises ConnectionLost, unless ``retry_first_connect``:
    a server that was never reached is more likely a wrong URL than a restart.
    """
    backoff = backoff or Backoff()
    connected_once = False
    down = False

    def on_connected() -> None:
        nonlocal connected_once, down
        connected_once = True
        backoff.reset()
        if down:
            down = False
            notes.back()

    while (current := variables()) is not None:
        try:
            async for data in subscribe(url, query, current, on_connected=on_connected):
                yield data
            return
        except ConnectionLost as exc:
            if not (connected_once or retry_first_connect):
                raise
            if not down:
                down = True
                notes.lost(str(exc))
        await asyncio.sleep(backoff.next_delay_s())
    if down:
        notes.back()
