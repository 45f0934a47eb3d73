"""Read operations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from infra.db.images import ImageStatus as StoredStatus
from infra.db.images import parse_image_id
from server.graphql.context import Context
from server.graphql.errors import UserFacingError
from server.graphql.limits import Limits, resolve_limits
from server.graphql.stats import Stats, resolve_stats
from server.graphql.types import (
    Image,
    ImageConnection,
    ImageEdge,
    ImageStatus,
    PageInfo,
    decode_cursor,
    encode_cursor,
)

MAX_PAGE_SIZE = 100


@strawberry.type
class Query:
    @strawberry.field(description="One image by id, or null when there is none.")
    async def image(self, info: Info[Context, None], id: strawberry.ID) -> Image | None:
        image_id = parse_image_id(id)
        if image_id is None:
            return None
        record = await info.context.image_loader.load(image_id)
        return Image.from_row(record) if record else None

    @strawberry.field(description="Images newest first, with cursor pagination.")
    async def images(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        status: ImageStatus | None = None,
    ) -> ImageConnection:
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise UserFacingError(f"first must be between 1 and {MAX_PAGE_SIZE}")
        if status is ImageStatus.DELETED:
            # No row is ever DELETED: a deleted image's row is gone.
            return ImageConnection(
                edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None)
            )
        before_id = None
        if after is not None:
            before_id = decode_cursor(after)
            if before_id is None:
                raise UserFacingError("after is not a cursor returned by this API")
        records = await info.context.service.list_newest_first(
            limit=first + 1,
            before_id=before_id,
            status=StoredStatus(status.value) if status else None,
        )
        page = records[:first]
        edges = [ImageEdge(cursor=encode_cursor(r.id), node=Image.from_row(r)) for r in page]
        return ImageConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(records) > first,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(
        description=(
            "Counts by status, processing times, throughput per minute and the job queue's "
            "depth and consumers: what a dashboard shows."
        )
    )
    async def stats(self, info: Info[Context, None], throughput_minutes: int = 10) -> Stats:
        return await resolve_stats(info, throughput_minutes)

    @strawberry.field(
        description=(
            "What the server accepts in an upload: the largest file, the most pixels, the "
            "most files in one request."
        )
    )
    def limits(self, info: Info[Context, None]) -> Limits:
        return resolve_limits(info)
