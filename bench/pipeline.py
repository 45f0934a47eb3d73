"""Benchmark: pipeline throughput against the processing limit.

The limit is ``worker.processing.process_image`` (our rendition code, default renditions)
in a plain loop over the photos, in a pool of as many processes as the worker gets: no
server, queue or database. The pipeline is the same photos uploaded through the GraphQL API
(multipart, 4 uploads in flight) to a real server, processed by a real worker with that
concurrency, timed from the first upload to the last COMPLETED seen on an ``imageUpdates``
subscription. Both run in the same session, in alternating order, ``--repeat`` times.

Run from the repository root: ``.venv/bin/python -m bench.pipeline`` (``make bench``);
the issue's full size is ``--count 200``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.stack import (
    EventWatcher,
    HttpConnection,
    Stack,
    host_port,
    isolated_stack,
    median,
    multipart_upload,
    photo_set,
    print_machine,
    retrying,
    upload,
    write_results,
)
from infra.renditions import DEFAULT_PRESETS, thumb_spec
from infra.storage.local import LocalStorage
from worker.processing import Limits, Target, process_image

SPECS = (thumb_spec(256, 85), *DEFAULT_PRESETS)
UPLOADS_IN_FLIGHT = 4
TIMEOUT_PER_IMAGE_S = 10.0


@dataclass(frozen=True, slots=True)
class Row:
    megapixels: int
    workers: int
    images: int
    limit_s: float
    pipeline_s: float
    limit_images_per_s: float
    pipeline_images_per_s: float
    ratio: float
    limit_runs_s: list[float]
    pipeline_runs_s: list[float]


def _render(root: str, key: str, out_prefix: str) -> None:
    storage = LocalStorage(Path(root))
    targets = [Target(spec, f"{out_prefix}/{spec.name}") for spec in SPECS]
    process_image(storage, key, targets, Limits())


def write_originals(root: Path, photos: Sequence[bytes]) -> list[str]:
    """Store the photos under ``root/originals`` as ``_render`` reads them; their keys."""
    (root / "originals").mkdir(exist_ok=True)
    keys = []
    for index, photo in enumerate(photos):
        key = f"originals/{index:04d}.jpg"
        (root / key).write_bytes(photo)
        keys.append(key)
    return keys


def run_limit(pool: ProcessPoolExecutor, root: Path, keys: Sequence[str], label: str) -> float:
    """Seconds for the pool to render every key, one task per image as the worker submits."""
    start_s = time.perf_counter()
    futures = [
        pool.submit(_render, str(root), key, f"limit/{label}/{index}")
        for index, key in enumerate(keys)
    ]
    for future in futures:
        future.result()
    return time.perf_counter() - start_s


async def run_pipeline(base_url: str, photos: Sequence[bytes], watcher: EventWatcher) -> float:
    """Seconds from the first upload until the last image's COMPLETED arrives."""
    bodies = [multipart_upload(photo, f"bench-{index}.jpg") for index, photo in enumerate(photos)]
    host, port = host_port(base_url)
    pending = iter(bodies)
    ids: list[int] = []

    async def uploader() -> None:
        connection = HttpConnection(host, port)
        try:
            for body, content_type in pending:
                ids.append(await upload(connection, body, content_type))
        finally:
            await connection.close()

    start_s = time.time()
    await asyncio.gather(*(uploader() for _ in range(UPLOADS_IN_FLIGHT)))
    finals = await watcher.wait_final(ids, timeout_s=TIMEOUT_PER_IMAGE_S * len(ids))
    return max(receipt.received_at_s for receipt in finals.values()) - start_s


