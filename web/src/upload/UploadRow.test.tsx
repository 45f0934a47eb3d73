import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { UploadRow } from "./UploadRow";
import type { UploadState } from "./progress";

const file = new File(["x".repeat(4000)], "dog.png", { type: "image/png" });

describe("an upload's single progress bar", () => {
  it("shows bytes sent while uploading, then the worker's progress", () => {
    const uploading: UploadState = { key: "a", file, phase: "uploading", sentBytes: 2000, totalBytes: 4000 };
    const { rerender } = render(<ul>{<UploadRow state={uploading} />}</ul>);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByText(/Uploading 2.0 KiB of 3.9 KiB/)).toBeInTheDocument();

    const processing: UploadState = { ...uploading, phase: "processing", id: "9", sentBytes: 4000 };
    rerender(
      <ul>
        <UploadRow
          state={processing}
          update={{ id: "9", status: "PROCESSING", progress: 0.5, stage: "decoded", error: null, image: null }}
        />
      </ul>,
    );
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "75");
    expect(screen.getByText("Processing (decoded)")).toBeInTheDocument();
  });

  it("reports a processing failure as an alert", () => {
    render(
      <ul>
        <UploadRow state={{ key: "b", file, phase: "failed", id: "3", sentBytes: 4000, totalBytes: 4000, message: "truncated JPEG" }} />
      </ul>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Processing failed: truncated JPEG");
  });

  it("ends a row whose image was deleted, without an alert or a link to it", () => {
    render(
      <ul>
        <UploadRow state={{ key: "c", file, phase: "deleted", id: "4", sentBytes: 4000, totalBytes: 4000 }} />
      </ul>,
    );
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(screen.getByText("Deleted before it was processed")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("link")).toBeNull();
  });

  it("announces each new status of the row, politely, in one live region", () => {
    const processing: UploadState = { key: "d", file, phase: "processing", id: "5", sentBytes: 4000, totalBytes: 4000 };
    const { rerender } = render(
      <ul>
        <UploadRow state={processing} />
      </ul>,
    );
    const status = screen.getByText("Queued for processing");
    expect(status).toHaveAttribute("aria-live", "polite");

    rerender(
      <ul>
        <UploadRow state={{ ...processing, phase: "completed" }} />
      </ul>,
    );
    expect(status).toHaveTextContent("Done");
    expect(status).toHaveAttribute("aria-live", "polite");

    rerender(
      <ul>
        <UploadRow state={{ ...processing, phase: "failed", message: "truncated JPEG" }} />
      </ul>,
    );
    expect(status).toHaveTextContent("Processing failed: truncated JPEG");
    expect(status).toHaveAttribute("aria-live", "polite");
  });
});
