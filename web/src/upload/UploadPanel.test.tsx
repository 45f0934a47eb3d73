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

/** A fake server: accepts image files, rejects the rest, and ends every image it took with `final`. */
function fakeServer(final: "COMPLETED" | "DELETED" = "COMPLETED"): ApolloLink {
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
        const image = final === "DELETED" ? null : card(id, "cat.jpg", final);
        const stage = final === "DELETED" ? "deleted" : "done";
        observer.next({
          data: {
            imageUpdates: { __typename: "ImageUpdate", id, status: final, progress: 1, stage, error: null, image },
          },
        });
        observer.complete();
      }
    });
  });
}

function renderPanel(final: "COMPLETED" | "DELETED" = "COMPLETED") {
  const client = new ApolloClient({ link: fakeServer(final), cache: new InMemoryCache() });
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

  it("ends the row of an image deleted before it was processed", async () => {
    renderPanel("DELETED");
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

    const list = screen.getByRole("list", { name: "Uploads" });
    expect(await within(list).findByText("Deleted before it was processed")).toBeInTheDocument();
    expect(within(list).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(within(list).queryByRole("alert")).toBeNull();
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
