"""``imagequeue stats``: exact numbers from known rows, and the command against a live stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from cli.stats import format_stats
from infra.db.images import ImageStatus
from infra.db.stats import count_by_status, processing_times, throughput_per_minute
from tests.client import Api
from tests.images import photo
from tests.processes import REPO_ROOT, own_server


async def test_counts_and_percentiles_from_known_rows(connection: asyncpg.Connection) -> None:
    # Given ten completed images: the worker took k seconds on the k-th, after 2 s in the queue
    await connection.execute(
        """
        INSERT INTO images (filename, original_path, status, created_at, started_at, processed_at)
        SELECT 'x.jpg', 'originals/x.jpg', 'completed',
               t, t + interval '2 s', t + interval '2 s' + k * interval '1 s'
        FROM generate_series(1, 10) AS k, (SELECT now() AS t) AS now
        """
    )
    await connection.execute(
        "INSERT INTO images (filename, original_path, status) VALUES ('p.jpg', 'originals/p', "
        "'pending'), ('f.jpg', 'originals/f', 'failed')"
    )

    counts = await count_by_status(connection)
    times = await processing_times(connection)

    assert counts == {
        ImageStatus.PENDING: 1,
        ImageStatus.PROCESSING: 0,
        ImageStatus.COMPLETED: 10,
        ImageStatus.FAILED: 1,
    }
    # percentile_cont interpolates: over 1..10 the median is 5.5 and p95 is 9.55.
    assert times.completed == 10
    assert times.processing_p50_s == pytest.approx(5.5)
    assert times.processing_p95_s == pytest.approx(9.55)
    assert times.end_to_end_p50_s == pytest.approx(7.5)
    assert times.end_to_end_p95_s == pytest.approx(11.55)
    assert times.processing_avg_s == pytest.approx(5.5)


async def test_timings_are_over_the_most_recently_completed_images(
    connection: asyncpg.Connection,
) -> None:
    # Given an image that took 100 s an hour ago, and two that took 1 s and 3 s just now
    await connection.execute(
        """
        INSERT INTO images (filename, original_path, status, created_at, started_at, processed_at)
        VALUES ('old.jpg', 'originals/old', 'completed',
                now() - interval '1 hour', now() - interval '1 hour',
                now() - interval '1 hour' + interval '100 s'),
               ('a.jpg', 'originals/a', 'completed', now(), now(), now() + interval '1 s'),
               ('b.jpg', 'originals/b', 'completed', now(), now(), now() + interval '3 s')
        """
    )
    # When timings are asked for over the latest two
    times = await processing_times(connection, latest=2)
    # Then the old image does not count
    assert times.completed == 2
    assert times.processing_avg_s == pytest.approx(2.0)
    assert times.processing_p95_s == pytest.approx(2.9)


async def test_no_completed_image_gives_no_percentiles(connection: asyncpg.Connection) -> None:
    times = await processing_times(connection)
    assert times.completed == 0
    assert times.processing_p50_s is None and times.end_to_end_p95_s is None


async def test_throughput_counts_final_images_per_minute(connection: asyncpg.Connection) -> None:
    # Given two completed images and one failed this minute, one completed two minutes ago,
    # and one completed long before the window
    await connection.execute(
        """
        INSERT INTO images (filename, original_path, status, processed_at)
        VALUES ('a', 'originals/a', 'completed', date_trunc('minute', now())),
               ('b', 'originals/b', 'completed', date_trunc('minute', now())),
               ('c', 'originals/c', 'failed', date_trunc('minute', now())),
               ('d', 'originals/d', 'completed',
                date_trunc('minute', now()) - interval '2 minutes' + interval '30 s'),
               ('e', 'originals/e', 'completed', now() - interval '1 hour'),
               ('f', 'originals/f', 'pending', NULL)
        """
    )

    minutes = await throughput_per_minute(connection, 5)

    # Then every minute of the window is there, oldest first, zeros included
    assert len(minutes) == 5
    assert [m.minute for m in minutes] == sorted(m.minute for m in minutes)
    assert [(m.completed, m.failed) for m in minutes] == [(0, 0), (0, 0), (1, 0), (0, 0), (2, 1)]


STATS_QUERY = """
{ stats(throughputMinutes: 3) {
    counts { pending processing completed failed total }
    queue { name waiting consumers error }
    processing { completed averageS p50S p95S endToEndP50S endToEndP95S }
    throughput { minute completed failed }
} }
"""


def test_stats_query_reports_a_live_stack(service_env: dict[str, str], tmp_path: Path) -> None:
    # Given a stack of its own, one worker attached, whose only image is one completed upload
    with own_server(service_env, tmp_path, {}) as own:
        own.launcher.start_worker()
        upload = own.api.upload("gql-stats.jpg", photo())
        assert own.api.wait_final(upload["id"])["status"] == "COMPLETED"

        stats = own.api.graphql(STATS_QUERY)["data"]["stats"]

    assert stats["counts"] == {
        "pending": 0, "processing": 0, "completed": 1, "failed": 0, "total": 1,
    }  # fmt: skip
    assert stats["queue"] == {
        "name": "image_processing", "waiting": 0, "consumers": 1, "error": None,
    }  # fmt: skip
    # One image: every percentile is its own time, and its time in the queue comes on top
    processing = stats["processing"]
    assert processing["completed"] == 1
    assert processing["averageS"] > 0
    assert processing["p50S"] == pytest.approx(processing["averageS"])
    assert processing["p95S"] == pytest.approx(processing["averageS"])
    assert processing["endToEndP50S"] == pytest.approx(processing["endToEndP95S"])
    assert processing["endToEndP50S"] >= processing["averageS"]
    assert len(stats["throughput"]) == 3
    # The image just finished, so it counts in the current minute (or the one before, at
    # a minute boundary), and nothing failed.
    assert sum(m["completed"] for m in stats["throughput"][-2:]) == 1
    assert sum(m["failed"] for m in stats["throughput"]) == 0


def test_stats_query_refuses_a_silly_window(api: Api) -> None:
    body = api.graphql("{ stats(throughputMinutes: 0) { counts { total } } }")
    assert body["errors"][0]["message"] == "throughputMinutes must be between 1 and 60"


def test_stats_text_puts_every_timing_under_its_header() -> None:
    stats = {
        "images": {"pending": 3, "processing": 2, "completed": 118, "failed": 1},
        "processing_times": {
            "completed": 118,
            "processing_p50_s": 0.041,
            "processing_p95_s": 0.13,
            "end_to_end_p50_s": 0.093,
            "end_to_end_p95_s": 1.87,
        },
        "queue": {"name": "image_processing", "messages": 0, "consumers": 3},
    }

    lines = format_stats(stats).splitlines()

    header = next(line for line in lines if line.rstrip().endswith("p95"))
    worker = next(line for line in lines if line.lstrip().startswith("worker"))
    end_to_end = next(line for line in lines if line.lstrip().startswith("end to end"))
    p50_ends_at = header.index("p50") + len("p50")
    # Each number ends where its header does, and the labels leave a space before them.
    assert worker[:p50_ends_at].endswith("0.041 s"), f"{header}\n{worker}"
    assert end_to_end[:p50_ends_at].endswith(" 0.093 s"), f"{header}\n{end_to_end}"
    assert len(worker) == len(end_to_end) == len(header)
    assert worker.endswith("0.130 s") and end_to_end.endswith("1.870 s")


def test_stats_command_reports_a_live_stack(api: Api, service_env: dict[str, str]) -> None:
    assert api.wait_final(api.upload("stats.jpg", photo())["id"])["status"] == "COMPLETED"

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cli", "stats", *args],
            cwd=REPO_ROOT,
            env={**os.environ, **service_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    stats = json.loads(run("--json"))
    assert set(stats["images"]) == {"pending", "processing", "completed", "failed"}
    assert stats["images"]["completed"] >= 1
    assert stats["processing_times"]["processing_p50_s"] > 0
    # The session's worker is attached to the queue of this run's vhost.
    assert stats["queue"]["name"] == "image_processing"
    assert stats["queue"]["consumers"] >= 1

    text = run()
    assert "images by status" in text
    assert "queue image_processing:" in text and "consumers" in text
