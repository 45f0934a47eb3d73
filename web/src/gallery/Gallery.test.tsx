import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable, Subject } from "rxjs";
import { beforeEach, describe, expect, it } from "vitest";

import type { ImageCard, ImageUpdate } from "../graphql/types";
import { createCache } from "../apollo";
import { LiveUpdates, MAX_NEW_IDS } from "../live/LiveUpdates";
import { imageCard as card, imageUpdate as update } from "../test/images";
import { Gallery } from "./Gallery";

/** A fake server listing two images; the test decides what the watch-all stream says. */
function fakeServer(stream: Subject<ImageUpdate>, status: ImageCard["status"] = "COMPLETED"): ApolloLink {
  return new ApolloLink((operation) => {
    if (operation.operationName === "Images") {
      return new Observable((observer) => {
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges: [
                { __typename: "ImageEdge", cursor: "c2", node: card("2", "dog.jpg", status) },
                { __typename: "ImageEdge", cursor: "c1", node: card("1", "cat.jpg", status) },
              ],
              pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: "c1" },
            },
          },
        });
        observer.complete();
      });
    }
    return new Observable((observer) => {
      const subscription = stream.subscribe((imageUpdates) => observer.next({ data: { imageUpdates } }));
      return () => subscription.unsubscribe();
    });
  });
}

function showGallery(client: ApolloClient): void {
  render(
    <ApolloProvider client={client}>
      <LiveUpdates>
        <Gallery canRetry={false} />
      </LiveUpdates>
    </ApolloProvider>,
  );
}

/**
 * A fake server listing `images` (cards, newest first) a page at a time, as the real one
 * does, answering a moment later; the test adds to them and says what the watch-all
 * stream says.
 */
function pagingServer(images: ImageCard[], stream: Subject<ImageUpdate>): ApolloLink {
  return new ApolloLink((operation) => {
    if (operation.operationName !== "Images") {
      return new Observable((observer) => {
        const subscription = stream.subscribe((imageUpdates) => observer.next({ data: { imageUpdates } }));
        return () => subscription.unsubscribe();
      });
    }
    const { first, after, status } = operation.variables as { first: number; after?: string; status?: string };
    const listed = images.filter((image) => !status || image.status === status);
    const start = after ? listed.findIndex((image) => `c${image.id}` === after) + 1 : 0;
    const slice = listed.slice(start, start + first);
    return new Observable((observer) => {
      const answer = setTimeout(() => {
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges: slice.map((node) => ({ __typename: "ImageEdge", cursor: `c${node.id}`, node })),
              pageInfo: {
                __typename: "PageInfo",
                hasNextPage: start + first < listed.length,
                endCursor: slice.length > 0 ? `c${slice[slice.length - 1].id}` : null,
              },
            },
          },
        });
        observer.complete();
      }, 0);
      return () => clearTimeout(answer);
    });
  });
}

beforeEach(() => {
  window.history.replaceState(null, "", "#/");
});

