"""The ``imagequeue`` CLI as a user runs it, against the real server and worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.client import Api
from tests.images import photo
from tests.processes import REPO_ROOT, own_server
from tests.scraping import scrape, value, wait_for

_ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def _imagequeue(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_ENV,
    )


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
