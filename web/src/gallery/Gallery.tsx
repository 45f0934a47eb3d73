import { useQuery } from "@apollo/client/react";
import { useEffect, useRef } from "react";

import { IMAGES } from "../graphql/operations";
import { IMAGE_STATUSES, type ImageCard as ImageCardData, type StoredStatus } from "../graphql/types";
import { useLive, type Live } from "../live/LiveUpdates";
import { galleryHref, replaceRoute, useDocumentTitle, useRoute } from "../routes";
import { ImageCard } from "./ImageCard";

const PAGE_SIZE = 24;

/** The highest id the stream has brought, 0 before any: the list read now covers it. */
function highestSeen(live: Live): number {
  return live.newIds.reduce((top, id) => Math.max(top, Number(id)), live.droppedNewId);
}

/** Images newest first: new uploads from the live stream on top, then the pages loaded so far. */
export function Gallery({ canRetry }: { canRetry: boolean }) {
  // The filter is in the URL, so it is still chosen when the reader comes back from an image.
  const route = useRoute();
  const status = route.page === "gallery" ? route.status : null;
  useDocumentTitle(status ? `Gallery: ${status.toLowerCase()}` : "Gallery");
  const { data, loading, error, fetchMore, refetch } = useQuery(IMAGES, {
    variables: { first: PAGE_SIZE, status },
    // A filter chosen again shows its cached list at once and reads it again meanwhile.
    fetchPolicy: "cache-and-network",
    // A refetch (on reconnect) goes through the list's merge, which keeps the pages loaded
    // below the first; Apollo would otherwise overwrite the list with the first page.
    refetchWritePolicy: "merge",
    notifyOnNetworkStatusChange: true,
  });
  const live = useLive();
  const edges = data?.images.edges ?? [];
  const pageInfo = data?.images.pageInfo;
  const listed = new Set(edges.map((edge) => edge.node.id));
  const newest = edges.length > 0 ? Number(edges[0].node.id) : 0;
  const fresh: ImageCardData[] = [];
  for (const id of live.newIds) {
    const image = live.latest.get(id)?.image;
    if (image && !listed.has(id) && Number(id) > newest && (!status || image.status === status)) fresh.push(image);
  }
  // Ids are assigned in upload order, so the highest is the newest.
  fresh.sort((a, b) => Number(b.id) - Number(a.id));
  // A deleted image leaves the gallery as soon as its DELETED event arrives, from this
  // page's Delete button or any other client; the list from the server no longer has it.
  // The cache holds each image's current status, so a card that left the chosen status
  // (a PENDING one completed) leaves the filtered list.
  const images = [...fresh, ...edges.map((edge) => edge.node)].filter(
    (image) => live.latest.get(image.id)?.status !== "DELETED" && (!status || image.status === status),
  );

  // The stream keeps the latest MAX_NEW_IDS new ids only. Once one newer than what the list
  // was read up to has left them, its card would never show, above the list or in a page
  // below it: the list is read again, and its merge leaves the images in between to paging.
  // That is one read per MAX_NEW_IDS new images at most, and what the page holds stays bounded.
  const readThrough = useRef(highestSeen(live));
  useEffect(() => {
    if (loading || live.droppedNewId <= Math.max(newest, readThrough.current)) return;
    readThrough.current = highestSeen(live);
    // A failed read shows through `error`.
    refetch().catch(() => undefined);
  }, [live, newest, loading, refetch]);

  const loadMore = () => {
    if (pageInfo?.hasNextPage && !loading) void fetchMore({ variables: { after: pageInfo.endCursor } });
  };

  // Infinite scroll where the browser can tell; the button below works everywhere.
  const sentinel = useRef<HTMLDivElement>(null);
  const loadMoreRef = useRef(loadMore);
  loadMoreRef.current = loadMore;
  useEffect(() => {
    const target = sentinel.current;
    if (!target || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadMoreRef.current();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, []);

  return (
    <section className="panel gallery" aria-labelledby="gallery-heading">
      <div className="gallery-head">
        <h2 id="gallery-heading">Gallery</h2>
        <label className="filter">
          Status
          <select
            value={status ?? ""}
            onChange={(event) => replaceRoute(galleryHref((event.target.value || null) as StoredStatus | null))}
          >
            <option value="">all</option>
            {IMAGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && <p className="error" role="alert">Could not load images: {error.message}</p>}
      {!loading && images.length === 0 && !error && (
        <p className="empty">{status ? `No ${status.toLowerCase()} images.` : "No images yet. Upload some above."}</p>
      )}
      <ul className="grid" aria-label="Images">
        {images.map((image) => (
          <ImageCard key={image.id} image={image} live={live.latest.get(image.id)} canRetry={canRetry} />
        ))}
      </ul>
      <div ref={sentinel} className="sentinel" />
      {pageInfo?.hasNextPage && (
        <button type="button" className="more" onClick={loadMore} disabled={loading}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}
