import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState, type MouseEvent, type RefObject } from "react";

import { failedAgain, useRetried, useRetry } from "../gallery/retry";
import { forgetImage } from "../graphql/forgetImage";
import { useCanRetry } from "../graphql/optional";
import { DELETE_IMAGE, IMAGE_DETAIL } from "../graphql/operations";
import type { ImageDetail as ImageDetailData, ImageUpdate } from "../graphql/types";
import { StatusBadge } from "../gallery/StatusBadge";
import { useLive } from "../live/LiveUpdates";
import { useDocumentTitle } from "../routes";
import { ProgressBar } from "../upload/ProgressBar";
import { formatBytes, formatSeconds, stageLabel } from "../upload/progress";
import { BackLink } from "./BackLink";
import { ProgressiveImage } from "./ProgressiveImage";

export function ImageDetail({ id }: { id: string }) {
  const live = useLive().latest.get(id);
  // A page opened again reads the image again: the cached copy may be from before it finished.
  const { data, loading, error, refetch } = useQuery(IMAGE_DETAIL, {
    variables: { id },
    fetchPolicy: "cache-and-network",
  });
  const image = data?.image;
  useDocumentTitle(image ? image.filename : `Image ${id}`);
  // The detail has more than the stream carries (renditions, timings): when the image moves
  // on, read it again. Compared with the last status seen on the stream, not with the
  // image's: the stream's own `image` has already put the new status in the cache.
  const liveStatus = live?.status;
  const lastStatus = useRef(liveStatus);
  useEffect(() => {
    if (liveStatus === lastStatus.current) return;
    lastStatus.current = liveStatus;
    // A failed read shows through `error`.
    refetch().catch(() => undefined);
  }, [liveStatus, refetch]);
  const status = useRef<HTMLParagraphElement>(null);

  return (
    <section className="panel detail" aria-labelledby="detail-heading">
      <p>
        <BackLink />
      </p>
      {loading && !image && <p>Loading…</p>}
      {error && <p className="error" role="alert">{error.message}</p>}
      {!loading && !error && !image && <p>{live?.status === "DELETED" ? `Image ${id} was deleted.` : `There is no image ${id}.`}</p>}
      {image && (
        <>
          <h2 id="detail-heading">
            {image.filename} <StatusBadge status={image.status} />
          </h2>
          <ProcessingStatus image={image} live={live} target={status} />
          <Preview image={image} />
          {image.error && <p className="error" role="alert">{image.error}</p>}
          <div className="detail-columns">
            <Timings image={image} />
            <Metadata image={image} />
          </div>
          <Renditions image={image} />
          <Actions image={image} status={status} />
        </>
      )}
    </section>
  );
}

/**
 * Where the image is, live: the worker's stage and progress while it is processed, and
 * whether a retry from this page failed again. Focus comes here from Retry, which leaves.
 */
function ProcessingStatus({
  image,
  live,
  target,
}: {
  image: ImageDetailData;
  live?: ImageUpdate;
  target: RefObject<HTMLParagraphElement | null>;
}) {
  const retried = useRetried(image.id);
  // The stream's event, when it is about the status the page shows.
  const current = live?.status === image.status ? live : undefined;
  let text: string;
  switch (image.status) {
    case "PENDING":
      text = "Queued for processing";
      break;
    case "PROCESSING":
      text = `Processing (${stageLabel(current?.stage)})`;
      break;
    case "COMPLETED":
      text = "Processing completed";
      break;
    case "FAILED":
      text = retried ? failedAgain(retried) : "Processing failed";
      break;
  }
  const busy = image.status === "PENDING" || image.status === "PROCESSING";
  return (
    <div className="detail-status">
      {busy && <ProgressBar value={current?.progress ?? 0} label={`${image.filename}: processing`} />}
      <p ref={target} tabIndex={-1} className="muted" aria-live="polite">
        {text}
      </p>
    </div>
  );
}

/** The original's URL that the server answers as a download (Content-Disposition: attachment). */
function downloadUrl(originalUrl: string): string {
  return `${originalUrl}${originalUrl.includes("?") ? "&" : "?"}download=1`;
}

/**
 * Download; Retry, for a failed image where the server can; Delete: back to the gallery
 * once deleted, or the reason it was not.
 */
