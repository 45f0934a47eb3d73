"""Every Prometheus metric imagequeue exports, defined once so any module can update them.

Both processes import this module and expose the same names; each one only moves what it
does (the server counts uploads and watches the queue, workers count jobs), so a counter the
process never touches reads 0 there. Summing over instances in Prometheus gives the totals.

Label values are small fixed sets, never ids or error messages: each distinct value is a
new time series held in memory by every Prometheus that scrapes us.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format every Prometheus version reads; ``generate_latest`` writes it with
its default (underscore) name escaping, and our names need no escaping anyway."""

# Server ------------------------------------------------------------------------------------

UPLOADS = Counter(
    "imagequeue_uploads",
    "Uploaded files by outcome: accepted, rejected (bad input), too_large (a file over the "
    "limit, or a multipart request over the body cap, once per request), "
    "unavailable (database or storage down).",
    ["outcome"],
)

QUEUE_MESSAGES = Gauge(
    "imagequeue_queue_messages",
    "Messages ready in a queue, read by a passive declare when /metrics is scraped.",
    ["queue"],
)
QUEUE_CONSUMERS = Gauge(
    "imagequeue_queue_consumers",
    "Consumers attached to a queue (one per running worker), read with imagequeue_queue_messages.",
    ["queue"],
)

# The transactional outbox: set by server/metrics.py when /metrics is scraped.
OUTBOX_PENDING = Gauge(
    "imagequeue_outbox_pending",
    "Jobs committed with their image and not yet confirmed by the broker (job_outbox "
    "entries, every server's together). NaN when the database cannot be read.",
)
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "imagequeue_outbox_oldest_age_seconds",
    "Age of the oldest job waiting in the outbox; 0 when none waits, NaN when the database "
    "cannot be read.",
)

# Live updates: moved by server/events/hub.py.
SUBSCRIPTIONS_ACTIVE = Gauge(
    "imagequeue_subscriptions_active", "GraphQL subscriptions open on this server."
)
EVENTS_DELIVERED = Counter(
    "imagequeue_events_delivered", "Image events sent to subscribers by this server."
)
EVENTS_DROPPED = Counter(
    "imagequeue_events_dropped",
    "Image events this server dropped for subscribers that read too slowly (their buffer "
    "of SUBSCRIBER_BUFFER_IMAGES images was full).",
)

# GraphQL WebSockets: moved by server/websocket_limits.py and the protocol handlers.
WEBSOCKETS_OPEN = Gauge(
    "imagequeue_websockets_open",
    "GraphQL WebSockets open on this server, counted against MAX_WEBSOCKETS_PER_PROCESS.",
)
WEBSOCKETS_REFUSED = Counter(
    "imagequeue_websockets_refused",
    "GraphQL WebSockets the server closed for a limit, by reason: process_limit "
    "(MAX_WEBSOCKETS_PER_PROCESS) and address_limit (MAX_WEBSOCKETS_PER_ADDRESS), closed "
    "with 1013 right after the handshake; init_timeout (no connection_init within "
    "WS_CONNECTION_INIT_TIMEOUT_S), closed with 4408.",
    ["reason"],
)

# Worker ------------------------------------------------------------------------------------

JOBS_PROCESSED = Counter(
    "imagequeue_jobs_processed",
    "Job deliveries handled, by outcome: completed, failed, retrying (sent back for later), "
    "skipped (image gone or already final), deferred (another delivery holds the image), "
    "handed_back (the worker is stopping), dead_lettered (undecodable, or its paths are not "
    "its image's).",
    ["outcome"],
)
JOBS_FAILED = Counter(
    "imagequeue_jobs_failed",
    "Jobs given up, by reason: unusable_image, timeout, internal (a bug), exhausted (out of "
    "attempts), undecodable (a message no worker can read; dead-lettered, no image failed), "
    "paths_disagree (its paths are not its image's; dead-lettered, the image untouched).",
    ["reason"],
)
JOBS_RETRIED = Counter(
    "imagequeue_jobs_retried",
    "Jobs sent back to be tried later after a transient error, by reason: database, "
    "connection, storage, worker_crash. Waits for an unreachable database use no attempt.",
    ["reason"],
)
PROCESSING_SECONDS = Histogram(
    "imagequeue_processing_duration_seconds",
    "Wall time of one successful render in the process pool, by rendition.",
    ["rendition"],
    # Thumbnails of small images take milliseconds, 50-megapixel ones seconds.
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

__all__ = [
    "CONTENT_TYPE",
    "EVENTS_DELIVERED",
    "JOBS_FAILED",
    "JOBS_PROCESSED",
    "JOBS_RETRIED",
    "OUTBOX_OLDEST_AGE_SECONDS",
    "OUTBOX_PENDING",
    "PROCESSING_SECONDS",
    "QUEUE_CONSUMERS",
    "QUEUE_MESSAGES",
    "SUBSCRIPTIONS_ACTIVE",
    "UPLOADS",
    "WEBSOCKETS_OPEN",
    "WEBSOCKETS_REFUSED",
    "render",
]


def render() -> bytes:
    """The Prometheus text exposition of everything in this process."""
    return generate_latest(REGISTRY)
