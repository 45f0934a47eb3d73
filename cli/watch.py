"""``imagequeue watch``: print live image events, through server restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from cli.graphql_ws import ConnectionLost, SubscriptionError
from cli.reconnect import OutageNotes, resubscribe
from cli.remote import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, FINAL_STATUSES, WATCH, print_error


def format_event(update: dict[str, Any]) -> str:
    line = (
        f"{update['occurredAt'] or '':32} image {update['id']:>6} "
        f"{update['status']:<10} {update['progress']:>4.0%} {update['stage'] or ''}"
    )
    if update["error"]:
        line += f"  error: {update['error']}"
    return line


def run_watch(url: str, ids: list[str]) -> int:
    """Print events until the images in ``ids`` are all final, or forever without ids.

    0: they are all final; 1: the server cannot be reached or refused the subscription;
    130: interrupted (Ctrl-C), the usual way to end a watch of every image.
    """
    open_ids = set(ids)

    def variables() -> dict[str, Any] | None:
        if not ids:
            return {"ids": None}
        # After a reconnect the server repeats the current state of what it is asked for.
        left = [image_id for image_id in ids if image_id in open_ids]
        return {"ids": left} if left else None

    # Watching every image, the server cannot say what happened while we were away.
    notes = OutageNotes(
        url, note_when_back=None if ids else "reconnected: events during the outage were missed"
    )

    async def watch() -> None:
        async for data in resubscribe(url, WATCH, variables, notes=notes):
            update = data["imageUpdates"]
            if update["status"] in FINAL_STATUSES:
                open_ids.discard(update["id"])
            print(format_event(update), flush=True)

    try:
        asyncio.run(watch())
    except ConnectionLost as exc:
        print_error(f"cannot reach the server at {url}: {exc}")
        return EXIT_FAILED
    except SubscriptionError as exc:
        print_error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK
