import type { ImageCard, ImageStatus, ImageUpdate, StoredStatus } from "../graphql/types";

/** A gallery card as the server sends it, with a thumbnail once completed. */
export function imageCard(
  id: string,
  filename: string,
  status: StoredStatus = "COMPLETED",
): ImageCard & { __typename: "Image" } {
  return {
    __typename: "Image",
    id,
    filename,
    status,
    error: null,
    thumbnailUrl: status === "COMPLETED" ? `/api/thumbnails/${id}` : null,
    placeholder: null,
    dominantColor: null,
    createdAt: "2026-11-27T19:00:00+00:00",
  };
}

/** A live event for image `id`, with the card the server sends along (null for DELETED). */
export function imageUpdate(
  id: string,
  status: ImageStatus,
  image: ImageCard | null,
): ImageUpdate & { __typename: string } {
  return { __typename: "ImageUpdate", id, status, progress: 1, stage: status.toLowerCase(), error: null, image };
}
