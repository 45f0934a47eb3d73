import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable } from "rxjs";
import { describe, expect, it } from "vitest";

import type { ImageCard } from "../graphql/types";
import { UploadPanel } from "./UploadPanel";

const card = (id: string, filename: string, status: ImageCard["status"]): ImageCard => ({
  __typename: "Image",
  id,
  filename,
  status,
  error: null,
  thumbnailUrl: status === "COMPLETED" ? `/api/thumbnails/${id}` : null,
  placeholder: null,
  dominantColor: null,
  createdAt: "2026-11-27T19:00:00+00:00",
});

/** A fake server: accepts image files, rejects the rest, and finishes every image it took. */
function fakeServer(): ApolloLink {
  return new ApolloLink((operation) => {
    return new Observable((observer) => {
      if (operation.operationName === "UploadImage") {
        const file = operation.variables.file as File;
        if (!file.type.startsWith("image/")) {
          observer.next({
            data: null,
            errors: [
              {
                message: `${file.name}: not a supported image (accepted formats: JPEG, PNG)`,
                path: ["uploadImage"],
              },
            ],
          });
        } else {
          observer.next({ data: { uploadImage: card("1", file.name, "PENDING") } });
        }
        observer.complete();
      } else if (operation.operationName === "ImageUpdates") {
        const [id] = operation.variables.ids as string[];
        const image = card(id, "cat.jpg", "COMPLETED");
        observer.next({
          data: {
            imageUpdates: { __typename: "ImageUpdate", id, status: "COMPLETED", progress: 1, stage: "done", error: null, image },
          },
        });
        observer.complete();
      }
    });
  });
}

function renderPanel() {
  const client = new ApolloClient({ link: fakeServer(), cache: new InMemoryCache() });
  render(
    <ApolloProvider client={client}>
      <UploadPanel />
    </ApolloProvider>,
  );
}

describe("UploadPanel", () => {
  it("shows why a file was rejected and still finishes the others", async () => {
    renderPanel();

    // A drop bypasses the picker's accept="image/*", so the server must be the judge.
    const user = userEvent.setup({ applyAccept: false });
    await user.upload(screen.getByTestId("file-input"), [
      new File(["jpeg"], "cat.jpg", { type: "image/jpeg" }),
      new File(["text"], "notes.txt", { type: "text/plain" }),
    ]);

    const list = screen.getByRole("list", { name: "Uploads" });
    const rejected = await within(list).findByRole("alert");
    expect(rejected).toHaveTextContent("Rejected: not a supported image (accepted formats: JPEG, PNG)");
    expect(rejected).not.toHaveTextContent("notes.txt:");
    expect(await within(list).findByText(/Done/)).toBeInTheDocument();
    const bars = within(list).getAllByRole("progressbar");
    expect(bars.map((bar) => bar.getAttribute("aria-valuenow"))).toEqual(["100", "100"]);
    expect(within(list).getByRole("link", { name: "view" })).toHaveAttribute("href", "#/images/1");
  });

  it("opens the file picker from a focusable drop zone", async () => {
    renderPanel();
    const input = screen.getByTestId("file-input") as HTMLInputElement;
    let opened = 0;
    input.addEventListener("click", () => opened++);

    await userEvent.tab();
    const zone = screen.getByRole("button", { name: /Drop images here/ });
    expect(zone).toHaveFocus();
    await userEvent.keyboard("{Enter}");

    expect(opened).toBe(1);
    expect(input.multiple).toBe(true);
  });
});
