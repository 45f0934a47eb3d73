import { useQuery } from "@apollo/client/react";

import { LIMITS } from "../graphql/operations";
import type { Limits } from "../graphql/types";

const BINARY_UNITS: [string, number][] = [
  ["TiB", 2 ** 40],
  ["GiB", 2 ** 30],
  ["MiB", 2 ** 20],
  ["KiB", 2 ** 10],
];

/**
 * A limit in bytes as the server words it (infra/units.py, which this must match): the
 * largest binary unit it fills, to a tenth rounded down, so "larger than the limit" stays
 * true of every file it refuses. "25 MiB", "5.1 MiB", "1000 B".
 */
export function formatLimitBytes(bytes: number): string {
  for (const [unit, unitBytes] of BINARY_UNITS) {
    if (bytes >= unitBytes) {
      // Exact: a whole number over a power of two.
      const tenths = Math.floor((bytes * 10) / unitBytes);
      const whole = Math.floor(tenths / 10);
      return tenths % 10 ? `${whole}.${tenths % 10} ${unit}` : `${whole} ${unit}`;
    }
  }
  return `${bytes} B`;
}

/** A pixel limit in megapixels, exactly: "50", "0.04". */
export function formatMegapixels(pixels: number): string {
  const whole = Math.floor(pixels / 1_000_000);
  const decimals = String(pixels % 1_000_000).padStart(6, "0").replace(/0+$/, "");
  return decimals ? `${whole}.${decimals}` : `${whole}`;
}

/** The pixel limit for people: "50 megapixels". */
export function pixelLimit(limits: Limits): string {
  return `${formatMegapixels(limits.maxImagePixels)} megapixels`;
}

/** What the server says of a file over MAX_UPLOAD_BYTES, after "<filename>: ". */
export function tooLargeMessage(maxUploadBytes: number): string {
  return `file is larger than the ${formatLimitBytes(maxUploadBytes)} limit`;
}

/** Why the server would refuse `file` for its size, if it is over the limit as far as is known yet. */
export function sizeRefusal(file: File, limits: Limits | undefined): string | undefined {
  return limits && file.size > limits.maxUploadBytes ? tooLargeMessage(limits.maxUploadBytes) : undefined;
}

/**
 * The server's limits, once read. Undefined until then, and for good from a server without
 * the `limits` query: then the server alone judges each file, after it has been sent.
 */
export function useUploadLimits(): Limits | undefined {
  const { data } = useQuery(LIMITS);
  return data?.limits;
}
