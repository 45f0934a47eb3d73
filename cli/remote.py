"""``imagequeue upload`` and ``imagequeue watch``: clients of a running server's GraphQL API."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from cli.graphql_ws import SubscriptionError, subscribe

DEFAULT_URL = "http://127.0.0.1:8000/graphql"
_BATCH_FILES = 10
_IDS_PER_SUBSCRIPTION = 100
_NOT_DONE = {"REJECTED", "FAILED", "DELETED"}
"""Outcomes that make ``upload`` exit 1: the file did not become a processed image."""
UPLOAD_MANY = "mutation($fs: [Upload!]!) { uploadImages(files: $fs) { id filename status } }"
WATCH = (
    "subscription($ids: [ID!]) { imageUpdates(ids: $ids) "
    "{ id status progress stage error occurredAt } }"
)

console = Console()


@dataclass
class FileOutcome:
    path: Path
    image_id: str | None = None
    status: str = "REJECTED"
    error: str | None = None


def collect_files(paths: list[Path]) -> list[Path]:
    """Files as given, and every non-hidden file under each folder, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.parts)
                )
            )
        else:
            found.append(path)
    return found


def upload_files(url: str, files: list[Path]) -> list[FileOutcome]:
    """Upload in batches through ``uploadImages``; each file's outcome, rejected or accepted."""
    outcomes = [FileOutcome(path) for path in files]
    with httpx.Client(timeout=120) as client:
        for start in range(0, len(files), _BATCH_FILES):
            batch = outcomes[start : start + _BATCH_FILES]
            operations = {"query": UPLOAD_MANY, "variables": {"fs": [None] * len(batch)}}
            file_map = {str(i): [f"variables.fs.{i}"] for i in range(len(batch))}
            handles = [outcome.path.open("rb") for outcome in batch]
            try:
                response = client.post(
                    url,
                    data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
                    files={
                        str(i): (o.path.name, h)
                        for i, (o, h) in enumerate(zip(batch, handles, strict=True))
                    },
                    # Marks the request as not a cross-site form post (CSRF prevention).
                    headers={"Apollo-Require-Preflight": "true"},
                )
            finally:
                for handle in handles:
                    handle.close()
            _record_batch(batch, response)
    return outcomes


def _record_batch(batch: list[FileOutcome], response: httpx.Response) -> None:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:200]}"}]}
    rejected: dict[int, str] = {}
    general_error = None
    for error in body.get("errors") or []:
        index = (error.get("extensions") or {}).get("index")
        if isinstance(index, int):
            rejected[index] = error.get("extensions", {}).get("reason") or error["message"]
        else:
            general_error = error["message"]
    accepted = iter((body.get("data") or {}).get("uploadImages") or [])
    for index, outcome in enumerate(batch):
        if index in rejected:
            outcome.error = rejected[index]
            continue
        image = next(accepted, None)
        if image is None:
            outcome.error = general_error or "not accepted by the server"
            continue
        outcome.image_id, outcome.status = image["id"], image["status"]


async def wait_for(url: str, outcomes: list[FileOutcome]) -> None:
    """Drive one progress bar per accepted file from the imageUpdates subscription."""
    by_id = {o.image_id: o for o in outcomes if o.image_id}
    with Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[status]}"),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {
            image_id: progress.add_task(outcome.path.name, total=1.0, status="PENDING")
            for image_id, outcome in by_id.items()
        }

        async def follow(ids: list[str]) -> None:
            async for data in subscribe(url, WATCH, {"ids": ids}):
                update = data["imageUpdates"]
                outcome = by_id[update["id"]]
                outcome.status, outcome.error = update["status"], update["error"]
                if outcome.status == "DELETED":
                    # Ends the wait like COMPLETED or FAILED; no error comes with it.
                    outcome.error = "deleted before it was processed"
                progress.update(
                    tasks[update["id"]], completed=update["progress"], status=update["status"]
                )

        ids = list(by_id)
        await asyncio.gather(
            *(
                follow(ids[i : i + _IDS_PER_SUBSCRIPTION])
                for i in range(0, len(ids), _IDS_PER_SUBSCRIPTION)
            )
        )


def print_summary(outcomes: list[FileOutcome]) -> None:
    table = Table(title="imagequeue upload")
    for column in ("file", "id", "status", "error"):
        table.add_column(column)
    for outcome in outcomes:
        style = {"COMPLETED": "green", "PENDING": "green", "DELETED": "yellow"}.get(
            outcome.status, "red"
        )
        table.add_row(
            str(outcome.path),
            outcome.image_id or "-",
            f"[{style}]{outcome.status}[/]",
            outcome.error or "",
        )
    console.print(table)


def run_upload(url: str, paths: list[Path], *, wait: bool) -> int:
    files = collect_files(paths)
    if not files:
        console.print("no files to upload")
        return 2
    outcomes = upload_files(url, files)
    if wait and any(o.image_id for o in outcomes):
        try:
            asyncio.run(wait_for(url, outcomes))
        except SubscriptionError as exc:
            console.print(f"[red]subscription failed: {exc}[/]")
            return 1
    print_summary(outcomes)
    return 1 if any(o.status in _NOT_DONE for o in outcomes) else 0


def run_watch(url: str, ids: list[str]) -> int:
    async def watch() -> None:
        async for data in subscribe(url, WATCH, {"ids": ids or None}):
            update = data["imageUpdates"]
            line = (
                f"{update['occurredAt'] or '':32} image {update['id']:>6} "
                f"{update['status']:<10} {update['progress']:>4.0%} {update['stage'] or ''}"
            )
            if update["error"]:
                line += f"  error: {update['error']}"
            print(line, flush=True)

    try:
        asyncio.run(watch())
    except SubscriptionError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    except KeyboardInterrupt:
        pass
    return 0
