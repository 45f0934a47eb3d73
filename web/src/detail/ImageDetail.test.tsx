import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { Observable, Subject } from "rxjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Gallery } from "../gallery/Gallery";
import { IMAGE_CARD_FIELDS } from "../graphql/operations";
import type { ImageDetail as ImageDetailData, ImageUpdate, StoredStatus } from "../graphql/types";
import { LiveUpdates } from "../live/LiveUpdates";
import { imageCard as card, imageUpdate as update } from "../test/images";
import { ImageDetail } from "./ImageDetail";

type Typed<T> = T & { __typename: string };

const detail = (id: string, filename: string, status: StoredStatus): Typed<ImageDetailData> => {
  const done = status === "COMPLETED";
  return {
    ...card(id, filename, status),
    contentType: "image/jpeg",
    fileSize: 4096,
    startedAt: status === "PENDING" ? null : "2026-11-27T19:00:01+00:00",
    processedAt: done ? "2026-11-27T19:00:03+00:00" : null,
    attempts: 1,
    width: done ? 640 : null,
    height: done ? 480 : null,
    format: done ? "JPEG" : null,
    originalUrl: `/api/images/${id}/original`,
    srcset: done ? `/api/images/${id}/renditions/small 320w` : null,
    renditions: done
      ? [
          {
            __typename: "Rendition",
            name: "small",
            width: 320,
            height: 240,
            format: "WEBP",
            size: 2048,
            url: `/api/images/${id}/renditions/small`,
          } as Typed<ImageDetailData["renditions"][number]>,
        ]
      : [],
    metadata: null,
  };
};

/** A fake server with the images in `images`; the test decides what the watch-all stream says. */
function fakeServer(images: Map<string, Typed<ImageDetailData>>, stream = new Subject<ImageUpdate>()) {
  const deleteFails = { value: false };
  const link = new ApolloLink((operation) => {
    if (operation.operationName === "ImageUpdates") {
      return new Observable((observer) => {
        const subscription = stream.subscribe((imageUpdates) => observer.next({ data: { imageUpdates } }));
        return () => subscription.unsubscribe();
      });
    }
    return new Observable((observer) => {
      const id = operation.variables.id as string;
      if (operation.operationName === "ImageDetail") {
        observer.next({ data: { image: images.get(id) ?? null } });
      } else if (operation.operationName === "MutationFields") {
        const fields = ["uploadImage", "deleteImage", "retryImage"].map((name) => ({ __typename: "__Field", name }));
        observer.next({ data: { __type: { __typename: "__Type", fields } } });
      } else if (operation.operationName === "RetryImage") {
        // As the server does: requeued, PENDING, with a fresh attempt count
        const image = { ...images.get(id)!, status: "PENDING" as const, error: null, attempts: 0 };
        images.set(id, image);
        observer.next({ data: { retryImage: { ...card(id, image.filename, "PENDING"), attempts: 0 } } });
      } else if (operation.operationName === "DeleteImage") {
        if (deleteFails.value) {
          observer.error(new TypeError("Failed to fetch"));
          return;
        }
        observer.next({ data: { deleteImage: images.delete(id) } });
      } else if (operation.operationName === "Images") {
        const edges = [...images.values()].map((image) => ({
          __typename: "ImageEdge",
          cursor: `c${image.id}`,
          node: card(image.id, image.filename, image.status),
        }));
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges,
              pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
            },
          },
        });
      }
      observer.complete();
    });
  });
  return { link, stream, deleteFails };
}

function renderWith(link: ApolloLink, children: ReactNode) {
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const ui = (
    <ApolloProvider client={client}>
      <LiveUpdates>{children}</LiveUpdates>
    </ApolloProvider>
  );
  return { client, ...render(ui) };
}

