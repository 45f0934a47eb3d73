"""``imagequeue stats``: the original design's monitoring queries plus the queue, in one view."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from cli.remote import describe
from cli.services import Unreachable, broker, database
from infra.broker.topology import JOB_QUEUE, job_queue_state
from infra.db.stats import count_by_status, processing_times
from infra.settings import Settings


async def collect_stats(settings: Settings) -> dict[str, Any]:
    async with database(settings) as connection:
        counts = await count_by_status(connection)
        times = await processing_times(connection)
    return {
        "images": {status.value: n for status, n in counts.items()},
        "processing_times": asdict(times),
        "queue": await _queue_state(settings),
    }


async def _queue_state(settings: Settings) -> dict[str, Any]:
    """The job queue's depth and consumers, or why they are unknown: the database's
    numbers are worth showing without them."""
    try:
        connection = await broker(settings, client_name="imagequeue-stats")
    except Unreachable as exc:
        return {"name": JOB_QUEUE, "error": str(exc)}
    try:
        # Passive: stats must never create the queue (or change its arguments).
        messages, consumers = await job_queue_state(connection)
    except Exception as exc:
        return {"name": JOB_QUEUE, "error": describe(exc)}
    finally:
        await connection.close()
    return {"name": JOB_QUEUE, "messages": messages, "consumers": consumers}


def format_stats(stats: dict[str, Any]) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f} s"

    times = stats["processing_times"]
    queue = stats["queue"]
    timings = {
        "worker (started → processed)": ("processing_p50_s", "processing_p95_s"),
        "end to end (created → processed)": ("end_to_end_p50_s", "end_to_end_p95_s"),
    }
    # As wide as the longest label, so the numbers stay under their headers.
    width = max(len(label) for label in timings)
    lines = ["images by status"]
    lines += [f"  {status:<11} {n:>8}" for status, n in stats["images"].items()]
    lines += [
        f"processing time of the latest completed images (n={times['completed']})",
        f"  {'':<{width}} {'p50':>10} {'p95':>10}",
    ]
    lines += [
        f"  {label:<{width}} {seconds(times[p50]):>10} {seconds(times[p95]):>10}"
        for label, (p50, p95) in timings.items()
    ]
    if "error" in queue:
        lines.append(f"queue {queue['name']}: unavailable ({queue['error']})")
    else:
        lines.append(
            f"queue {queue['name']}: {queue['messages']} waiting, {queue['consumers']} consumers"
        )
    return "\n".join(lines)


async def print_stats(settings: Settings, *, as_json: bool) -> None:
    stats = await collect_stats(settings)
    print(json.dumps(stats) if as_json else format_stats(stats))
