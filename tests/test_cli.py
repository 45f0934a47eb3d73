"""The ``imagequeue`` CLI as a user runs it, against the real server and worker."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

import aio_pika
import asyncpg
import pytest

from infra.broker.messages import ImageJob
from infra.broker.topology import DEAD_LETTER_QUEUE, declare_dead_letter_queue
from infra.db.migrate import migrate
from tests.broker import queue_depth
from tests.client import Api
from tests.images import photo
from tests.processes import REPO_ROOT, OwnServer, own_server
from tests.scraping import scrape, value, wait_for
from tests.services import PG_PORT, free_port, login_role, own_database_and_vhost, unique_name

_ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def _start_imagequeue(
    *args: str,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    stdout: int | IO[str] = subprocess.PIPE,
    stderr: int | IO[str] = subprocess.PIPE,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        text=True,
        env={**_ENV, **(env or {})},
    )


def _imagequeue(
    *args: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``imagequeue *args`` to the end (at most 120 s)."""
    with _start_imagequeue(*args, cwd=cwd, env=env) as process:
        stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _one_line_error(result: subprocess.CompletedProcess[str], *, secret: str) -> str:
    """The one line an admin command printed before exiting 1, which must not hold ``secret``."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    return line


def _summary_row(stdout: str, filename: str) -> str:
    """The summary table's row of ``filename``."""
    return next(line for line in stdout.splitlines() if filename in line and "│" in line)


def _wait_subscribed(url: str) -> None:
    wait_for(
        lambda: value(scrape(url), "imagequeue_subscriptions_active") == 1,
        "the CLI's subscription",
    )


def _restart_server(own: OwnServer) -> None:
    """Stop the server (its sockets close with 1012, service restart), start it again on
    the same port."""
    port = int(own.api.base_url.rsplit(":", 1)[1])
    own.server.stop()
    own.server, _ = own.launcher.start_server(port=port)


def test_upload_a_folder_and_wait(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photo(640, 480))
    (folder / "nested" / "b.jpg").write_bytes(photo(480, 640))
    (folder / ".hidden.jpg").write_bytes(b"ignored")

    result = _imagequeue("upload", str(folder), "--wait", "--url", f"{api.base_url}/graphql")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("COMPLETED") >= 2
    assert ".hidden" not in result.stdout


def test_one_bad_file_makes_upload_exit_non_zero_and_names_it(api: Api, tmp_path: Path) -> None:
    (tmp_path / "good.jpg").write_bytes(photo())
    (tmp_path / "corrupt.jpg").write_bytes(photo()[:2500])
    (tmp_path / "notes.jpg").write_text("not an image")

    result = _imagequeue("upload", str(tmp_path), "--wait", "--url", f"{api.base_url}/graphql")

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("notes.jpg" in line and "REJECTED" in line for line in lines), result.stdout
    assert any("corrupt.jpg" in line and "FAILED" in line for line in lines), result.stdout
    assert any("good.jpg" in line and "COMPLETED" in line for line in lines), result.stdout


def test_watch_prints_events_and_ends_when_the_images_are_done(api: Api) -> None:
    image = api.wait_final(api.upload("watched.jpg", photo())["id"])

    result = _imagequeue("watch", image["id"], "--url", f"{api.base_url}/graphql")

    assert result.returncode == 0, result.stderr
    assert f"image {image['id']:>6} COMPLETED" in result.stdout


def test_upload_json_gives_scripts_every_files_whole_name_and_id(api: Api, tmp_path: Path) -> None:
    long_name = "a_very_long_file_name_from_a_camera_that_names_files_verbosely_0001.jpg"
    (tmp_path / long_name).write_bytes(photo(64, 48))
    (tmp_path / "notes.txt").write_text("not an image")

    # A file named is sent whatever its name (the folder would leave notes.txt out)
    result = _imagequeue(
        "upload",
        "--wait",
        "--json",
        str(tmp_path / long_name),
        str(tmp_path / "notes.txt"),
        env={"IMAGEQUEUE_URL": f"{api.base_url}/graphql"},
    )

    assert result.returncode == 1, result.stdout + result.stderr  # notes.txt is refused
    by_name = {Path(f["file"]).name: f for f in json.loads(result.stdout)["files"]}
    photo_outcome, text_outcome = by_name[long_name], by_name["notes.txt"]
    assert photo_outcome["status"] == "COMPLETED" and photo_outcome["error"] is None
    image = api.image(photo_outcome["id"])
    assert image is not None and image["filename"] == long_name
    assert text_outcome["id"] is None and "not a supported image" in text_outcome["error"]


