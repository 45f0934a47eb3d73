"""A per-job time limit that interrupts the job inside its pool process.

``asyncio.wait_for`` in the consumer only stops *waiting*: the pool process would keep
decoding, and a hung decode would hold a pool slot forever. SIGALRM interrupts the job
itself: Pillow decodes in chunks and returns to the interpreter between them, where the
handler raises. Code that never returns to the interpreter is covered by the consumer,
which kills that job's pool process (and only that one) after a grace period
(``worker/consumer.py``, ``worker/lanes.py``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from worker.errors import TimeLimitExceeded


@contextmanager
def time_limit(limit_s: float) -> Iterator[None]:
    """Raise ``TimeLimitExceeded`` in this block once ``limit_s`` have passed."""
    if threading.current_thread() is not threading.main_thread():
        # Signals reach only the main thread; a thread pool (the executor benchmark) relies
        # on the consumer's own deadline instead.
        yield
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded(limit_s)

    previous = signal.signal(signal.SIGALRM, _expired)
    try:
        # Inside the try: an alarm that fires at once must still restore the old handler.
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
