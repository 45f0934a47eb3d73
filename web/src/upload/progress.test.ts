import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { describe, expect, it } from "vitest";

import type { ImageUpdate } from "../graphql/types";
import { combinedProgress, isTemporaryFailure, phaseLabel, rejectionMessage, type UploadState } from "./progress";

const file = new File(["x".repeat(1000)], "cat.jpg", { type: "image/jpeg" });
const base: UploadState = { key: "k", file, phase: "queued", sentBytes: 0, totalBytes: 1000 };
const update = (progress: number, stage = "decoded"): ImageUpdate => ({
  id: "7",
  status: "PROCESSING",
  progress,
  stage,
  error: null,
  image: null,
});

describe("one bar for bytes sent and then processing", () => {
  it("fills the first half with bytes and the second with the worker's progress", () => {
    expect(combinedProgress(base)).toBe(0);
    expect(combinedProgress({ ...base, phase: "uploading", sentBytes: 500 })).toBe(0.25);
    expect(combinedProgress({ ...base, phase: "processing", id: "7" })).toBe(0.5);
    expect(combinedProgress({ ...base, phase: "processing", id: "7" }, update(0.5))).toBe(0.75);
    expect(combinedProgress({ ...base, phase: "completed", id: "7" })).toBe(1);
  });

  it("names the stage the worker finished", () => {
    expect(phaseLabel({ ...base, phase: "processing", id: "7" }, update(0.6, "rendition:small"))).toBe(
      "Processing (made small)",
    );
    expect(phaseLabel({ ...base, phase: "uploading", sentBytes: 512, totalBytes: 2048 })).toBe(
      "Uploading 512 B of 2.0 KiB",
    );
  });
});

describe("rejectionMessage", () => {
  it("takes the reason from a batch-style error's extensions", () => {
    const error = new CombinedGraphQLErrors({
      errors: [{ message: "a.txt: not a supported image", extensions: { reason: "not a supported image" } }],
    });
    expect(rejectionMessage(error, "a.txt")).toBe("not a supported image");
  });

  it("drops the file name the server puts in front of the reason", () => {
    const error = new CombinedGraphQLErrors({
      errors: [{ message: "big.jpg: file is larger than the 25 MiB limit" }],
    });
    expect(rejectionMessage(error, "big.jpg")).toBe("file is larger than the 25 MiB limit");
  });

  it("explains a request the server cut off for its size", () => {
    const error = Object.assign(new Error("Response not successful: Received status code 413"), { statusCode: 413 });
    expect(rejectionMessage(error, "big.jpg")).toBe("too large for the server");
  });
});

/** What Apollo makes of an HTTP error status: the body is kept as text. */
function httpError(status: number, bodyText: string): ServerError {
  return new ServerError(`Response not successful: Received status code ${status}`, {
    response: new Response(bodyText, { status }),
    bodyText,
  });
}

describe("a request the server refused", () => {
  it("is explained in the server's words, plain text or JSON", () => {
    expect(rejectionMessage(httpError(503, "storage is unavailable; try again"), "cat.jpg")).toBe(
      "storage is unavailable; try again",
    );
    const refusal = JSON.stringify({ error: "invalid multipart form: invalid multipart data" });
    expect(rejectionMessage(httpError(400, refusal), "cat.jpg")).toBe("invalid multipart form: invalid multipart data");
    const graphqlRefusal = JSON.stringify({ errors: [{ message: "invalid multipart form: at most 20 files per request" }] });
    expect(rejectionMessage(httpError(400, graphqlRefusal), "cat.jpg")).toBe(
      "invalid multipart form: at most 20 files per request",
    );
    const tooLarge = JSON.stringify({ error: "request body is larger than the 1 MiB limit", errors: [] });
    expect(rejectionMessage(httpError(413, tooLarge), "cat.jpg")).toBe("request body is larger than the 1 MiB limit");
  });

  it("is the file over the per-file limit when a 413 came for a file known to be over it", () => {
    // The body cap's own words are about a request sized for a batch of files
    const cap = JSON.stringify({
      error: "request body is larger than the 501.2 MiB limit (20 files of at most 25 MiB each)",
    });
    const perFile = "file is larger than the 25 MiB limit";
    expect(rejectionMessage(httpError(413, cap), "big.jpg", perFile)).toBe(perFile);
    const status413 = Object.assign(new Error("Response not successful: Received status code 413"), { statusCode: 413 });
    expect(rejectionMessage(status413, "big.jpg", perFile)).toBe(perFile);
    // Only for a 413: a file refused for another reason keeps that reason
    expect(rejectionMessage(httpError(503, "storage is unavailable; try again"), "big.jpg", perFile)).toBe(
      "storage is unavailable; try again",
    );
  });

  it("is explained by its status when the body is a proxy's page or empty", () => {
    expect(rejectionMessage(httpError(502, "<html><body>Bad Gateway</body></html>"), "cat.jpg")).toBe(
      "the server answered with status 502",
    );
    expect(rejectionMessage(httpError(413, ""), "cat.jpg")).toBe("too large for the server");
  });
});

describe("isTemporaryFailure", () => {
  it("takes an outage or a network error as worth trying again, and a refusal not", () => {
    expect(isTemporaryFailure(httpError(503, "storage is unavailable; try again"))).toBe(true);
    expect(isTemporaryFailure(new TypeError("Network error: the upload did not reach the server"))).toBe(true);
    expect(
      isTemporaryFailure(new CombinedGraphQLErrors({ errors: [{ message: "the database is unavailable; try again" }] })),
    ).toBe(true);

    expect(isTemporaryFailure(httpError(400, "invalid multipart form: invalid multipart data"))).toBe(false);
    expect(isTemporaryFailure(httpError(413, ""))).toBe(false);
    expect(
      isTemporaryFailure(new CombinedGraphQLErrors({ errors: [{ message: "cat.jpg: not a supported image" }] })),
    ).toBe(false);
  });

  it("labels such a file as not uploaded, not rejected", () => {
    expect(phaseLabel({ ...base, phase: "unsent", message: "storage is unavailable; try again" })).toBe(
      "Could not upload: storage is unavailable; try again",
    );
  });
});
