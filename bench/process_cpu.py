"""Benchmark: the CPU an image costs each process, and the pipeline's share against Pillow's.

Photos are uploaded one at a time, each after the previous one's COMPLETED event, to a
server and a worker with one pool process. The CPU time (user + system, from /proc) each
process used during the run, divided by the number of images, is reported for the API
server, the worker's main process (consuming, claiming, updating rows, publishing events)
and the pool process (Pillow). The ratio is the pipeline's part (server + worker main)
against the pool's, measured in the same run: the CPU an image takes from the cores that
render, and, being CPU rather than wall time, less swayed by the machine's other tenants.

Small photos (``--megapixels 0.1``) make the pipeline's own cost stand out; compare two
checkouts by running each in turn from its root.

Run from the repository root: ``.venv/bin/python -m bench.process_cpu``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.stack import (
    EventWatcher,
    HttpConnection,
    host_port,
    isolated_stack,
    median,
    multipart_upload,
    photo_jpeg,
    print_machine,
    proc_cpu_s,
    upload,
    write_results,
)

_WARM_UP_IMAGES = 10


@dataclass(frozen=True, slots=True)
class Round:
    images: int
    server_ms_per_image: float
    worker_main_ms_per_image: float
    pool_ms_per_image: float

    @property
    def pipeline_vs_pool(self) -> float:
        return (self.server_ms_per_image + self.worker_main_ms_per_image) / self.pool_ms_per_image


def child_pids(pid: int) -> list[int]:
    """The children of ``pid`` (the worker's pool processes), from every one of its threads."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def photos(megapixels: float, distinct: int) -> list[bytes]:
    width = round((megapixels * 1_000_000 * 4 / 3) ** 0.5)
    return [photo_jpeg((width, width * 3 // 4), seed) for seed in range(distinct)]


async def one_round(base_url: str, bodies: Sequence[bytes], pids: dict[str, list[int]]) -> Round:
    host, port = host_port(base_url)
    watcher = await EventWatcher.open(base_url)
    connection = HttpConnection(host, port)

    async def upload_one_by_one(count: int) -> None:
        for index in range(count):
            body, content_type = multipart_upload(bodies[index % len(bodies)], f"cpu-{index}.jpg")
            image_id = await upload(connection, body, content_type)
            await watcher.wait_final([image_id], timeout_s=60)

    def cpu_s() -> dict[str, float]:
        return {name: sum(proc_cpu_s(pid) for pid in group) for name, group in pids.items()}

    try:
        await upload_one_by_one(_WARM_UP_IMAGES)
        before = cpu_s()
        await upload_one_by_one(len(bodies))
        after = cpu_s()
    finally:
        await connection.close()
        await watcher.close()
    per_image_ms = {name: (after[name] - before[name]) * 1000 / len(bodies) for name in pids}
    return Round(
        len(bodies), per_image_ms["server"], per_image_ms["worker_main"], per_image_ms["pool"]
    )


def run(*, count: int, repeat: int, megapixels: float, distinct: int) -> list[Round]:
    bodies = (photos(megapixels, distinct) * count)[:count]
    rounds: list[Round] = []
    with isolated_stack() as stack:
        server, base_url = stack.start_server()
        worker = stack.start_worker(1)
        try:
            for round_index in range(repeat):
                # Read each round: a pool process replaced after a crash has a new pid.
                pids = {
                    "server": [server.popen.pid],
                    "worker_main": [worker.popen.pid],
                    "pool": child_pids(worker.popen.pid),
                }
                result = asyncio.run(one_round(base_url, bodies, pids))
                rounds.append(result)
                stack.clear_storage()
                print(
                    f"  round {round_index + 1}/{repeat}: server "
                    f"{result.server_ms_per_image:.2f}, worker main "
                    f"{result.worker_main_ms_per_image:.2f}, pool "
                    f"{result.pool_ms_per_image:.2f} ms of CPU per image",
                    flush=True,
                )
        finally:
            worker.stop()
    return rounds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=150, help="images per round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--megapixels", type=float, default=0.1)
    parser.add_argument("--distinct", type=int, default=10, help="distinct photos")
    args = parser.parse_args(argv)

    print_machine("other engineers' test suites may be running on this machine too")
    rounds = run(
        count=args.count, repeat=args.repeat, megapixels=args.megapixels, distinct=args.distinct
    )
    print(
        f"\nCPU per {args.megapixels} MP image, median of {args.repeat} rounds of {args.count}:\n"
        f"| server | worker main | pool (Pillow) | (server + worker main) / pool |\n"
        f"|---:|---:|---:|---:|\n"
        f"| {median([r.server_ms_per_image for r in rounds]):.2f} ms "
        f"| {median([r.worker_main_ms_per_image for r in rounds]):.2f} ms "
        f"| {median([r.pool_ms_per_image for r in rounds]):.2f} ms "
        f"| {median([r.pipeline_vs_pool for r in rounds]):.2f} |"
    )
    write_results(
        "process_cpu",
        {
            "parameters": vars(args),
            "rounds": [asdict(r) | {"pipeline_vs_pool": r.pipeline_vs_pool} for r in rounds],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
