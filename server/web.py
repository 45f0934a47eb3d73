"""The web app's built assets (``web/dist``), served at ``/`` behind every API route."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

NOT_BUILT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imagequeue</title></head>
<body>
<h1>imagequeue</h1>
<p>The web app is not built: <code>{web_dir}</code> has no <code>index.html</code>.</p>
<p>Build it with <code>make web</code>
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>);
<code>make run</code> does it for you. The API works meanwhile: <a href="/graphql">/graphql</a>.</p>
</body></html>
"""


def web_routes(web_dir: Path) -> list[BaseRoute]:
    """A catch-all mount of the built app, or a page saying how to build it.

    Goes last in the route table: a mount at ``/`` matches every path, so the API routes
    before it keep theirs. Unknown ``/api`` paths never get here: the REST routes end with
    one that answers them in JSON (server/rest/routes.py).
    """
    if (web_dir / "index.html").is_file():
        return [Mount("/", app=StaticFiles(directory=web_dir, html=True), name="web")]

    async def not_built(request: Request) -> HTMLResponse:
        return HTMLResponse(NOT_BUILT_HTML.format(web_dir=web_dir), status_code=503)

    return [Route("/", not_built)]
