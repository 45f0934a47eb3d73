"""``imagequeue upload``: send files through ``uploadImages``, then follow them if asked."""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from cli.files import collect_files
from cli.graphql_ws import SubscriptionError
from cli.reconnect import OutageNotes, resubscribe
from cli.remote import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FINAL_STATUSES,
    WATCH,
    describe,
    print_error,
    print_note,
    stderr,
    stdout,
)

_BATCH_FILES = 10
_IDS_PER_SUBSCRIPTION = 100
NOT_SENT = "NOT SENT"
UPLOAD_MANY = "mutation($fs: [Upload!]!) { uploadImages(files: $fs) { id filename status } }"


class UploadStopped(Exception):
    """A batch got no GraphQL answer, so none after it is sent; the message says why."""


@dataclass
class FileOutcome:
    path: Path
    image_id: str | None = None
    status: str = NOT_SENT
    error: str | None = None


def upload_files(url: str, outcomes: list[FileOutcome]) -> None:
    """Upload in batches through ``uploadImages``, recording each file's outcome as its
    batch is answered: accepted (with its id and status) or rejected (with why)."""
    with httpx.Client(timeout=120) as client:
        for start in range(0, len(outcomes), _BATCH_FILES):
            batch = outcomes[start : start + _BATCH_FILES]
            try:
                response = _post(client, url, batch)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise UploadStopped(f"cannot reach the server at {url}: {describe(exc)}") from exc
            except OSError as exc:
                # Every file was readable before the first batch, but may be gone since.
                raise UploadStopped(f"cannot read {exc.filename}: {exc.strerror}") from exc
            _record_batch(batch, _graphql_body(url, response))


def _post(client: httpx.Client, url: str, batch: list[FileOutcome]) -> httpx.Response:
    operations = {"query": UPLOAD_MANY, "variables": {"fs": [None] * len(batch)}}
    file_map = {str(i): [f"variables.fs.{i}"] for i in range(len(batch))}
    with ExitStack() as handles:
        files = {
            str(i): (outcome.path.name, handles.enter_context(outcome.path.open("rb")))
            for i, outcome in enumerate(batch)
        }
        return client.post(
            url,
            data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
            files=files,
            # Marks the request as not a cross-site form post (CSRF prevention).
            headers={"Apollo-Require-Preflight": "true"},
        )


