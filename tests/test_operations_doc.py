"""Commands docs/operations.md gives an operator, run as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import REPO_ROOT

_OUTAGE = {"status": "unavailable", "database": "down: ConnectionRefusedError: …", "broker": "ok"}


@contextmanager
def _readyz_answering_503() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(_OUTAGE).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_runbook_readyz_check_prints_what_is_down() -> None:
    text = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    [code] = re.findall(r'docker compose exec worker python -c "([^"]*readyz[^"]*)"', text)

    # Given a worker whose /readyz answers 503, as it does during an outage
    with _readyz_answering_503() as port:
        # When the operator runs the runbook's command (the port is the worker's 9100)
        result = subprocess.run(
            [sys.executable, "-c", code.replace("9100", str(port))],
            capture_output=True,
            text=True,
            timeout=30,
        )

    # Then it prints the status and the body that names the outage, not a traceback
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("503 ")
    assert json.loads(result.stdout.removeprefix("503 ")) == _OUTAGE