def test_upload_of_a_folder_leaves_out_files_whose_names_are_not_images(
    api: Api, tmp_path: Path
) -> None:
    # Given a camera export: photos beside a note and the editor's sidecar files
    (tmp_path / "IMG_0001.JPG").write_bytes(photo(64, 48))
    (tmp_path / "IMG_0002.heic.jpeg").write_bytes(photo(48, 64))
    (tmp_path / "IMG_0001.xmp").write_text("<x:xmpmeta/>")
    (tmp_path / "README.txt").write_text("holiday 2026")
    env = {"IMAGEQUEUE_URL": f"{api.base_url}/graphql"}

    result = _imagequeue("upload", "--json", str(tmp_path), env=env)

    # Then the photos are sent and accepted, and the rest is left out, with a note
    assert result.returncode == 0, result.stdout + result.stderr
    sent = [Path(f["file"]).name for f in json.loads(result.stdout)["files"]]
    assert sent == ["IMG_0001.JPG", "IMG_0002.heic.jpeg"]
    assert "left out 2 file(s) in the folders given whose names are not an image's" in (
        result.stderr
    )


def test_the_folder_filter_knows_every_format_the_server_accepts() -> None:
    from cli.files import IMAGE_SUFFIXES
    from infra.image_formats import _EXTENSION_ALIASES, ACCEPTED_FORMATS

    server_extensions = {ext for _, ext in ACCEPTED_FORMATS.values()} | set(_EXTENSION_ALIASES)
    assert {f".{ext}" for ext in server_extensions} <= IMAGE_SUFFIXES


