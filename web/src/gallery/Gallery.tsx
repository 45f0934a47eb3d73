import { useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";

import { IMAGES } from "../graphql/operations";
import { IMAGE_STATUSES, type ImageCard as ImageCardData, type StoredStatus } from "../graphql/types";
import { useLive } from "../live/LiveUpdates";
import { ImageCard } from "./ImageCard";

const PAGE_SIZE = 24;

/** Images newest first: new uploads from the live stream on top, then the pages loaded so far. */
export function Gallery({ canRetry }: { canRetry: boolean }) {
  const [status, setStatus] = useState<StoredStatus | null>(null);
  const { data, loading, error, fetchMore } = useQuery(IMAGES, {
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
          <select value={status ?? ""} onChange={(event) => setStatus((event.target.value || null) as StoredStatus | null)}>
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
      {!loading && images.length === 0 && !error && <p className="empty">No images yet. Upload some above.</p>}
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
