"""The worker's pool processes, each in an executor of its own (a lane).

A ``ProcessPoolExecutor`` breaks as a whole when any of its processes dies: every job
rendering in it then fails with ``BrokenProcessPool``. The worker kills a pool process on
purpose when its job is stuck in C code past the hard deadline (``worker/time_limit.py``),
and one may die on its own (an OOM kill, a segfault). In one shared executor, either would
cost the jobs rendering beside it an attempt and their work; with one single-process
executor per lane, it breaks only its own lane, which gets a new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from infra.health import OK
from worker.processing import pool_ready

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lane:
    """One pool process, in an executor of its own, rendering one job at a time."""

    def __init__(self, number: int, make_executor: Callable[[], Executor]) -> None:
        self.number = number
        self._make_executor = make_executor
        self._executor = make_executor()
        self._render: Future[Any] | None = None
        self._closed = False
        self.hard_deadline_s = 0.0
        """Loop time past which the render in it is taken for stuck and its process killed."""

    def submit(self, fn: Callable[[], T], *, hard_deadline_s: float) -> Future[T]:
        if self.broken:
            # Its process died while no job was running in it: the job now given the lane
            # need not pay an attempt for that.
            self.replace("a pool process died")
        future = self._executor.submit(fn)
        self._render = future
        self.hard_deadline_s = hard_deadline_s
        return future

    def run_in(self, loop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> asyncio.Future[T]:
        return loop.run_in_executor(self._executor, fn)

    @property
    def broken(self) -> bool:
        # ProcessPoolExecutor says so only through this attribute (set by its manager thread
        # the moment its process dies) or by failing the next submit.
        return bool(getattr(self._executor, "_broken", False))

    @property
    def render(self) -> Future[Any] | None:
        """The render handed to its process and not finished there, if any."""
        if self._render is not None and self._render.done():
            self._render = None
        return self._render

    def replace(self, why: str) -> None:
        """Kill its process (with whatever it renders) and start a new one."""
        old = self._executor
        log.error(
            "%s: replacing the pool process",
            why,
            extra={"lane": self.number, "pids": _pids(old)},
        )
        self._render = None
        _kill_processes(old)
        old.shutdown(wait=False, cancel_futures=True)
        if self._closed:
            return
        self._executor = self._make_executor()
        # Started now, not by the next job: spawning one imports Pillow, which would eat
        # into that job's hard deadline.
        self._executor.submit(pool_ready)

    def close(self) -> None:
        self._closed = True
        if self.render is not None:
            # Its job is redelivered once the worker's connection is closed. Killed, not
            # waited for: a process stuck in C code would hold the worker until it is killed
            # from outside.
            _kill_processes(self._executor)
        self._executor.shutdown(wait=True, cancel_futures=True)


class Lanes:
    """The worker's lanes; a job takes a free one to render in and gives it back after."""

    def __init__(self, count: int, make_executor: Callable[[], Executor]) -> None:
        self._all = tuple(Lane(number, make_executor) for number in range(count))
        self._free: asyncio.Queue[Lane] = asyncio.Queue()
        for lane in self._all:
            self._free.put_nowait(lane)
        self._waiting_out: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> Lane:
        return await self._free.get()

    def give_back(self, lane: Lane) -> None:
        if lane.render is None:
            self._free.put_nowait(lane)
            return
        # Its job stopped waiting for the render (a closing channel cancels the task), but
        # the process still renders it. Another job given the lane now would queue behind
        # that render, its own hard deadline running, so the lane waits it out first.
        task = asyncio.create_task(self._give_back_when_idle(lane, lane.render))
        self._waiting_out.add(task)
        task.add_done_callback(self._waiting_out.discard)

    async def _give_back_when_idle(self, lane: Lane, render: Future[Any]) -> None:
        loop = asyncio.get_running_loop()
        timeout_s = max(0.0, lane.hard_deadline_s - loop.time())
        # Its outcome is nobody's now (the job is redelivered): only its end matters.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.wrap_future(render, loop=loop), timeout_s)
        if self._closed:
            return
        if lane.render is render:
            lane.replace("abandoned job over the hard deadline")
        self._free.put_nowait(lane)

    async def warm_up(self) -> None:
        """Start every pool process before the first job (spawning one imports Pillow).

        A worker that takes jobs before its pool is up holds them longer for nothing, and
        if it is killed in that window, those jobs pay an attempt for it.
        """
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(lane.run_in(loop, pool_ready) for lane in self._all))

    def state(self) -> str:
        """For ``/readyz``: ``"ok"``, or that a pool process is dead until a job takes its lane."""
        if any(lane.broken for lane in self._all):
            return "down: a pool process died; it is replaced before the next job it would render"
        return OK

    def close(self) -> None:
        """Stop every pool process; those still rendering are killed."""
        self._closed = True
        if any(lane.render is not None for lane in self._all):
            log.warning("jobs still rendering at shutdown: stopping their pool processes")
        for lane in self._all:
            lane.close()


def _pids(executor: Executor) -> list[int]:
    return [process.pid for process in _processes(executor)]


def _kill_processes(executor: Executor) -> None:
    for process in _processes(executor):
        process.kill()


def _processes(executor: Executor) -> list[Any]:
    return list((getattr(executor, "_processes", None) or {}).values())
