"""Benchmark: upload-to-COMPLETED latency of single 2 MP images at a steady rate.

The rate keeps the worker's pool ``--utilisation`` busy (default 50 %): first
``process_image`` is timed on the same photos in this process, then one upload starts
every ``processing time / (utilisation x workers)`` seconds. For each image:

- total: from the start of its upload (client clock) to the receipt of its COMPLETED event
  on an ``imageUpdates`` subscription;
- processing: ``processed_at - started_at`` from its row, i.e. from the worker's claim of
  the row to the start of the UPDATE that completes it (both ``now()`` in PostgreSQL);
- overhead: total minus processing: the upload request, storing the original, the INSERT,
  publishing, queueing, delivery to the worker, the claim, the final UPDATE and the event's
  way back through RabbitMQ, the server's hub and the WebSocket. The event's part is split
  at its ``occurredAt``, set when the worker publishes it: before it, the final UPDATE and
  the worker's turn to publish; after it, the broker, the server and the WebSocket.

The part of the worker's own window that is not Pillow (handing the job to the pool
process and back) is reported separately: the median window minus the median plain
``process_image`` time. Client and server share one clock (same machine).

Run from the repository root: ``.venv/bin/python -m bench.latency`` (``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from bench.pipeline import _render, write_originals
from bench.stack import (
    EventWatcher,
    HttpConnection,
    host_port,
    isolated_stack,
    median,
    multipart_upload,
    percentile,
    photo_set,
    print_machine,
    retrying,
    upload,
    write_results,
)

QUANTILES = (50, 95, 99)


@dataclass(frozen=True, slots=True)
class Sample:
    image_id: int
    total_s: float
    upload_s: float
    processing_s: float
    queued_s: float
    event_s: float
    published_s: float = 0.0
    """processed_at → the COMPLETED event's ``occurredAt`` (the worker's commit and publish);
    the rest of ``event_s`` is its way through RabbitMQ, the server and the WebSocket."""
    upload_started_at_s: float = 0.0
    """Epoch seconds, to line samples up against each other."""

    @property
    def overhead_s(self) -> float:
        return self.total_s - self.processing_s


@dataclass(frozen=True, slots=True)
class Summary:
    """Milliseconds at p50 / p95 / p99, medians over the runs."""

    total_ms: dict[int, float]
    processing_ms: dict[int, float]
    overhead_ms: dict[int, float]
    upload_ms: dict[int, float]
    queued_ms: dict[int, float]
    event_ms: dict[int, float]
    published_ms: dict[int, float]


def plain_processing_s(photos: Sequence[bytes]) -> float:
    """Median ``process_image`` time for these photos in a plain loop, after a warm-up."""
    with tempfile.TemporaryDirectory(prefix="iq-bench-latency-") as root:
        keys = write_originals(Path(root), photos)
        _render(root, keys[0], "warmup")
        runs = []
        for index, key in enumerate(keys):
            start_s = time.perf_counter()
            _render(root, key, f"plain/{index}")
            runs.append(time.perf_counter() - start_s)
    return statistics.median(runs)


async def one_run(
    base_url: str,
    database_url: str,
    photos: Sequence[bytes],
    interval_s: float,
    watcher: EventWatcher,
) -> list[Sample]:
    host, port = host_port(base_url)
    bodies = [multipart_upload(photo, f"latency-{index}.jpg") for index, photo in enumerate(photos)]
    sent: dict[int, tuple[float, float]] = {}

    async def send(body: bytes, content_type: str) -> None:
        connection = HttpConnection(host, port)
        try:
            started_s = time.time()
            image_id = await upload(connection, body, content_type)
            sent[image_id] = (started_s, time.time())
        finally:
            await connection.close()

    tasks = []
    start_s = time.monotonic()
    for index, (body, content_type) in enumerate(bodies):
        # A fixed schedule (not "after the previous one"), so a slow request does not
        # lower the rate.
        await asyncio.sleep(max(0.0, start_s + index * interval_s - time.monotonic()))
        tasks.append(asyncio.create_task(send(body, content_type)))
    await asyncio.gather(*tasks)
    finals = await watcher.wait_final(list(sent), timeout_s=60 + 10 * len(sent))

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, created_at, started_at, processed_at FROM images WHERE id = ANY($1)",
            list(sent),
        )
    finally:
        await connection.close()
    samples = []
    for row in rows:
        upload_start_s, upload_end_s = sent[row["id"]]
        received_s = finals[row["id"]].received_at_s
        samples.append(
            Sample(
                image_id=row["id"],
                total_s=received_s - upload_start_s,
                upload_s=upload_end_s - upload_start_s,
                processing_s=(row["processed_at"] - row["started_at"]).total_seconds(),
                queued_s=(row["started_at"] - row["created_at"]).total_seconds(),
                event_s=received_s - row["processed_at"].timestamp(),
                published_s=finals[row["id"]].occurred_at_s - row["processed_at"].timestamp(),
                upload_started_at_s=upload_start_s,
            )
        )
    return samples


def summarise(runs: Sequence[Sequence[Sample]]) -> Summary:
    def by_quantile(values_of_run: list[list[float]]) -> dict[int, float]:
        return {
            q: median([percentile(values, q) * 1000 for values in values_of_run]) for q in QUANTILES
        }

    return Summary(
        total_ms=by_quantile([[s.total_s for s in run] for run in runs]),
        processing_ms=by_quantile([[s.processing_s for s in run] for run in runs]),
        overhead_ms=by_quantile([[s.overhead_s for s in run] for run in runs]),
        upload_ms=by_quantile([[s.upload_s for s in run] for run in runs]),
        queued_ms=by_quantile([[s.queued_s for s in run] for run in runs]),
        event_ms=by_quantile([[s.event_s for s in run] for run in runs]),
        published_ms=by_quantile([[s.published_s for s in run] for run in runs]),
    )


def format_table(summary: Summary) -> str:
    lines = ["| ms | p50 | p95 | p99 |", "|---|---:|---:|---:|"]
    for label, values in (
        ("upload → COMPLETED received (total)", summary.total_ms),
        ("worker window (processed_at - started_at)", summary.processing_ms),
        ("**overhead** (total - window)", summary.overhead_ms),
        ("of which: upload request", summary.upload_ms),
        ("of which: row created → claimed (queue)", summary.queued_ms),
        ("of which: processed_at → event received", summary.event_ms),
        ("of that: processed_at → event published", summary.published_ms),
    ):
        lines.append(f"| {label} | " + " | ".join(f"{values[q]:.1f}" for q in QUANTILES) + " |")
    return "\n".join(lines)


def run(
    count: int, repeat: int, workers: int, utilisation: float, distinct: int
) -> tuple[Summary, dict[str, float], list[list[Sample]]]:
    photos = photo_set(2, count, distinct)
    plain_s = plain_processing_s(photos[:distinct])
    interval_s = plain_s / (utilisation * workers)
    print(
        f"plain process_image: {plain_s * 1000:.0f} ms per 2 MP photo; one upload every "
        f"{interval_s * 1000:.0f} ms keeps {workers} worker process(es) ~{utilisation:.0%} busy",
        flush=True,
    )
    runs: list[list[Sample]] = []
    with isolated_stack() as stack:
        _, base_url = stack.start_server()
        worker = stack.start_worker(workers)

        async def session() -> None:
            watcher = await EventWatcher.open(base_url)
            try:
                await one_run(base_url, stack.database_url, photos[:2], interval_s, watcher)
                for round_index in range(repeat):
                    stack.clear_storage()
                    samples = await retrying(
                        lambda: one_run(base_url, stack.database_url, photos, interval_s, watcher),
                        f"latency round {round_index + 1}",
                    )
                    runs.append(samples)
                    overhead = [s.overhead_s for s in samples]
                    print(
                        f"  round {round_index + 1}/{repeat}: {len(samples)} images, total p50 "
                        f"{percentile([s.total_s for s in samples], 50) * 1000:.0f} ms, "
                        f"overhead p50 {percentile(overhead, 50) * 1000:.1f} / p99 "
                        f"{percentile(overhead, 99) * 1000:.1f} ms",
                        flush=True,
                    )
            finally:
                await watcher.close()

        try:
            asyncio.run(session())
        finally:
            worker.stop()
    summary = summarise(runs)
    window_s = median([s.processing_s for run in runs for s in run])
    rates = {
        "plain_process_image_ms": plain_s * 1000,
        "interval_ms": interval_s * 1000,
        "uploads_per_s": 1 / interval_s,
        "worker_window_median_ms": window_s * 1000,
        "worker_window_minus_plain_ms": (window_s - plain_s) * 1000,
    }
    return summary, rates, runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100, help="images per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--utilisation", type=float, default=0.5)
    parser.add_argument("--distinct", type=int, default=16, help="distinct photos")
    args = parser.parse_args(argv)

    print_machine("other engineers' test suites may be running on this machine too")
    summary, rates, runs = run(
        args.count, args.repeat, args.workers, args.utilisation, args.distinct
    )
    print(
        f"\nmedian over {args.repeat} runs of {args.count} images; "
        f"goal: overhead p99 < 20 ms\n"
        f"worker window minus plain process_image: "
        f"{rates['worker_window_minus_plain_ms']:.1f} ms (medians)"
    )
    print(format_table(summary))
    write_results(
        "latency",
        {
            "parameters": vars(args),
            "rates": rates,
            "summary": asdict(summary),
            "runs": [[asdict(sample) for sample in run] for run in runs],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