def test_upload_wait_ends_when_an_image_is_deleted_and_reports_it(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given `upload --wait` on a server with no worker, so the image stays PENDING, and
    # the CLI's subscription open (the only one on this server)
    (tmp_path / "gone.jpg").write_bytes(photo())
    with own_server(service_env, tmp_path, {}) as own:
        url = own.api.base_url
        cli = subprocess.Popen(
            [
                *(sys.executable, "-m", "cli", "upload", str(tmp_path / "gone.jpg")),
                *("--wait", "--url", f"{url}/graphql"),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_ENV,
        )
        try:
            wait_for(
                lambda: value(scrape(url), "imagequeue_subscriptions_active") == 1,
                "the CLI's subscription",
            )
            listed = own.api.graphql("{ images(first: 1) { edges { node { id } } } }")
            image_id = listed["data"]["images"]["edges"][0]["node"]["id"]
            # When another client deletes the image
            assert own.api.http.delete(f"/api/images/{image_id}").status_code == 200
            # Then the CLI stops waiting, says so, and exits 1: no processed image came of it
            stdout, stderr = cli.communicate(timeout=60)
        finally:
            cli.kill()
    assert cli.returncode == 1, stdout + stderr
    row = next(line for line in stdout.splitlines() if "gone.jpg" in line and "│" in line)
    assert f"│ {image_id} " in row and "DELETED" in row, stdout
    assert "deleted before it was processed" in row, stdout


# Network failures -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [["upload", "a.jpg"], ["watch"], ["watch", "1"]])
def test_a_server_that_is_down_is_one_line_and_exit_1(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(photo())
    url = f"http://127.0.0.1:{free_port()}/graphql"
    args = [str(tmp_path / arg) if arg.endswith(".jpg") else arg for arg in command]

    result = _imagequeue(*args, "--url", url)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"cannot reach the server at {url}: Connection refused"]
    assert result.stdout == ""


def test_an_answer_that_is_not_graphql_stops_the_upload_in_one_line(
    api: Api, tmp_path: Path
) -> None:
    # Given two batches of files and a URL that is the server's, but not its GraphQL endpoint
    for i in range(11):
        (tmp_path / f"{i:02}.jpg").write_bytes(photo(64, 64))

    result = _imagequeue("upload", str(tmp_path), "--url", f"{api.base_url}/healthz")

    # Then the upload stops at the first answer, says what it was, and uploaded nothing
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"no GraphQL answer from {api.base_url}/healthz: HTTP 405 Method Not Allowed"
    ]
    assert result.stdout == ""


# Paths ----------------------------------------------------------------------------------


def test_upload_checks_every_path_before_sending_anything(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a first batch of good files, then a path that does not exist
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(10):
        (photos / f"{i:02}.jpg").write_bytes(photo(64, 64))
    missing = tmp_path / "missing.jpg"
    with own_server(service_env, tmp_path, {}) as own:
        result = _imagequeue(
            "upload", str(photos), str(missing), "--url", own.api.base_url + "/graphql"
        )
        listed = own.api.graphql("{ images(first: 1) { edges { node { id } } } }")

    # Then the bad path is named, the exit code is 2, and not one file was uploaded
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{missing}: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert listed["data"]["images"]["edges"] == []


def test_upload_a_folder_whose_own_path_has_dots_in_it(api: Api, tmp_path: Path) -> None:
    # Given a folder under a hidden one, named from a sibling folder with `..`
    folder = tmp_path / ".local" / "photos"
    (folder / ".thumbnails").mkdir(parents=True)
    (folder / "kept.jpg").write_bytes(photo(64, 64))
    (folder / ".thumbnails" / "skipped.jpg").write_bytes(photo(64, 64))
    (folder / ".skipped.jpg").write_bytes(photo(64, 64))
    (tmp_path / "here").mkdir()

    result = _imagequeue(
        "upload", "../.local/photos", "--url", f"{api.base_url}/graphql", cwd=tmp_path / "here"
    )

    # Then what is hidden under the folder is skipped, and only that
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PENDING" in _summary_row(result.stdout, "kept.jpg"), result.stdout
    assert "skipped" not in result.stdout


# Summaries and exit codes -----------------------------------------------------------------


def test_upload_wait_prints_the_summary_when_the_subscription_fails(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server that allows one id per subscription, and two files to wait for
    (tmp_path / "one.jpg").write_bytes(photo(64, 64))
    (tmp_path / "two.jpg").write_bytes(photo(64, 64))
    with own_server(service_env, tmp_path, {"MAX_SUBSCRIPTION_IDS": "1"}) as own:
        result = _imagequeue(
            "upload",
            str(tmp_path / "one.jpg"),
            str(tmp_path / "two.jpg"),
            "--wait",
            "--url",
            f"{own.api.base_url}/graphql",
        )

    # Then the error is said, and the summary still shows what was uploaded
    assert result.returncode == 1, result.stdout + result.stderr
    assert "subscription failed: at most 1 ids per subscription" in result.stderr
    for name in ("one.jpg", "two.jpg"):
        row = _summary_row(result.stdout, name)
        assert "PENDING" in row and "│ - " not in row, result.stdout


def test_upload_wait_timeout_reports_the_unfinished_files(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given no worker, so an upload stays PENDING
    (tmp_path / "slow.jpg").write_bytes(photo(64, 64))
    with own_server(service_env, tmp_path, {}) as own:
        result = _imagequeue(
            "upload",
            str(tmp_path / "slow.jpg"),
            "--wait",
            "--timeout-s",
            "1",
            "--url",
            f"{own.api.base_url}/graphql",
        )

    assert result.returncode == 1, result.stdout + result.stderr
    row = _summary_row(result.stdout, "slow.jpg")
    assert "PENDING" in row and "not finished after --timeout-s 1" in row, result.stdout


def test_ctrl_c_during_upload_wait_prints_the_summary_and_exits_130(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "waiting.jpg").write_bytes(photo(64, 64))
    with own_server(service_env, tmp_path, {}) as own:
        url = own.api.base_url
        cli = _start_imagequeue(
            "upload", str(tmp_path / "waiting.jpg"), "--wait", "--url", f"{url}/graphql"
        )
        try:
            _wait_subscribed(url)
            cli.send_signal(signal.SIGINT)
            stdout, stderr = cli.communicate(timeout=60)
        finally:
            cli.kill()
            cli.wait()

    assert cli.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    row = _summary_row(stdout, "waiting.jpg")
    assert "PENDING" in row and "interrupted" in row, stdout


# Server restarts --------------------------------------------------------------------------


def test_upload_wait_reconnects_after_a_server_restart_and_completes(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given `upload --wait` following two files that no worker has taken yet
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "one.jpg").write_bytes(photo(320, 240))
    (photos / "two.jpg").write_bytes(photo(240, 320))
    with own_server(service_env, tmp_path, {}) as own:
        url = own.api.base_url
        cli = _start_imagequeue("upload", str(photos), "--wait", "--url", f"{url}/graphql")
        try:
            _wait_subscribed(url)
            # When the server restarts, and only then a worker starts
            _restart_server(own)
            own.launcher.start_worker()
            stdout, stderr = cli.communicate(timeout=90)
        finally:
            cli.kill()
            cli.wait()

    # Then the CLI saw both files through, and said once that it was reconnecting
    assert cli.returncode == 0, stdout + stderr
    for name in ("one.jpg", "two.jpg"):
        assert "COMPLETED" in _summary_row(stdout, name), stdout
    assert stderr.count("reconnecting") == 1, stderr
    assert "Traceback" not in stderr


def test_watch_reconnects_after_a_server_restart_and_says_what_was_missed(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given `imagequeue watch` of every image, printing to a file
    out_path, err_path = tmp_path / "watch.out", tmp_path / "watch.err"
    with (
        own_server(service_env, tmp_path, {}) as own,
        out_path.open("w") as out,
        err_path.open("w") as err,
    ):
        url = own.api.base_url
        cli = _start_imagequeue("watch", "--url", f"{url}/graphql", stdout=out, stderr=err)
        try:
            _wait_subscribed(url)
            # When the server restarts, and an image is uploaded once the CLI is back
            _restart_server(own)
            _wait_subscribed(url)
            image_id = own.api.upload("after.jpg", photo(64, 64))["id"]
            wait_for(
                lambda: f"image {image_id:>6} PENDING" in out_path.read_text(),
                "the event of the new image",
            )
            # and Ctrl-C ends the watch
            cli.send_signal(signal.SIGINT)
            cli.wait(timeout=30)
        finally:
            cli.kill()
            cli.wait()

    stderr = err_path.read_text()
    assert cli.returncode == 130, stderr
    assert "reconnected: events during the outage were missed" in stderr
    assert "Traceback" not in stderr


# stats and dlq ----------------------------------------------------------------------------


def test_stats_shows_the_queue_as_unavailable_when_rabbitmq_is_unreachable(
    api: Api, service_env: dict[str, str]
) -> None:
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/"

    result = _imagequeue("stats", env={**service_env, "AMQP_URL": closed})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "images by status" in result.stdout
    assert "queue image_processing: unavailable (" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("action", "unreachable", "message"),
    [
        ("list", "AMQP_URL", "cannot reach RabbitMQ: "),
        ("replay", "AMQP_URL", "cannot reach RabbitMQ: "),
        ("replay", "DATABASE_URL", "cannot reach the database: "),
    ],
)
def test_dlq_says_in_one_line_which_service_is_unreachable(
    service_env: dict[str, str], action: str, unreachable: str, message: str
) -> None:
    scheme = "amqp://guest:s3cret" if unreachable == "AMQP_URL" else "postgresql://postgres:s3cret"
    closed = f"{scheme}@127.0.0.1:{free_port()}/imagequeue"

    result = _imagequeue("dlq", action, env={**service_env, unreachable: closed})

    line = _one_line_error(result, secret="s3cret")
    assert line.startswith(message), line


@pytest.mark.parametrize("command", ["stats", "migrate", "up"])
def test_admin_commands_say_in_one_line_that_the_database_is_unreachable(
    service_env: dict[str, str], command: str
) -> None:
    closed = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/imagequeue"

    result = _imagequeue(command, env={**service_env, "DATABASE_URL": closed})

    line = _one_line_error(result, secret="s3cret")
    assert line.startswith("cannot reach the database: "), line


@pytest.mark.parametrize("command", [["stats"], ["dlq", "replay"]])
def test_admin_commands_on_a_database_never_migrated_say_to_migrate_it(
    service_env: dict[str, str], command: list[str]
) -> None:
    with own_database_and_vhost() as (database_url, amqp_url):
        env = {**service_env, "DATABASE_URL": database_url, "AMQP_URL": amqp_url}
        if command[0] == "dlq":
            asyncio.run(
                _dead_letter(amqp_url, ImageJob(1, "originals/a.jpg", "thumbnails/a_thumb.jpg"))
            )
        result = _imagequeue(*command, env=env)

    line = _one_line_error(result, secret="s3cret")
    assert line.endswith(": run imagequeue migrate"), line
    assert line.startswith("the database has no imagequeue tables ("), line


async def _dead_letter(amqp_url: str, job: ImageJob) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_dead_letter_queue(channel)
        await channel.default_exchange.publish(
            aio_pika.Message(job.encode()), routing_key=DEAD_LETTER_QUEUE
        )


def _as_role(database_url: str, role: str) -> str:
    """``database_url`` (a test database, reached as postgres) as ``role``, with a password
    that must never be printed (the local server trusts, so any password logs in)."""
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}:s3cret@", 1)


@pytest.mark.parametrize("command", ["stats", "migrate", "up"])
def test_a_role_that_does_not_exist_is_one_line_without_the_password(
    service_env: dict[str, str], command: str
) -> None:
    role = unique_name("nobody")
    env = {**service_env, "DATABASE_URL": _as_role(service_env["DATABASE_URL"], role)}

    result = _imagequeue(command, env=env)

    line = _one_line_error(result, secret="s3cret")
    assert line == (
        f'cannot log in to the database: role "{role}" does not exist '
        "(set DATABASE_URL to a user that can log in)"
    )


@pytest.mark.parametrize("command", ["migrate", "up"])
def test_a_missing_database_the_user_may_not_create_is_one_line(
    service_env: dict[str, str], command: str
) -> None:
    missing = unique_name("imagequeue_missing")
    with login_role() as role:
        url = f"postgresql://{role}:s3cret@127.0.0.1:{PG_PORT}/{missing}"
        result = _imagequeue(command, env={**service_env, "DATABASE_URL": url})

    line = _one_line_error(result, secret="s3cret")
    assert line == (
        f'database "{missing}" does not exist, and creating it failed: permission denied to '
        "create database (create it, or set DATABASE_URL to a user that may create databases)"
    )


@pytest.mark.parametrize("command", ["stats", "migrate", "up"])
def test_a_user_without_rights_on_the_tables_is_one_line(
    service_env: dict[str, str], command: str
) -> None:
    # Given a migrated database, and a role that may log in to it and do nothing there
    with own_database_and_vhost() as (database_url, amqp_url), login_role() as role:
        asyncio.run(migrate(database_url))
        env = {**service_env, "DATABASE_URL": _as_role(database_url, role), "AMQP_URL": amqp_url}
        result = _imagequeue(command, env=env)

    # Then PostgreSQL's refusal (the schema for migrate, the table for stats) is one line
    line = _one_line_error(result, secret="s3cret")
    assert line.startswith("the database refused: permission denied for "), line
    assert line.endswith("(grant that right, or set DATABASE_URL to a user with it)")


def test_dlq_replay_takes_only_numbers() -> None:
    result = _imagequeue("dlq", "replay", "abc")

    assert result.returncode == 2
    assert "invalid int value: 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_dlq_replay_reports_ids_that_are_not_in_the_dead_letter_queue(
    service_env: dict[str, str],
) -> None:
    with own_database_and_vhost() as (database_url, amqp_url):
        env = {**service_env, "DATABASE_URL": database_url, "AMQP_URL": amqp_url}
        result = _imagequeue("dlq", "replay", "12", env=env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "not in the dead-letter queue: image 12" in result.stderr


def test_dlq_replay_keeps_a_job_whose_paths_are_not_its_images(
    service_env: dict[str, str],
) -> None:
    # Given a failed image, and in the dead-letter queue a job for it naming another file
    # (a refused forgery: replayed, it would be refused again, its image left pending)
    with own_database_and_vhost() as (database_url, amqp_url):
        asyncio.run(migrate(database_url))

        async def given() -> int:
            connection = await asyncpg.connect(database_url)
            try:
                image_id: int = await connection.fetchval(
                    "INSERT INTO images (filename, original_path, status)"
                    " VALUES ('x.jpg', 'originals/mine.jpg', 'failed') RETURNING id"
                )
            finally:
                await connection.close()
            broker = await aio_pika.connect(amqp_url)
            async with broker:
                channel = await broker.channel(publisher_confirms=True)
                await declare_dead_letter_queue(channel)
                forged = ImageJob(image_id, "originals/theirs.jpg", "thumbnails/mine_thumb.jpg")
                await channel.default_exchange.publish(
                    aio_pika.Message(forged.encode()), routing_key=DEAD_LETTER_QUEUE
                )
            return image_id

        image_id = asyncio.run(given())
        env = {**service_env, "DATABASE_URL": database_url, "AMQP_URL": amqp_url}

        # When the dead letters are replayed
        result = _imagequeue("dlq", "replay", env=env)

        # Then that one is kept, saying why, and its image stays failed
        assert result.returncode == 0, result.stdout + result.stderr
        [line] = result.stdout.splitlines()
        assert line.startswith(f"kept: image {image_id}: paths disagree with image {image_id}'s")
        assert "originalPath 'originals/theirs.jpg' is not the row's original_path" in line
        assert queue_depth(amqp_url, DEAD_LETTER_QUEUE) == 1
        listed = _imagequeue("dlq", "list", "--json", env=env)
        assert '"image_id": ' + str(image_id) in listed.stdout

        async def status() -> str:
            connection = await asyncpg.connect(database_url)
            try:
                return str(
                    await connection.fetchval("SELECT status FROM images WHERE id = $1", image_id)
                )
            finally:
                await connection.close()

        assert asyncio.run(status()) == "failed"


# Worker start-up ----------------------------------------------------------------------------

_PORT_IN_USE = (
    "worker metrics port {port} is in use: set WORKER_METRICS_PORT to a free port, or 0 for none"
)


def _held_port() -> socket.socket:
    """A listening socket, as a second worker's metrics port (or node_exporter's) would be."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held


def test_a_worker_whose_metrics_port_is_taken_says_which_setting_to_change(
    service_env: dict[str, str],
) -> None:
    # Given another process on the worker metrics port
    with _held_port() as held:
        port = held.getsockname()[1]
        # When a worker starts with the same settings
        result = _imagequeue("worker", env={**service_env, "WORKER_METRICS_PORT": str(port)})

    # Then it says in one line what to change, and exits 1
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [_PORT_IN_USE.format(port=port)]


def test_a_worker_that_cannot_listen_on_its_metrics_host_says_which_settings_to_check(
    service_env: dict[str, str],
) -> None:
    # 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    env = {**service_env, "WORKER_METRICS_HOST": "192.0.2.1", "WORKER_METRICS_PORT": "9100"}

    result = _imagequeue("worker", env=env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "worker metrics cannot listen on 192.0.2.1:9100 (Cannot assign requested address): "
        "check WORKER_METRICS_HOST and WORKER_METRICS_PORT, or set WORKER_METRICS_PORT to 0 "
        "for none"
    ]


def test_up_stops_with_one_line_when_the_worker_metrics_port_is_taken(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    with own_database_and_vhost() as (database_url, amqp_url), _held_port() as held:
        port = held.getsockname()[1]
        env = {
            **service_env,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "STORAGE_DIR": str(tmp_path),
            "PORT": str(free_port()),
            "WORKER_METRICS_PORT": str(port),
        }
        result = _imagequeue("up", env=env)

    # make reports this status ("Error 1"); the server, stopped with it, gets no say in it
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert _PORT_IN_USE.format(port=port) in lines
    assert lines[-1] == "the worker exited (status 1), so the server was stopped too"
    assert "Traceback" not in result.stderr


def test_serve_on_a_port_another_program_holds_is_one_line_and_no_url(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    with _held_port() as held:
        port = held.getsockname()[1]
        env = {**service_env, "STORAGE_DIR": str(tmp_path), "PORT": str(port)}
        result = _imagequeue("serve", env=env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another program holds it? set PORT, or pass --port)"
    ]
    # No URL that would never answer
    assert "imagequeue API on" not in result.stdout


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (["worker", "--concurrency", "0"], "argument --concurrency: '0' is not 1 or more"),
        (["worker", "--concurrency", "-3"], "argument --concurrency: '-3' is not 1 or more"),
        (["serve", "--port", "99999"], "argument --port: '99999' is not a port (1-65535)"),
        (["up", "--port", "0"], "argument --port: '0' is not a port (1-65535)"),
        (["serve", "--port", "eighty"], "argument --port: 'eighty' is not a whole number"),
    ],
)
def test_numbers_out_of_range_are_refused_as_bad_arguments(
    arguments: list[str], refusal: str
) -> None:
    result = _imagequeue(*arguments)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1].endswith(refusal), result.stderr
    assert "Traceback" not in result.stderr


def test_argument_mistakes_are_told_with_the_subcommands_own_usage() -> None:
    no_action = _imagequeue("dlq")
    list_ids = _imagequeue("dlq", "list", "5")
    timeout_alone = _imagequeue("upload", "--timeout-s", "5", "cat.jpg")

    for result in (no_action, list_ids, timeout_alone):
        assert result.returncode == 2, result.stdout + result.stderr
    # Only the action is required: the ids are optional
    assert no_action.stderr.splitlines()[-1].endswith(
        "the following arguments are required: action"
    )
    assert list_ids.stderr.splitlines()[0].startswith("usage: imagequeue dlq ")
    assert list_ids.stderr.splitlines()[-1].endswith(
        "dlq list takes no IMAGE_ID (it lists every dead letter)"
    )
    assert timeout_alone.stderr.splitlines()[0].startswith("usage: imagequeue upload ")
    assert timeout_alone.stderr.splitlines()[-1].endswith("--timeout-s needs --wait")


def test_a_vhost_the_broker_refuses_is_said_in_words(service_env: dict[str, str]) -> None:
    missing = f"{service_env['AMQP_URL'].rsplit('/', 1)[0]}/no-such-vhost"

    result = _imagequeue("dlq", "list", env={**service_env, "AMQP_URL": missing})

    line = _one_line_error(result, secret="no-such-vhost")
    assert line == (
        "cannot reach RabbitMQ: the broker closed the connection as it opened "
        "(check AMQP_URL's vhost and the user's permissions on it)"
    )


# Configuration ----------------------------------------------------------------------------


def test_the_server_url_comes_from_imagequeue_url(api: Api, tmp_path: Path) -> None:
    (tmp_path / "from-env.jpg").write_bytes(photo(64, 64))
    env = {"IMAGEQUEUE_URL": f"{api.base_url}/graphql"}

    result = _imagequeue("upload", str(tmp_path / "from-env.jpg"), env=env)
    usage = _imagequeue("upload", "--help")

    assert result.returncode == 0, result.stdout + result.stderr
    image_id = _summary_row(result.stdout, "from-env.jpg").split("│")[2].strip()
    image = api.image(image_id)
    assert image is not None and image["filename"] == "from-env.jpg"
    assert "IMAGEQUEUE_URL" in usage.stdout


@pytest.mark.parametrize(("module", "option"), [("server", "--port"), ("worker", "--concurrency")])
def test_python_m_server_and_worker_take_the_same_options_as_imagequeue(
    module: str, option: str
) -> None:
    # `python -m server --port 8002` once started a server on the default port instead
    try:
        usage = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env=_ENV,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m {module} --help did not answer: it started a {module}")
    assert usage.returncode == 0, usage.stderr
    assert option in usage.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "JOB_TIMEOUT_S",
            "abc",
            "JOB_TIMEOUT_S: Input should be a valid number, unable to parse string as a number",
        ),
        (
            "LOG_LEVEL",
            "verbose",
            "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
        ("DB_POOL_MIN_SIZE", "20", "DB_POOL_MIN_SIZE (20) must not exceed DB_POOL_MAX_SIZE (10)"),
        (
            "DATABASE_URL",
            "postgresql://imagequeue:s3cr3t#2024@127.0.0.1:5432/imagequeue",
            "DATABASE_URL: is not a valid URL: percent-encode reserved characters in the user "
            "name and password (# as %23, / as %2F, ? as %3F, @ as %40, % as %25)",
        ),
        (
            "AMQP_URL",
            "amqp://imagequeue:s3cr3t/w0rd@127.0.0.1:5672/",
            "AMQP_URL: is not a valid URL: percent-encode reserved characters in the user "
            "name and password (# as %23, / as %2F, ? as %3F, @ as %40, % as %25)",
        ),
    ],
)
@pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
def test_a_refused_setting_is_one_line_naming_it_and_exit_2(
    service_env: dict[str, str], command: str, variable: str, value: str, expected: str
) -> None:
    result = _imagequeue(command, env={**service_env, variable: value})

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [expected]
    # Never the value: it may be, or hold, a password.
    assert "s3cr3t" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("service", ["DATABASE_URL", "AMQP_URL"])
def test_a_server_or_worker_that_cannot_reach_a_service_at_start_says_so_in_one_line(
    service_env: dict[str, str], command: str, service: str
) -> None:
    scheme = "amqp://guest:s3cret" if service == "AMQP_URL" else "postgresql://postgres:s3cret"
    closed = f"{scheme}@127.0.0.1:{free_port()}/imagequeue"

    result = _imagequeue(command, env={**service_env, service: closed, "PORT": str(free_port())})

    line = _one_line_error(result, secret="s3cret")
    which = "RabbitMQ" if service == "AMQP_URL" else "the database"
    assert line == f"cannot reach {which}: Connection refused"
