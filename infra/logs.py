"""Logging for every ``imagequeue`` process: one JSON object per line, or readable on a terminal.

Code logs with the standard library and puts facts in ``extra``::

    log.info("upload accepted", extra={"image_id": record.id, "client_filename": name})

Every line about an image carries ``image_id``, so ``grep -E '"image_id": 42[,}]'`` over the
server's and the workers' output follows one image from upload to thumbnail (``[,}]``: the
field may be the line's last, and image 420 must not match).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["auto", "json", "console"]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
    # uvicorn's access logger passes its facts as positional args, not as extra.
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, _http_version, status = args
        fields.update(client=client, method=method, path=path, status=status)
    return fields


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        # default=str: a Path or a datetime in extra must not cost us the line.
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``12:00:01 INFO worker.consumer: job done image_id=42 outcome=completed``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _extras(record) if record.name != "uvicorn.access" else {}
        if not fields:
            return text
        head, _, tail = text.partition("\n")
        pairs = " ".join(f"{key}={value!r}" for key, value in fields.items())
        return f"{head} {pairs}" + (f"\n{tail}" if tail else "")


def configure_logging(*, level: str, log_format: LogFormat) -> None:
    """Route every logger (uvicorn's included) through one stderr handler."""
    if log_format == "auto":
        log_format = "console" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own handlers would print plain text; let its records reach ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    if root.level > logging.DEBUG:
        for name, quiet_level in _QUIETED.items():
            logging.getLogger(name).setLevel(quiet_level)
        tools = logging.getLogger("aio_pika.tools")
        if not any(isinstance(f, _ClosedChannelCallbackFilter) for f in tools.filters):
            tools.addFilter(_ClosedChannelCallbackFilter())


# While the broker is down, aiormq logs every failed connect at error and aio-pika's robust
# connection every retry at warning: two lines a second per process, repeating what
# infra/broker/connection.py says once ("broker connection lost"). Kept at DEBUG.
_QUIETED = {"aiormq.connection": logging.CRITICAL, "aio_pika.robust_connection": logging.ERROR}


class _ClosedChannelCallbackFilter(logging.Filter):
    """Drops aio-pika's error line for a robust channel's own close callback, which fails
    on every channel when a broker outage takes the connection (its channel or connection
    is closed already): the outage has its own warning ("broker connection lost"). Other
    callback errors still get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        # aio_pika.tools: log.error("Callback %r error: %s: %s", callback, type name, exc)
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) == 3 and "RobustChannel._on_close" in repr(args[0]))
