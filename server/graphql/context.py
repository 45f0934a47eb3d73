"""Per-request context: the service, URL building and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from infra.db.images import ImageRecord
from server.events.hub import EventHub
from server.graphql.rejected_uploads import RejectedUpload
from server.resources import Resources
from server.service import ImageService


class Urls:
    """Absolute URLs of files this server serves."""

    def __init__(self, base_url: str) -> None:
        # A subscription's connection is ws(s)://; the files it links to are http(s)://.
        for socket_scheme, http_scheme in (("ws://", "http://"), ("wss://", "https://")):
            if base_url.startswith(socket_scheme):
                base_url = http_scheme + base_url[len(socket_scheme) :]
        self.base = base_url.rstrip("/")

    def original(self, image_id: int) -> str:
        return f"{self.base}/api/images/{image_id}/original"

    def thumbnail(self, image_id: int) -> str:
        return f"{self.base}/api/thumbnails/{image_id}"

    def rendition(self, image_id: int, name: str) -> str:
        return f"{self.base}/api/images/{image_id}/renditions/{name}"


@dataclass
class Context:
    connection: HTTPConnection
    service: ImageService
    hub: EventHub
    max_subscription_ids: int
    urls: Urls
    image_loader: DataLoader[int, ImageRecord | None]
    pool: asyncpg.Pool
    """For monitoring queries (``stats``); image reads go through ``service``."""
    broker: AbstractRobustConnection
    expose_gps_coordinates: bool = False
    rejected_uploads: list[RejectedUpload] = field(default_factory=list)
    """Files of batch uploads that were turned away, reported once execution is done."""
    files_taken: set[int] = field(default_factory=set)
    """Upload parts already stored by this request (by ``id``): one part can be mapped to
    several variables, but it can be stored only once."""


def build_context(connection: HTTPConnection, resources: Resources) -> Context:
    service = resources.service

    async def load_images(ids: list[int]) -> list[ImageRecord | None]:
        found = await service.get_many(ids)
        return [found.get(image_id) for image_id in ids]

    return Context(
        connection=connection,
        service=service,
        hub=resources.hub,
        max_subscription_ids=resources.settings.max_subscription_ids,
        urls=Urls(resources.settings.public_url or str(connection.base_url)),
        # A WebSocket's context lives as long as the connection: caching there would
        # serve stale rows, so only a single HTTP request gets a caching loader.
        image_loader=DataLoader(load_fn=load_images, cache=connection.scope["type"] == "http"),
        pool=resources.pool,
        broker=resources.broker,
        expose_gps_coordinates=resources.settings.expose_gps_coordinates,
    )
