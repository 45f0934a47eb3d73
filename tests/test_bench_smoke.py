"""The end-to-end benchmarks at their smallest sizes, so they cannot rot.

These check that each benchmark runs through and reports what it should; they assert
nothing about timings, which belong in docs/benchmarks.md, not in a pass/fail test.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest

from bench import fanout, latency, pipeline, process_cpu, upload_path, worker_memory
from tests.services import require_postgres, require_rabbitmq


@pytest.fixture(autouse=True)
def _services() -> None:
    require_postgres()
    require_rabbitmq()


def test_pipeline_reports_limit_pipeline_and_ratio() -> None:
    rows = pipeline.run(sizes=[2], workers_list=[1], count=2, distinct=1, repeat=1)

    assert [(row.megapixels, row.workers, row.images) for row in rows] == [(2, 1, 2)]
    row = asdict(rows[0])
    assert {"limit_images_per_s", "pipeline_images_per_s", "ratio"} <= row.keys()
    assert row["ratio"] > 0 and len(row["pipeline_runs_s"]) == 1


def test_latency_reports_percentiles_and_overhead() -> None:
    summary, rates, runs = latency.run(count=3, repeat=1, workers=1, utilisation=0.5, distinct=2)

    assert len(runs) == 1 and len(runs[0]) == 3
    for field in ("total_ms", "processing_ms", "overhead_ms", "event_ms", "published_ms"):
        values = getattr(summary, field)
        assert set(values) == {50, 95, 99} and all(math.isfinite(v) for v in values.values())
    # The event is published after its row is updated and received after it is published.
    assert all(0 < sample.published_s < sample.event_s for sample in runs[0])
    assert rates["interval_ms"] > 0


def test_process_cpu_reports_each_process_per_image() -> None:
    rounds = process_cpu.run(count=2, repeat=1, megapixels=0.05, distinct=1)

    assert [r.images for r in rounds] == [2]
    # Every image is rendered, so the pool process's clock must have moved.
    assert rounds[0].pool_ms_per_image > 0
    assert rounds[0].server_ms_per_image >= 0 and rounds[0].worker_main_ms_per_image >= 0
    assert math.isfinite(rounds[0].pipeline_vs_pool)


def test_worker_memory_reports_each_rendition_set_against_the_idle_process() -> None:
    rows = worker_memory.run(megapixels=4)

    assert [row.renditions for row in rows] == list(worker_memory.EXTRA_RENDITIONS)
    idle, *rendering = rows
    assert idle.bytes_per_pixel_above_idle == 0
    # Rendering holds the decoded image at least: 4 bytes a pixel, above the idle process.
    assert all(row.peak_mib > idle.peak_mib for row in rendering)


def test_upload_path_compares_with_the_bare_endpoint() -> None:
    rows = upload_path.run(sizes_mib=[0.25], clients=2, duration_s=1, repeat=1)

    assert [row.target for row in rows] == ["ours", "bare"]
    for row in rows:
        assert row.rounds[0].requests > 0 and row.rounds[0].errors == 0
        assert row.peak_rss_mib > 0 and row.server_cpu_ms_per_request > 0
    ours, bare = rows
    assert ours.requests_per_s > 0 and bare.requests_per_s > 0
    assert ours.vs_bare == pytest.approx(ours.requests_per_s / bare.requests_per_s)


def test_fanout_delivers_to_every_subscriber() -> None:
    # A drain far longer than any delivery takes, so a slow machine cannot fail the share:
    # only events that never arrive can.
    rows = fanout.run(counts=[3], client_procs=1, rate=5, duration_s=0.4, drain_s=10, repeat=1)

    assert [row.subscribers for row in rows] == [3]
    assert rows[0].delivered_share == 1.0
    assert math.isfinite(rows[0].p99_ms) and rows[0].server_rss_mib > 0
