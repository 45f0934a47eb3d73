import { useApolloClient } from "@apollo/client/react";
import { useCallback, useEffect, useReducer, useRef, useState, type DragEvent } from "react";

import { UPLOAD_IMAGE } from "../graphql/operations";
import type { ImageUpdate, Limits } from "../graphql/types";
import type { UploadProgress } from "../xhrFetch";
import { isFinal } from "../graphql/types";
import { formatLimitBytes, pixelLimit, sizeRefusal, useUploadLimits } from "./limits";
import { isTemporaryFailure, rejectionMessage, type UploadState } from "./progress";
import { UploadRow } from "./UploadRow";
import { WatchGroups } from "./watchGroups";

/** Files sent at once; the rest wait their turn. */
const PARALLEL_UPLOADS = 3;

type Action =
  | { type: "add"; files: File[]; limits?: Limits }
  | { type: "start"; key: string }
  | { type: "sent"; key: string; progress: UploadProgress }
  | { type: "accepted"; key: string; id: string }
  | { type: "rejected"; key: string; message: string }
  | { type: "unsent"; key: string; message: string }
  | { type: "again"; key: string }
  | { type: "untracked"; key: string; message: string }
  | { type: "final"; key: string; update: ImageUpdate };

let nextKey = 0;

/** The order a row was added in: keys are `u1`, `u2`, … */
function sequence(key: string): number {
  return Number(key.slice(1));
}

function uploadsReducer(state: UploadState[], action: Action): UploadState[] {
  if (action.type === "add") {
    const added = action.files.map<UploadState>((file) => {
      const row: UploadState = { key: `u${++nextKey}`, file, phase: "queued", sentBytes: 0, totalBytes: file.size };
      // Over the server's limit: refused here, as the server would after every byte was sent.
      const refusal = sizeRefusal(file, action.limits);
      return refusal ? { ...row, phase: "rejected", message: refusal } : row;
    });
    return [...added, ...state];
  }
  return state.map((item) => {
    if (item.key !== action.key) return item;
    switch (action.type) {
      case "start":
        return { ...item, phase: "uploading" };
      case "sent":
        return { ...item, sentBytes: action.progress.loaded, totalBytes: action.progress.total };
      case "accepted":
        return { ...item, phase: "processing", id: action.id, sentBytes: item.totalBytes };
      case "rejected":
        return { ...item, phase: "rejected", message: action.message };
      case "unsent":
        return { ...item, phase: "unsent", message: action.message };
      case "again":
        return { ...item, phase: "queued", sentBytes: 0, message: undefined };
      case "untracked":
        return { ...item, phase: "untracked", message: action.message };
      case "final":
        switch (action.update.status) {
          case "COMPLETED":
            return { ...item, phase: "completed" };
          case "DELETED":
            return { ...item, phase: "deleted" };
          default:
            return { ...item, phase: "failed", message: action.update.error ?? undefined };
        }
    }
  });
}

