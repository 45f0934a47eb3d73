// Hand-typed results of the operations in operations.ts. operations.test.ts checks every
// operation against ../schema.graphql, so a renamed or removed field fails the tests.

/** What an image can be in: what `images(status:)` filters by. */
export type StoredStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED";
export const IMAGE_STATUSES: StoredStatus[] = ["PENDING", "PROCESSING", "COMPLETED", "FAILED"];
/** The schema's ImageStatus: DELETED only ever comes from `imageUpdates`, with `image: null`. */
export type ImageStatus = StoredStatus | "DELETED";

/** After these an image's subscription by id completes; nothing follows a DELETED. */
export function isFinal(status: ImageStatus): boolean {
  return status === "COMPLETED" || status === "FAILED" || status === "DELETED";
}

export interface ImageCard {
  __typename?: "Image";
  id: string;
  filename: string;
  status: StoredStatus;
  error: string | null;
  thumbnailUrl: string | null;
  placeholder: string | null;
  dominantColor: string | null;
  createdAt: string;
}

export interface Rendition {
  name: string;
  width: number;
  height: number;
  format: "JPEG" | "PNG" | "WEBP" | "AVIF";
  size: number;
  url: string;
}

export interface ImageMetadata {
  width: number;
  height: number;
  format: string | null;
  mode: string | null;
  frameCount: number;
  cameraMake: string | null;
  cameraModel: string | null;
  takenAt: string | null;
  orientation: number;
  hasGps: boolean;
}

export interface ImageDetail extends ImageCard {
  contentType: string | null;
  fileSize: number | null;
  startedAt: string | null;
  processedAt: string | null;
  attempts: number;
  width: number | null;
  height: number | null;
  format: string | null;
  originalUrl: string;
  srcset: string | null;
  renditions: Rendition[];
  metadata: ImageMetadata | null;
}

export interface ImageUpdate {
  id: string;
  status: ImageStatus;
  progress: number;
  stage: string | null;
  error: string | null;
  image: ImageCard | null;
}

export interface ImagesData {
  images: {
    edges: { cursor: string; node: ImageCard }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}
export interface ImagesVars {
  first: number;
  after?: string | null;
  status?: StoredStatus | null;
}

export interface ImageDetailData {
  image: ImageDetail | null;
}

// Mutation fields are nullable: one refused field of a document nulls only itself, with
// its error, and leaves the others' answers (see schema.graphql).
export interface UploadImageData {
  uploadImage: ImageCard | null;
}
export interface UploadImageVars {
  file: File;
}

export interface ImageUpdatesData {
  imageUpdates: ImageUpdate;
}
export interface ImageUpdatesVars {
  ids?: string[] | null;
}

export interface Stats {
  counts: { pending: number; processing: number; completed: number; failed: number; total: number };
  queue: { name: string; waiting: number | null; consumers: number | null; error: string | null };
  processing: {
    completed: number;
    averageS: number | null;
    p95S: number | null;
    endToEndP95S: number | null;
  };
  throughput: { minute: string; completed: number; failed: number }[];
}
export interface StatsData {
  stats: Stats;
}
export interface StatsVars {
  throughputMinutes: number;
}

/** What the server accepts in an upload (its MAX_UPLOAD_BYTES and so on). */
export interface Limits {
  maxUploadBytes: number;
  maxImagePixels: number;
  maxFilesPerRequest: number;
}
export interface LimitsData {
  limits: Limits;
}

export interface MutationFieldsData {
  __type: { fields: { name: string }[] | null } | null;
}

export interface DeleteImageData {
  deleteImage: boolean | null;
}
export interface RetryImageData {
  retryImage: ImageCard | null;
}
export interface IdVars {
  id: string;
}
