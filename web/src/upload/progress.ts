import { CombinedGraphQLErrors } from "@apollo/client/errors";

import type { ImageUpdate } from "../graphql/types";

export type UploadPhase = "queued" | "uploading" | "rejected" | "processing" | "completed" | "failed" | "deleted";

export interface UploadState {
  key: string;
  file: File;
  phase: UploadPhase;
  sentBytes: number;
  totalBytes: number;
  id?: string;
  /** Why the server turned the file away, or why processing failed. */
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
    case "processing":
      return update?.status === "PROCESSING" ? `Processing (${stageLabel(update.stage)})` : "Queued for processing";
    case "completed":
      return "Done";
    case "failed":
      return `Processing failed: ${state.message ?? "unknown error"}`;
    case "deleted":
      return "Deleted before it was processed";
  }
}

function stageLabel(stage: string | null | undefined): string {
  if (!stage) return "starting";
  if (stage.startsWith("rendition:")) return `made ${stage.slice("rendition:".length)}`;
  return stage;
}

/**
 * What to tell the person about a file the server refused. The server's messages are
 * "<filename>: <reason>"; the file name is already on the row, so show the reason.
 */
export function rejectionMessage(error: unknown, filename: string): string {
  if (CombinedGraphQLErrors.is(error) && error.errors.length > 0) {
    const first = error.errors[0];
    const reason = first.extensions?.reason;
    if (typeof reason === "string") return reason;
    const prefix = `${filename}: `;
    return first.message.startsWith(prefix) ? first.message.slice(prefix.length) : first.message;
  }
  if (error instanceof Error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 413) return "too large for the server";
    return error.message;
  }
  return String(error);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A duration in seconds, to the hundredth: "1.25 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}
