import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { describe, expect, it } from "vitest";

import type { ImageUpdate } from "../graphql/types";
import { combinedProgress, phaseLabel, rejectionMessage, type UploadState } from "./progress";

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
      "Uploading 512 B of 2.0 KB",
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
      errors: [{ message: "big.jpg: file is larger than the limit of 10 bytes" }],
    });
    expect(rejectionMessage(error, "big.jpg")).toBe("file is larger than the limit of 10 bytes");
  });

  it("explains a request the server cut off for its size", () => {
    const error = Object.assign(new Error("Response not successful: Received status code 413"), { statusCode: 413 });
    expect(rejectionMessage(error, "big.jpg")).toBe("too large for the server");
  });
});
