import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable, Subject } from "rxjs";
import { describe, expect, it } from "vitest";

import type { ImageCard, ImageUpdate } from "../graphql/types";
import { createCache } from "../apollo";
import { LiveUpdates } from "../live/LiveUpdates";
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
});
