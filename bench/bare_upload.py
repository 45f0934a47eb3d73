"""The limit for the upload path: a bare Starlette endpoint that streams the body to disk.

``bench.upload_path`` runs it under uvicorn beside the real server and sends both the same
multipart requests. It parses nothing and touches no database or broker: it writes the
request body to a file as it arrives, in the chunks the ASGI server hands over.

Run: ``python -m bench.bare_upload --port 8001 --dir /tmp/bare``.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


def create_app(target_dir: Path) -> Starlette:
    async def receive_upload(request: Request) -> JSONResponse:
        size = 0
        # Blocking writes on the event loop, as the simplest endpoint would do; the page
        # cache absorbs them, as it does for the real server's storage.
        with (target_dir / uuid.uuid4().hex).open("wb") as target:
            async for chunk in request.stream():
                target.write(chunk)
                size += len(chunk)
        return JSONResponse({"size": size})

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/upload", receive_upload, methods=["POST"]), Route("/healthz", healthz)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    # The same uvicorn settings as ``imagequeue serve`` (cli/main.py), access log included.
    uvicorn.run(
        create_app(args.dir),
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=30,
        ws_max_size=1024 * 1024,
    )


if __name__ == "__main__":
    main()
