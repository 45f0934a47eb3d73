"""A loop the server runs beside its requests for as long as it lives."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging

STOP_TIMEOUT_S = 5.0


class BackgroundLoop(abc.ABC):
    """``start()`` in the lifespan, ``stop()`` at shutdown; ``run()`` never returns."""

    name = "background-loop"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            # A loop cancelled while closing a connection to a broker that is away would
            # wait for the broker; shutdown goes on without it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(self._task, return_exceptions=True), STOP_TIMEOUT_S
                )

    @abc.abstractmethod
    async def run(self) -> None: ...


class RetryLog:
    """A retrying loop's failures, told once: a warning at the first, the retries after it at
    DEBUG (they would repeat it every few seconds through an outage), and a line when it
    works again."""

    def __init__(self, log: logging.Logger, *, failed: str, still_failing: str) -> None:
        """``failed`` and ``still_failing``: messages with one ``%s``, the error."""
        self._log = log
        self._failed = failed
        self._still_failing = still_failing
        self.failing = False

    def failure(self, exc: BaseException) -> None:
        if self.failing:
            self._log.debug(self._still_failing, exc)
        else:
            self._log.warning(self._failed, exc)
            self.failing = True

    def success(self, working_again: str | None = None) -> None:
        """``working_again``: the line to log if it was failing; None when the loop logs its
        own."""
        if self.failing and working_again is not None:
            self._log.info(working_again)
        self.failing = False