def _graphql_body(url: str, response: httpx.Response) -> dict[str, Any]:
    """The response's GraphQL body; UploadStopped when it has none (a proxy's error page,
    a URL that is not the GraphQL endpoint)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("data" in body or "errors" in body):
        return body
    answer = f"HTTP {response.status_code} {response.reason_phrase}"
    detail = response.text.strip().partition("\n")[0][:120]
    # An HTML page's first line says nothing; a plain-text error often does.
    if detail and not detail.startswith("<") and detail != response.reason_phrase:
        answer += f" ({detail})"
    raise UploadStopped(f"no GraphQL answer from {url}: {answer}")


def _record_batch(batch: list[FileOutcome], body: dict[str, Any]) -> None:
    rejected: dict[int, str] = {}
    general_error = None
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        # A rejected file's error names it by its index in `files`; any other error is
        # about the whole batch, whose list is then null.
        file_index = extensions.get("fileIndex")
        if isinstance(file_index, int):
            rejected[file_index] = extensions.get("reason") or error["message"]
        else:
            general_error = error["message"]
    accepted = iter((body.get("data") or {}).get("uploadImages") or [])
    for index, outcome in enumerate(batch):
        image = None if index in rejected else next(accepted, None)
        if image is None:
            outcome.status = "REJECTED"
            outcome.error = rejected.get(index) or general_error or "not accepted by the server"
        else:
            outcome.image_id, outcome.status = image["id"], image["status"]


async def wait_for(url: str, outcomes: list[FileOutcome], *, timeout_s: float | None) -> None:
    """Drive one progress bar per accepted file from the imageUpdates subscription, until
    each is final; TimeoutError after ``timeout_s`` (None: no limit).

    A server restart on the way costs nothing: the subscription connects again and starts
    with the current state of the images still open.
    """
    by_id = {o.image_id: o for o in outcomes if o.image_id and o.status not in FINAL_STATUSES}
    notes = OutageNotes(url)
    async with asyncio.timeout(timeout_s):
        with Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[status]}"),
            # stderr: stdout is for the summary, which scripts read (`--json`).
            console=stderr,
        ) as progress:
            tasks: dict[str, TaskID] = {
                image_id: progress.add_task(outcome.path.name, total=1.0, status=outcome.status)
                for image_id, outcome in by_id.items()
            }

            async def follow(ids: list[str]) -> None:
                def still_open() -> dict[str, Any] | None:
                    left = [i for i in ids if by_id[i].status not in FINAL_STATUSES]
                    return {"ids": left} if left else None

                # The upload has just reached this server: a refused connection is an outage.
                async for data in resubscribe(
                    url, WATCH, still_open, notes=notes, retry_first_connect=True
                ):
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
            try:
                async with asyncio.TaskGroup() as group:
                    for start in range(0, len(ids), _IDS_PER_SUBSCRIPTION):
                        group.create_task(follow(ids[start : start + _IDS_PER_SUBSCRIPTION]))
            except ExceptionGroup as failed:
                # The first failure ends the wait (the other subscriptions are cancelled).
                raise failed.exceptions[0] from None


def print_summary(outcomes: list[FileOutcome], *, done: frozenset[str], as_json: bool) -> None:
    if as_json:
        # One object, whole names and ids, for scripts (the table cuts long names).
        files = [
            {
                "file": str(outcome.path),
                "id": outcome.image_id,
                "status": outcome.status,
                "error": outcome.error,
            }
            for outcome in outcomes
        ]
        print(json.dumps({"files": files}))
        return
    table = Table(title="imagequeue upload")
    for column in ("file", "id", "status", "error"):
        table.add_column(column)
    for outcome in outcomes:
        if outcome.status in done:
            style = "green"
        elif outcome.status == "DELETED":
            style = "yellow"
        else:
            style = "red"
        table.add_row(
            str(outcome.path),
            outcome.image_id or "-",
            f"[{style}]{outcome.status}[/]",
            outcome.error or "",
        )
    stdout.print(table)


def run_upload(
    url: str,
    paths: list[Path],
    *,
    wait: bool,
    timeout_s: float | None = None,
    as_json: bool = False,
) -> int:
    """Upload ``paths``, wait if asked, print the summary; the exit code.

    0: every file accepted (with ``wait``: every one COMPLETED); 1: any other outcome;
    2: a path cannot be read, so nothing was sent; 130: interrupted (Ctrl-C).
    """
    collected = collect_files(paths)
    files, problems = collected.files, collected.problems
    if problems:
        print_error(f"nothing uploaded: {len(problems)} of the paths given cannot be read")
        for problem in problems:
            print_error(f"  {problem}")
        return EXIT_USAGE
    if collected.skipped:
        shown = ", ".join(path.name for path in collected.skipped[:3])
        more = ", …" if len(collected.skipped) > 3 else ""
        print_note(
            f"left out {len(collected.skipped)} file(s) in the folders given whose names are "
            f"not an image's ({shown}{more}); name a file to send it anyway"
        )
    if not files:
        print_error("no files to upload")
        return EXIT_USAGE
    outcomes = [FileOutcome(path) for path in files]
    # Without --wait, a file the server accepted is a success: it is queued.
    done = frozenset({"COMPLETED"} if wait else {"COMPLETED", "PENDING", "PROCESSING"})
    code = _send(url, outcomes, wait=wait, timeout_s=timeout_s)
    if any(outcome.status != NOT_SENT for outcome in outcomes):
        print_summary(outcomes, done=done, as_json=as_json)
    if code == EXIT_OK and not all(outcome.status in done for outcome in outcomes):
        return EXIT_FAILED
    return code


def _send(url: str, outcomes: list[FileOutcome], *, wait: bool, timeout_s: float | None) -> int:
    """Upload, then follow if asked; whatever happens, ``outcomes`` hold what is known."""
    try:
        upload_files(url, outcomes)
        if wait and any(outcome.image_id for outcome in outcomes):
            asyncio.run(wait_for(url, outcomes, timeout_s=timeout_s))
    except KeyboardInterrupt:
        if wait:
            _mark_unfinished(outcomes, "not finished: interrupted")
        return EXIT_INTERRUPTED
    except UploadStopped as exc:
        print_error(str(exc))
        return EXIT_FAILED
    except SubscriptionError as exc:
        print_error(f"subscription failed: {exc}")
        return EXIT_FAILED
    except TimeoutError:
        _mark_unfinished(outcomes, f"not finished after --timeout-s {timeout_s:g}")
    return EXIT_OK


def _mark_unfinished(outcomes: list[FileOutcome], why: str) -> None:
    for outcome in outcomes:
        if outcome.image_id and outcome.status not in FINAL_STATUSES:
            outcome.error = why
