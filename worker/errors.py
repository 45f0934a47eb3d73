"""Why a job failed for good. Each message starts with a fixed phrase that names the limit."""

from __future__ import annotations


class PermanentImageError(Exception):
    """The original cannot become renditions, however often we try (corrupt, unsupported)."""


class TimeLimitExceeded(PermanentImageError):
    def __init__(self, limit_s: float) -> None:
        super().__init__(f"processing exceeded the time limit of {limit_s:g} s")
        self.limit_s = limit_s

    def __reduce__(self) -> tuple[type[TimeLimitExceeded], tuple[float]]:
        # Raised in a pool process and pickled back to the worker: rebuilt from its message
        # (an exception's default), it failed to unpickle, and the worker took the timeout
        # for a crashed pool process, retrying the job until it was dead-lettered.
        return (TimeLimitExceeded, (self.limit_s,))


def undecodable(cause: BaseException) -> PermanentImageError:
    """The failure for data a decoder cannot read: truncated, corrupt or malformed."""
    return PermanentImageError(f"cannot decode image: {cause}")
