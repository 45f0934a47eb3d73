import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";

import type { ImageUpdate } from "../graphql/types";

/**
 * "rejected": the server turned the file away; "unsent": it could not be sent or taken now
 * (the network, an outage), and may be sent again; "untracked": accepted, but its progress
 * cannot be followed (its subscription ended with an error).
 */
export type UploadPhase =
  | "queued"
  | "uploading"
  | "rejected"
  | "unsent"
  | "processing"
  | "untracked"
  | "completed"
  | "failed"
  | "deleted";

export interface UploadState {
  key: string;
  file: File;
  phase: UploadPhase;
  sentBytes: number;
  totalBytes: number;
  id?: string;
  /** Why the server turned the file away, why it could not be sent, or why processing failed. */
  message?: string;
}

/** Share of the single bar given to sending bytes; the rest is the worker's progress. */
const UPLOAD_SHARE = 0.5;

/** One number from 0 to 1 for one bar: bytes sent, then the worker's progress. */
export function combinedProgress(state: UploadState, update?: ImageUpdate): number {
  switch (state.phase) {
    case "queued":
      return 0;
    case "uploading":
      return state.totalBytes > 0 ? (UPLOAD_SHARE * state.sentBytes) / state.totalBytes : 0;
    case "rejected":
    case "unsent":
    case "untracked":
    case "completed":
    case "failed":
    case "deleted":
      return 1;
    case "processing":
      return UPLOAD_SHARE + (1 - UPLOAD_SHARE) * (update?.progress ?? 0);
  }
}

export function phaseLabel(state: UploadState, update?: ImageUpdate): string {
  switch (state.phase) {
    case "queued":
      return "Waiting to upload";
    case "uploading":
      return `Uploading ${formatBytes(state.sentBytes)} of ${formatBytes(state.totalBytes)}`;
    case "rejected":
      return `Rejected: ${state.message ?? "the server refused this file"}`;
    case "unsent":
      return `Could not upload: ${state.message ?? "the server could not be reached"}`;
    case "processing":
      return update?.status === "PROCESSING" ? `Processing (${stageLabel(update.stage)})` : "Queued for processing";
    case "untracked":
      return `Uploaded, but its progress cannot be followed: ${state.message ?? "unknown error"}`;
    case "completed":
      return "Done";
    case "failed":
      return `Processing failed: ${state.message ?? "unknown error"}`;
    case "deleted":
      return "Deleted before it was processed";
  }
}

/** A worker's stage as the person reads it: "starting", "decoded", "made thumb". */
export function stageLabel(stage: string | null | undefined): string {
  if (!stage) return "starting";
  if (stage.startsWith("rendition:")) return `made ${stage.slice("rendition:".length)}`;
  return stage;
}

/**
 * What to tell the person about a file the server refused or could not take. The server's
 * messages are "<filename>: <reason>"; the file name is already on the row, so show the
 * reason. A refused request (an HTTP error status) says why in its body.
 *
 * `tooLarge` is what to say of a 413 instead: the panel sends one file per request, so a
 * request too large for the server's body cap is that file over the per-file limit (the
 * cap's own message is about the request, sized for a batch of files).
 */
export function rejectionMessage(error: unknown, filename: string, tooLarge?: string): string {
  if (tooLarge !== undefined && httpStatus(error) === 413) return tooLarge;
  if (CombinedGraphQLErrors.is(error) && error.errors.length > 0) {
    const first = error.errors[0];
    const reason = first.extensions?.reason;
    if (typeof reason === "string") return reason;
    const prefix = `${filename}: `;
    return first.message.startsWith(prefix) ? first.message.slice(prefix.length) : first.message;
  }
  if (ServerError.is(error)) {
    const message = serverMessage(error.bodyText);
    if (message) return message;
  }
  if (error instanceof Error) {
    const status = httpStatus(error);
    if (status === 413) return "too large for the server";
    if (status !== undefined) return `the server answered with status ${status}`;
    return error.message;
  }
  return String(error);
}

function httpStatus(error: unknown): number | undefined {
  if (ServerError.is(error)) return error.statusCode;
  return error instanceof Error ? (error as { statusCode?: number }).statusCode : undefined;
}

const MAX_MESSAGE_LENGTH = 300;

/**
 * The server's words in an error response: `{"error": ...}` (REST, the body limit), a
 * GraphQL response's first error (how /graphql refuses a request it cannot run), or plain
 * text (a proxy's short answer).
 * Not an HTML page from a proxy, nor anything too long to be a message.
 */
function serverMessage(bodyText: string): string | null {
  const text = bodyText.trim();
  if (!text || text.startsWith("<") || text.length > MAX_MESSAGE_LENGTH) return null;
  try {
    const body: unknown = JSON.parse(text);
    const { error, errors } = (body ?? {}) as { error?: unknown; errors?: { message?: unknown }[] };
    if (typeof error === "string") return error;
    const first = Array.isArray(errors) ? errors[0]?.message : undefined;
    return typeof first === "string" ? first : null;
  } catch {
    return text;
  }
}

/** Status codes of a server or proxy that may take the same request later. */
const TRY_AGAIN_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Whether the file was not turned away but could not be sent or taken now, so sending it
 * again may work: the network failed, the server or its storage or database is away.
 */
export function isTemporaryFailure(error: unknown): boolean {
  if (ServerError.is(error)) return TRY_AGAIN_STATUSES.has(error.statusCode);
  if (CombinedGraphQLErrors.is(error)) {
    // An outage reaches a resolver as "the database is unavailable; try again".
    return error.errors.some(
      (e) => e.extensions?.code === "SERVICE_UNAVAILABLE" || /try again$/.test(e.message),
    );
  }
  // fetch, and xhrFetch, fail with a TypeError when no response came.
  return error instanceof TypeError;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A duration in seconds, to the hundredth: "1.25 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}