def measure(
    stack: Stack, base_url: str, megapixels: int, workers: int, photos: list[bytes], repeat: int
) -> Row:
    limit_runs: list[float] = []
    pipeline_runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="iq-bench-limit-") as root:
        keys = write_originals(Path(root), photos)
        worker = stack.start_worker(workers)
        pool = ProcessPoolExecutor(max_workers=workers)
        try:

            async def session() -> None:
                watcher = await EventWatcher.open(base_url)
                try:
                    # Warm-up: every pool process started and imported, both sides; this
                    # also proves the subscription is registered before the timed uploads.
                    run_limit(pool, Path(root), keys[: workers * 2], "warmup")
                    await run_pipeline(base_url, photos[: workers * 2], watcher)
                    for round_index in range(repeat):
                        # Alternate the order so drift on a shared machine hits both.
                        order = ["limit", "pipeline"][:: 1 if round_index % 2 == 0 else -1]
                        for name in order:
                            stack.clear_storage()
                            if name == "limit":
                                elapsed_s = await asyncio.to_thread(
                                    run_limit, pool, Path(root), keys, str(round_index)
                                )
                                limit_runs.append(elapsed_s)
                            else:
                                elapsed_s = await retrying(
                                    lambda: run_pipeline(base_url, photos, watcher),
                                    f"pipeline round {round_index + 1}",
                                )
                                pipeline_runs.append(elapsed_s)
                            print(
                                f"  {megapixels:>2} MP, {workers} worker(s), round "
                                f"{round_index + 1}/{repeat}: {name:<8} {elapsed_s:7.2f} s",
                                flush=True,
                            )
                finally:
                    await watcher.close()

            asyncio.run(session())
        finally:
            pool.shutdown(wait=True)
            worker.stop()
            stack.clear_storage()
    limit_s, pipeline_s = median(limit_runs), median(pipeline_runs)
    return Row(
        megapixels=megapixels,
        workers=workers,
        images=len(photos),
        limit_s=limit_s,
        pipeline_s=pipeline_s,
        limit_images_per_s=len(photos) / limit_s,
        pipeline_images_per_s=len(photos) / pipeline_s,
        ratio=limit_s / pipeline_s,
        limit_runs_s=limit_runs,
        pipeline_runs_s=pipeline_runs,
    )


def format_table(rows: Sequence[Row]) -> str:
    lines = [
        "| input | workers | images | limit (img/s) | pipeline (img/s) | pipeline / limit |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.megapixels} MP | {row.workers} | {row.images} | "
            f"{row.limit_images_per_s:.2f} | {row.pipeline_images_per_s:.2f} | {row.ratio:.2f} |"
        )
    return "\n".join(lines)


def run(
    sizes: Sequence[int], workers_list: Sequence[int], count: int, distinct: int, repeat: int
) -> list[Row]:
    rows: list[Row] = []
    with isolated_stack() as stack:
        _, base_url = stack.start_server()
        for megapixels in sizes:
            start_s = time.perf_counter()
            photos = photo_set(megapixels, count, distinct)
            made_s = time.perf_counter() - start_s
            print(
                f"{count} x {megapixels} MP photos ({distinct} distinct, "
                f"{sum(map(len, photos)) / 2**20:.0f} MiB) in {made_s:.1f} s",
                flush=True,
            )
            for workers in workers_list:
                rows.append(measure(stack, base_url, megapixels, workers, photos, repeat))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=40, help="images per run (issue: 200)")
    parser.add_argument("--sizes", default="2,12", help="megapixels: 2, 12 or both")
    parser.add_argument("--workers", default="1,2", help="worker processes to compare")
    parser.add_argument("--distinct", type=int, default=16, help="distinct photos per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    workers_list = [int(workers) for workers in args.workers.split(",")]

    print_machine("other engineers' test suites may be running on this machine too")
    rows = run(sizes, workers_list, args.count, args.distinct, args.repeat)
    print(f"\nmedian of {args.repeat} runs; goal: pipeline / limit >= 0.9")
    print(format_table(rows))
    write_results(
        "pipeline",
        {
            "parameters": {
                "count": args.count,
                "sizes_mp": sizes,
                "workers": workers_list,
                "distinct": args.distinct,
                "repeat": args.repeat,
                "uploads_in_flight": UPLOADS_IN_FLIGHT,
                "renditions": [spec.name for spec in SPECS],
            },
            "rows": [asdict(row) for row in rows],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