describe("Gallery", () => {
  it("drops an image when its DELETED event arrives, whatever comes after it", async () => {
    const stream = new Subject<ImageUpdate>();
    const client = new ApolloClient({ link: fakeServer(stream), cache: new InMemoryCache() });
    showGallery(client);
    expect(await screen.findAllByTestId("image-card")).toHaveLength(2);

    // Another client deletes dog.jpg; a late event for it arrives after the deletion.
    act(() => {
      stream.next(update("2", "DELETED", null));
      stream.next(update("2", "COMPLETED", card("2", "dog.jpg")));
    });

    await waitFor(() => expect(screen.getAllByTestId("image-card")).toHaveLength(1));
    expect(screen.getByText("cat.jpg")).toBeInTheDocument();
    expect(screen.queryByText("dog.jpg")).toBeNull();
  });

  it("takes a card out of a status filter once the image leaves that status", async () => {
    // Given the gallery filtered to pending images, two of them
    const stream = new Subject<ImageUpdate>();
    const client = new ApolloClient({ link: fakeServer(stream, "PENDING"), cache: new InMemoryCache() });
    showGallery(client);
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Status" }), "pending");
    expect(await screen.findAllByTestId("image-card")).toHaveLength(2);

    // When one of them completes
    act(() => stream.next(update("2", "COMPLETED", card("2", "dog.jpg"))));

    // Then only the other is listed
    await waitFor(() => expect(screen.getAllByTestId("image-card")).toHaveLength(1));
    expect(screen.getByText("cat.jpg")).toBeInTheDocument();
  });

  it("keeps the pages loaded below the first when the page reads its lists again (a reconnect)", async () => {
    // Given a gallery of 30 images, 24 a page, with the second page loaded
    const ids = Array.from({ length: 30 }, (_, i) => 30 - i);
    const pages = new ApolloLink((operation) => {
      if (operation.operationName !== "Images") return new Observable(() => undefined);
      const after = operation.variables.after as string | undefined;
      const start = after ? ids.indexOf(Number(after.slice(1))) + 1 : 0;
      const slice = ids.slice(start, start + 24);
      return new Observable((observer) => {
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges: slice.map((id) => ({ __typename: "ImageEdge", cursor: `c${id}`, node: card(String(id), `${id}.jpg`) })),
              pageInfo: { __typename: "PageInfo", hasNextPage: start + 24 < ids.length, endCursor: `c${slice[slice.length - 1]}` },
            },
          },
        });
        observer.complete();
      });
    });
    const client = new ApolloClient({ link: pages, cache: createCache() });
    showGallery(client);
    await userEvent.click(await screen.findByRole("button", { name: "Load more" }));
    await waitFor(() => expect(screen.getAllByTestId("image-card")).toHaveLength(30));

    // When the page reads its active queries again, as it does when its socket connects
    await act(() => client.refetchQueries({ include: "active" }));

    // Then the reader keeps their place: all 30 are still listed
    expect(screen.getAllByTestId("image-card")).toHaveLength(30);
  });

  it("lists every new image, however many arrive while it is open", async () => {
    // Given an open gallery of two images
    const stream = new Subject<ImageUpdate>();
    const images = [card("2", "dog.jpg"), card("1", "cat.jpg")];
    const client = new ApolloClient({ link: pagingServer(images, stream), cache: createCache() });
    showGallery(client);
    expect(await screen.findAllByTestId("image-card")).toHaveLength(2);

    // When more images are uploaded than the page keeps new ids of
    const total = 2 + MAX_NEW_IDS + 30;
    act(() => {
      for (let id = 3; id <= total; id++) {
        const image = card(String(id), `new-${id}.jpg`);
        images.unshift(image);
        stream.next(update(String(id), "COMPLETED", image));
      }
    });

    // Then going to the end of the gallery shows every one of them
    for (;;) {
      await waitFor(() => expect(screen.queryByRole("button", { name: "Loading…" })).toBeNull());
      const more = screen.queryByRole("button", { name: "Load more" });
      if (!more) break;
      await userEvent.click(more);
    }
    const shown = screen.getAllByTestId("image-card").map((card) => card.textContent);
    expect(shown).toHaveLength(total);
    for (let id = 3; id <= total; id++) expect(shown).toContain(`new-${id}.jpgcompleted`);
  });

  it("reads its list again once, not over and over, when what pushed a new id out was older", async () => {
    // Given a gallery of the failed images, the five oldest of 300
    window.history.replaceState(null, "", "#/?status=failed");
    const stream = new Subject<ImageUpdate>();
    const images = Array.from({ length: 300 }, (_, i) => card(String(300 - i), `${300 - i}.jpg`, i >= 295 ? "FAILED" : "COMPLETED"));
    let reads = 0;
    const counting = new ApolloLink((operation, forward) => {
      if (operation.operationName === "Images") reads++;
      return forward(operation);
    }).concat(pagingServer(images, stream));
    const client = new ApolloClient({ link: counting, cache: createCache() });
    showGallery(client);
    expect(await screen.findAllByTestId("image-card")).toHaveLength(5);

    // When a new upload is followed by events of as many older images as the page keeps new ids
    act(() => {
      const upload = card("301", "301.jpg");
      images.unshift(upload);
      stream.next(update("301", "COMPLETED", upload));
      for (let id = 6; id < 6 + MAX_NEW_IDS; id++) stream.next(update(String(id), "COMPLETED", card(String(id), `${id}.jpg`)));
    });

    // Then the list is read again, once
    await waitFor(() => expect(reads).toBe(2));
    await act(() => new Promise((resolve) => setTimeout(resolve, 100)));
    expect(reads).toBe(2);
    expect(screen.getAllByTestId("image-card")).toHaveLength(5);
  });

  it("keeps the status filter in the URL, and starts with the one there", async () => {
    // Given a gallery opened with the failed ones chosen
    window.history.replaceState(null, "", "#/?status=failed");
    const stream = new Subject<ImageUpdate>();
    const images = [card("2", "dog.jpg"), { ...card("1", "cat.jpg", "FAILED"), error: "truncated" }];
    const client = new ApolloClient({ link: pagingServer(images, stream), cache: createCache() });
    showGallery(client);

    // Then it lists only those, and says so in the tab's title
    expect(await screen.findAllByTestId("image-card")).toHaveLength(1);
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveValue("FAILED");
    expect(document.title).toBe("Gallery: failed – imagequeue");

    // When another status is chosen
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Status" }), "completed");

    // Then the URL says so, in place of the page's history entry
    expect(window.location.hash).toBe("#/?status=completed");
    await waitFor(() => expect(screen.getByTestId("image-card")).toHaveTextContent("dog.jpg"));
  });

  it("says there are no images of the status chosen, not that there are none at all", async () => {
    const client = new ApolloClient({ link: fakeServer(new Subject<ImageUpdate>()), cache: new InMemoryCache() });
    showGallery(client);
    expect(await screen.findAllByTestId("image-card")).toHaveLength(2);

    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Status" }), "failed");

    expect(await screen.findByText("No failed images.")).toBeInTheDocument();
    expect(screen.queryByText(/No images yet/)).toBeNull();
  });
});