/** The gallery beside one image's page, whose Delete is confirmed; the gallery's list. */
function renderGalleryAndDetail(link: ApolloLink, id: string): HTMLElement {
  vi.spyOn(window, "confirm").mockReturnValue(true);
  renderWith(
    link,
    <>
      <Gallery canRetry={false} />
      <ImageDetail id={id} />
    </>,
  );
  return screen.getByRole("list", { name: "Images" });
}

/** The "Finished" line of the timeline. */
function finished(): HTMLElement {
  return screen.getByText("Finished").closest("li")!;
}

beforeEach(() => {
  window.location.hash = "#/images/1";
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("ImageDetail", () => {
  it("shows the finished image once the live stream says it completed", async () => {
    // Given the page of an image still processing
    const images = new Map([["1", detail("1", "cat.jpg", "PROCESSING")]]);
    const server = fakeServer(images);
    const { client } = renderWith(server.link, <ImageDetail id="1" />);
    const heading = await screen.findByRole("heading", { name: /cat\.jpg/ });
    expect(heading).toHaveTextContent("processing");
    expect(screen.getByText("Renditions appear once processing completes.")).toBeInTheDocument();

    // When it completes: its new card reaches the cache before the page sees the event (it
    // comes with every event, on the watch-all stream and on an upload row's own stream),
    images.set("1", detail("1", "cat.jpg", "COMPLETED"));
    const completed = card("1", "cat.jpg", "COMPLETED");
    act(() => client.cache.writeFragment({ fragment: IMAGE_CARD_FIELDS, data: completed }));
    await waitFor(() => expect(heading).toHaveTextContent("completed"));
    // and then the stream says so
    act(() => server.stream.next(update("1", "COMPLETED", completed)));

    // Then the page shows the finished image: its renditions, when it finished, the image
    const renditions = await screen.findByRole("table", { name: "Renditions" });
    expect(within(renditions).getByRole("link", { name: "small" })).toBeInTheDocument();
    expect(finished()).not.toHaveTextContent("—");
    expect(screen.getByRole("img", { name: "cat.jpg" })).toHaveAttribute("src", "/api/images/1/renditions/small");
  });

  it("reads the image again when its page is opened again", async () => {
    // Given the page of a processing image, opened and left
    const images = new Map([["1", detail("1", "cat.jpg", "PROCESSING")]]);
    const server = fakeServer(images);
    const { client, unmount } = renderWith(server.link, <ImageDetail id="1" />);
    expect(await screen.findByRole("heading", { name: /cat\.jpg/ })).toHaveTextContent("processing");
    unmount();

    // When it completes while the page is closed, and the page is opened again
    images.set("1", detail("1", "cat.jpg", "COMPLETED"));
    render(
      <ApolloProvider client={client}>
        <ImageDetail id="1" />
      </ApolloProvider>,
    );

    // Then it shows the image as it is now
    expect(await screen.findByRole("table", { name: "Renditions" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: /cat\.jpg/ })).toHaveTextContent("completed");
  });

  it("says why a delete failed and stays on the page", async () => {
    const images = new Map([["1", detail("1", "cat.jpg", "COMPLETED")]]);
    const server = fakeServer(images);
    server.deleteFails.value = true;
    vi.spyOn(window, "confirm").mockReturnValue(true);
    renderWith(server.link, <ImageDetail id="1" />);

    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Could not delete cat.jpg: Failed to fetch");
    expect(screen.getByRole("heading", { name: /cat\.jpg/ })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Delete" })).toBeEnabled();
    expect(window.location.hash).toBe("#/images/1");
  });

  it("drops a deleted image from the gallery without waiting for its DELETED event", async () => {
    // Given the gallery with two images, and the page of one of them; no events arrive
    const images = new Map([
      ["2", detail("2", "dog.jpg", "COMPLETED")],
      ["1", detail("1", "cat.jpg", "COMPLETED")],
    ]);
    const server = fakeServer(images);
    const gallery = renderGalleryAndDetail(server.link, "1");
    await waitFor(() => expect(within(gallery).getAllByTestId("image-card")).toHaveLength(2));

    // When the image is deleted from its page
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));

    // Then its card leaves the gallery, and the page goes back to it
    await waitFor(() => expect(within(gallery).getAllByTestId("image-card")).toHaveLength(1));
    expect(within(gallery).getByText("dog.jpg")).toBeInTheDocument();
    expect(within(gallery).queryByText("cat.jpg")).toBeNull();
    expect(window.location.hash).toBe("#/");
  });

  it("drops a new upload's card, known only from the stream, when its page deletes it", async () => {
    // Given the gallery's first page, then an upload from elsewhere that arrives on the
    // stream only, and that upload's page; its DELETED event never comes (socket down)
    const images = new Map([["1", detail("1", "cat.jpg", "COMPLETED")]]);
    const server = fakeServer(images);
    const gallery = renderGalleryAndDetail(server.link, "2");
    await waitFor(() => expect(within(gallery).getAllByTestId("image-card")).toHaveLength(1));
    images.set("2", detail("2", "new.jpg", "COMPLETED"));
    act(() => server.stream.next(update("2", "COMPLETED", card("2", "new.jpg", "COMPLETED"))));
    await waitFor(() => expect(within(gallery).getAllByTestId("image-card")).toHaveLength(2));

    // When the new image is deleted from its page
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));

    // Then its card leaves the gallery too
    await waitFor(() => expect(within(gallery).getAllByTestId("image-card")).toHaveLength(1));
    expect(within(gallery).queryByText("new.jpg")).toBeNull();
    expect(window.location.hash).toBe("#/");
  });

  it("offers the original as a download named as it was uploaded", async () => {
    const images = new Map([["1", detail("1", "rotated.jpg", "COMPLETED")]]);
    renderWith(fakeServer(images).link, <ImageDetail id="1" />);

    const download = await screen.findByRole("link", { name: "Download the original" });
    expect(download).toHaveAttribute("href", "/api/images/1/original?download=1");
    expect(download).toHaveAttribute("download", "rotated.jpg");
  });

  it("retries a failed image from its page, follows it live, and says when it fails again", async () => {
    // Given the page of a failed image
    const failed = { ...detail("1", "truncated.jpg", "FAILED"), error: "cannot decode image: truncated" };
    const images = new Map([["1", failed]]);
    const server = fakeServer(images);
    renderWith(server.link, <ImageDetail id="1" />);
    expect(await screen.findByText("Processing failed; no renditions.")).toBeInTheDocument();
    expect(screen.queryByText("Renditions appear once processing completes.")).toBeNull();

    // When Retry is pressed from the keyboard
    const retry = await screen.findByRole("button", { name: "Retry" });
    retry.focus();
    await userEvent.keyboard("{Enter}");

    // Then the image is queued again, and focus moves from the departed button to its status
    const heading = screen.getByRole("heading", { name: /truncated\.jpg/ });
    await waitFor(() => expect(heading).toHaveTextContent("pending"));
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
    await waitFor(() => expect(screen.getByText("Queued for processing")).toHaveFocus());

    // And while a worker has it, the page shows its stage and progress from the live stream
    images.set("1", { ...images.get("1")!, status: "PROCESSING" });
    const processing = update("1", "PROCESSING", card("1", "truncated.jpg", "PROCESSING"));
    act(() => server.stream.next({ ...processing, progress: 0.4, stage: "decoded" }));
    expect(await screen.findByText("Processing (decoded)")).toBeInTheDocument();
    const bar = screen.getByRole("progressbar", { name: "truncated.jpg: processing" });
    expect(bar).toHaveAttribute("aria-valuenow", "40");

    // And when it fails again, the page says so, not as if Retry had done nothing
    images.set("1", failed);
    const again = { ...card("1", "truncated.jpg", "FAILED"), error: failed.error };
    act(() => server.stream.next({ ...update("1", "FAILED", again), error: failed.error }));
    expect(await screen.findByText(/^Retried at .*: failed again\.$/)).toBeInTheDocument();
    expect(heading).toHaveTextContent("failed");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});