export function UploadPanel() {
  const client = useApolloClient();
  const [uploads, dispatch] = useReducer(uploadsReducer, []);
  // The latest event of each uploaded image, from the panel's shared subscriptions.
  const [updates, setUpdates] = useState<ReadonlyMap<string, ImageUpdate>>(new Map());
  const rowOf = useRef(new Map<string, string>());
  const watcher = useRef<WatchGroups | null>(null);
  useEffect(() => {
    const groups = new WatchGroups(client, {
      update: (update) => {
        setUpdates((previous) => new Map(previous).set(update.id, update));
        const key = rowOf.current.get(update.id);
        if (key && isFinal(update.status)) dispatch({ type: "final", key, update });
      },
      untracked: (ids, message) => {
        for (const id of ids) {
          const key = rowOf.current.get(id);
          if (key) dispatch({ type: "untracked", key, message });
        }
      },
    });
    watcher.current = groups;
    return () => groups.close();
  }, [client]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // Keys already handed to `send`: effects may run twice (StrictMode) before state catches up.
  const started = useRef(new Set<string>());

  const limits = useUploadLimits();
  // Read when a file is added or sent: the limits may arrive while files are on their way.
  const limitsNow = useRef(limits);
  limitsNow.current = limits;

  const add = useCallback((files: FileList | File[] | null) => {
    if (files && files.length > 0) dispatch({ type: "add", files: Array.from(files), limits: limitsNow.current });
  }, []);

  // Leaving the page drops the files not sent yet, and nothing would say which: ask first.
  const toSend = uploads.some((u) => u.phase === "queued" || u.phase === "uploading");
  useEffect(() => {
    if (!toSend) return;
    const confirmLeaving = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Browsers before preventDefault() was honoured here (Chrome < 119) need this.
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", confirmLeaving);
    return () => window.removeEventListener("beforeunload", confirmLeaving);
  }, [toSend]);

  const send = useCallback(
    async (item: UploadState) => {
      // Queued before the limits were known.
      const refusal = sizeRefusal(item.file, limitsNow.current);
      if (refusal) {
        dispatch({ type: "rejected", key: item.key, message: refusal });
        return;
      }
      dispatch({ type: "start", key: item.key });
      try {
        const result = await client.mutate({
          mutation: UPLOAD_IMAGE,
          variables: { file: item.file },
          context: {
            fetchOptions: {
              onUploadProgress: (progress: UploadProgress) => dispatch({ type: "sent", key: item.key, progress }),
            },
          },
        });
        const id = result.data?.uploadImage?.id;
        if (id) {
          dispatch({ type: "accepted", key: item.key, id });
          rowOf.current.set(id, item.key);
          watcher.current?.watch(id);
        } else dispatch({ type: "rejected", key: item.key, message: "the server returned no image" });
      } catch (error) {
        const type = isTemporaryFailure(error) ? "unsent" : "rejected";
        const tooLarge = sizeRefusal(item.file, limitsNow.current);
        dispatch({ type, key: item.key, message: rejectionMessage(error, item.file.name, tooLarge) });
      }
    },
    [client],
  );

  // A small scheduler: start queued files while fewer than PARALLEL_UPLOADS are sending.
  useEffect(() => {
    const sending = uploads.filter((u) => u.phase === "uploading").length;
    const room = PARALLEL_UPLOADS - sending;
    if (room <= 0) return;
    // Each file in the order chosen, earlier choices first (the list shows the latest on top).
    const next = uploads
      .filter((u) => u.phase === "queued" && !started.current.has(u.key))
      .sort((a, b) => sequence(a.key) - sequence(b.key))
      .slice(0, room);
    for (const item of next) {
      started.current.add(item.key);
      void send(item);
    }
  }, [uploads, send]);

  // The same File again: the row is queued, and the scheduler starts it like any other.
  const onTryAgain = useCallback((key: string) => {
    started.current.delete(key);
    dispatch({ type: "again", key });
  }, []);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    add(event.dataTransfer.files);
  };

  return (
    <section className="panel upload" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload</h2>
      <button
        type="button"
        className={`dropzone ${dragging ? "dragging" : ""}`}
        onClick={() => input.current?.click()}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <strong>Drop images here</strong>
        <span>
          or press to choose files (JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF, HEIC)
          {limits && `, each up to ${formatLimitBytes(limits.maxUploadBytes)} and ${pixelLimit(limits)}`}
        </span>
      </button>
      <input
        ref={input}
        id="file-input"
        data-testid="file-input"
        type="file"
        accept="image/*"
        multiple
        hidden
        onChange={(event) => {
          add(event.target.files);
          event.target.value = "";
        }}
      />
      {uploads.length > 0 && (
        <ul className="upload-list" aria-label="Uploads">
          {uploads.map((item) => (
            <UploadRow
              key={item.key}
              state={item}
              update={item.id === undefined ? undefined : updates.get(item.id)}
              onTryAgain={onTryAgain}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
