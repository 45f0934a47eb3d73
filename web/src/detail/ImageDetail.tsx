import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";

import { forgetImage } from "../graphql/forgetImage";
import { DELETE_IMAGE, IMAGE_DETAIL } from "../graphql/operations";
import type { ImageDetail as ImageDetailData } from "../graphql/types";
import { StatusBadge } from "../gallery/StatusBadge";
import { useLive } from "../live/LiveUpdates";
import { useDocumentTitle } from "../routes";
import { formatBytes, formatSeconds } from "../upload/progress";
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
          <Preview image={image} />
          {image.error && <p className="error" role="alert">{image.error}</p>}
          <div className="detail-columns">
            <Timings image={image} />
            <Metadata image={image} />
          </div>
          <Renditions image={image} />
          <Actions image={image} />
        </>
      )}
    </section>
  );
}

/** Download, and Delete: back to the gallery once deleted, or the reason it was not. */
function Actions({ image }: { image: ImageDetailData }) {
  const live = useLive();
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
        <a href={image.originalUrl}>Download the original</a>
        <button type="button" className="danger" disabled={deleting} onClick={() => void onDelete()}>
          Delete
        </button>
      </p>
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
  if (image.renditions.length === 0) return <p className="muted">Renditions appear once processing completes.</p>;
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
