import { useMutation } from "@apollo/client/react";

import { ProgressiveImage } from "../detail/ProgressiveImage";
import { RETRY_IMAGE } from "../graphql/optional";
import type { ImageCard as ImageCardData, ImageUpdate } from "../graphql/types";
import { ProgressBar } from "../upload/ProgressBar";
import { StatusBadge } from "./StatusBadge";

interface Props {
  image: ImageCardData;
  live?: ImageUpdate;
  canRetry: boolean;
}

export function ImageCard({ image, live, canRetry }: Props) {
  const [retry, { loading: retrying, error: retryError }] = useMutation(RETRY_IMAGE);
  const busy = image.status === "PENDING" || image.status === "PROCESSING";
  return (
    <li className="card" data-testid="image-card" data-status={image.status}>
      <a className="card-link" href={`#/images/${image.id}`} aria-label={`${image.filename}, ${image.status.toLowerCase()}`}>
        <div className="thumb">
          <ProgressiveImage
            hash={image.placeholder}
            color={image.dominantColor}
            showPlaceholder={image.status !== "FAILED"}
            src={image.thumbnailUrl ?? undefined}
            alt={image.filename}
            loading="lazy"
          />
          {image.status === "FAILED" && <span className="thumb-failed" aria-hidden="true">!</span>}
        </div>
        <div className="card-body">
          <span className="card-name" title={image.filename}>
            {image.filename}
          </span>
          <StatusBadge status={image.status} />
        </div>
      </a>
      {busy && (
        <ProgressBar value={live?.progress ?? 0} label={`${image.filename}: processing`} />
      )}
      {image.status === "FAILED" && (
        <div className="card-error">
          <p role="note">{image.error ?? "Processing failed."}</p>
          {canRetry && (
            <button
              type="button"
              aria-label={`${retrying ? "Retrying" : "Retry"} ${image.filename}`}
              disabled={retrying}
              // A failure shows through `retryError`.
              onClick={() => retry({ variables: { id: image.id } }).catch(() => undefined)}
            >
              {retrying ? "Retrying…" : "Retry"}
            </button>
          )}
          {retryError && <p className="error">{retryError.message}</p>}
        </div>
      )}
    </li>
  );
}