function Actions({ image, status }: { image: ImageDetailData; status: RefObject<HTMLElement | null> }) {
  const live = useLive();
  const canRetry = useCanRetry();
  const { retry, retrying, error: retryError } = useRetry(image.id);
  const onRetry = async (event: MouseEvent<HTMLButtonElement>) => {
    if (retrying) return;
    const focused = document.activeElement === event.currentTarget;
    // Requeued, the image is no longer FAILED and the button leaves: focus goes to the
    // status, which follows the image from here.
    if ((await retry()) && focused) status.current?.focus();
  };
  const [remove, { loading: deleting }] = useMutation(DELETE_IMAGE, {
    update: (cache) => forgetImage(cache, image.id),
  });
  const [failure, setFailure] = useState<string | null>(null);
  const onDelete = async () => {
    if (!window.confirm(`Delete ${image.filename}?`)) return;
    setFailure(null);
    try {
      await remove({ variables: { id: image.id } });
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
      return;
    }
    live.deleted(image.id);
    window.location.hash = "#/";
  };
  return (
    <>
      <p className="actions">
        {/* Same origin, so `download` names the file; the server's header does elsewhere. */}
        <a href={downloadUrl(image.originalUrl)} download={image.filename}>
          Download the original
        </a>
        {canRetry && image.status === "FAILED" && (
          <button
            type="button"
            // Not `disabled`, which would take focus away from it while the retry runs.
            aria-disabled={retrying}
            onClick={(event) => void onRetry(event)}
          >
            {retrying ? "Retrying…" : "Retry"}
          </button>
        )}
        <button type="button" className="danger" disabled={deleting} onClick={() => void onDelete()}>
          Delete
        </button>
      </p>
      {retryError && (
        <p className="error" role="alert">
          Could not retry {image.filename}: {retryError.message}
        </p>
      )}
      {failure && (
        <p className="error" role="alert">
          Could not delete {image.filename}: {failure}
        </p>
      )}
    </>
  );
}

function Preview({ image }: { image: ImageDetailData }) {
  const largest = image.renditions[0];
  const aspect = image.width && image.height ? `${image.width} / ${image.height}` : "3 / 2";
  return (
    // Never wider than the image itself: a small one is not blown up.
    <div className="preview" style={{ aspectRatio: aspect, maxWidth: image.width ? `${image.width}px` : undefined }}>
      <ProgressiveImage
        hash={image.placeholder}
        color={image.dominantColor}
        src={largest?.url}
        srcSet={image.srcset ?? undefined}
        sizes="(max-width: 900px) 100vw, 900px"
        alt={image.filename}
      />
    </div>
  );
}

function seconds(from: string | null, to: string | null): string | null {
  if (!from || !to) return null;
  return formatSeconds((Date.parse(to) - Date.parse(from)) / 1000);
}

function Timings({ image }: { image: ImageDetailData }) {
  const when = (value: string | null) => (value ? new Date(value).toLocaleString() : "—");
  return (
    <div>
      <h3>Timings</h3>
      <ol className="timeline">
        <li>
          <span>Queued</span> <time dateTime={image.createdAt}>{when(image.createdAt)}</time>
        </li>
        <li>
          <span>Started</span> <time dateTime={image.startedAt ?? undefined}>{when(image.startedAt)}</time>
          {seconds(image.createdAt, image.startedAt) && <small> waited {seconds(image.createdAt, image.startedAt)}</small>}
        </li>
        <li>
          <span>Finished</span> <time dateTime={image.processedAt ?? undefined}>{when(image.processedAt)}</time>
          {seconds(image.startedAt, image.processedAt) && (
            <small> took {seconds(image.startedAt, image.processedAt)}</small>
          )}
        </li>
      </ol>
      <p className="muted">Attempts: {image.attempts}</p>
    </div>
  );
}

function Metadata({ image }: { image: ImageDetailData }) {
  const m = image.metadata;
  const rows: [string, string | number | null | undefined][] = [
    ["Size", image.width && image.height ? `${image.width} × ${image.height}` : null],
    ["Format", image.format ?? image.contentType],
    ["File size", image.fileSize != null ? formatBytes(image.fileSize) : null],
    ["Mode", m?.mode],
    ["Frames", m?.frameCount],
    ["Camera", [m?.cameraMake, m?.cameraModel].filter(Boolean).join(" ") || null],
    ["Taken", m?.takenAt],
    ["EXIF orientation", m?.orientation],
    ["GPS", m ? (m.hasGps ? "yes (not shown)" : "no") : null],
    ["Dominant colour", image.dominantColor],
  ];
  return (
    <div>
      <h3>Metadata</h3>
      <dl className="meta">
        {rows
          .filter(([, value]) => value !== null && value !== undefined && value !== "")
          .map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
    </div>
  );
}

function Renditions({ image }: { image: ImageDetailData }) {
  if (image.renditions.length === 0) {
    // A failed image gets none by waiting; only a retry can make them.
    if (image.status === "FAILED") return <p className="muted">Processing failed; no renditions.</p>;
    return <p className="muted">Renditions appear once processing completes.</p>;
  }
  return (
    <div className="table-wrap">
      <table>
        <caption>Renditions</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Pixels</th>
            <th scope="col">Format</th>
            <th scope="col">Bytes</th>
          </tr>
        </thead>
        <tbody>
          {image.renditions.map((r) => (
            <tr key={r.name}>
              <td>
                <a href={r.url}>{r.name}</a>
              </td>
              <td>
                {r.width} × {r.height}
              </td>
              <td>{r.format}</td>
              <td>{formatBytes(r.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
