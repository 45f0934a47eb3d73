import { useLayoutEffect, useRef } from "react";

import { ProgressiveImage } from "../detail/ProgressiveImage";
import type { ImageCard as ImageCardData, ImageUpdate } from "../graphql/types";
import { ProgressBar } from "../upload/ProgressBar";
import { failedAgain, useRetry } from "./retry";
import { StatusBadge } from "./StatusBadge";

interface Props {
  image: ImageCardData;
  live?: ImageUpdate;
  canRetry: boolean;
}

export function ImageCard({ image, live, canRetry }: Props) {
  const { retry, retrying, error: retryError, retried } = useRetry(image.id);
  const busy = image.status === "PENDING" || image.status === "PROCESSING";
  // Retry leaves with the FAILED status it was for: the card that held it, if it held focus,
  // gets focus on its link, which names the new status.
  const focusAfterRetry = useRef<HTMLElement | null>(null);
  useLayoutEffect(() => {
    if (image.status === "FAILED" || !focusAfterRetry.current) return;
    focusAfterRetry.current.querySelector<HTMLElement>(".card-link")?.focus();
    focusAfterRetry.current = null;
  }, [image.status]);
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
          {retried && <p className="muted">{failedAgain(retried)}</p>}
          {canRetry && (
            <button
              type="button"
              aria-label={`${retrying ? "Retrying" : "Retry"} ${image.filename}`}
              // Not `disabled`, which would take focus away from it while the retry runs.
              aria-disabled={retrying}
              onClick={(event) => {
                if (retrying) return;
                const focused = document.activeElement === event.currentTarget;
                focusAfterRetry.current = focused ? event.currentTarget.closest("li") : null;
                // A failure shows through `retryError`, and the button keeps focus.
                void retry().then((requeued) => {
                  if (!requeued) focusAfterRetry.current = null;
                });
              }}
            >
              {retrying ? "Retrying…" : "Retry"}
            </button>
          )}
          {retryError && (
            <p className="error" role="alert">
              {retryError.message}
            </p>
          )}
        </div>
      )}
    </li>
  );
}
