import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable } from "rxjs";
import { beforeEach, describe, expect, it } from "vitest";

import { App } from "./App";
import { imageCard } from "./test/images";

const stats = {
  __typename: "Stats",
  counts: { __typename: "StatusCounts", pending: 0, processing: 0, completed: 0, failed: 0, total: 0 },
  queue: { __typename: "QueueStats", name: "image_processing", waiting: 0, consumers: 1, error: null },
  processing: { __typename: "ProcessingStats", completed: 0, averageS: null, p95S: null, endToEndP95S: null },
  throughput: [],
};

const broken = { ...imageCard("2", "broken.jpg", "FAILED"), error: "image file is truncated" };
const images = [broken, imageCard("1", "cat.jpg")];

/** A server with two images, one of them failed; subscriptions stay quiet. */
const fakeServer = new ApolloLink((operation) => {
  return new Observable((observer) => {
    switch (operation.operationName) {
      case "MutationFields":
        observer.next({ data: { __type: { __typename: "__Type", fields: [] } } });
        break;
      case "Stats":
        observer.next({ data: { stats } });
        break;
      case "Images": {
        const status = operation.variables.status as string | null;
        const listed = images.filter((image) => !status || image.status === status);
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges: listed.map((node) => ({ __typename: "ImageEdge", cursor: `c${node.id}`, node })),
              pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
            },
          },
        });
        break;
      }
      case "ImageDetail": {
        const image = images.find((candidate) => candidate.id === operation.variables.id);
        const detail = image && {
          ...image,
          contentType: "image/jpeg",
          fileSize: 4096,
          startedAt: null,
          processedAt: null,
          attempts: 1,
          width: null,
          height: null,
          format: null,
          originalUrl: `/api/images/${image.id}/original`,
          srcset: null,
          renditions: [],
          metadata: null,
        };
        observer.next({ data: { image: detail ?? null } });
        break;
      }
      default:
        return;
    }
    observer.complete();
  });
});

function renderApp() {
  const client = new ApolloClient({ link: fakeServer, cache: new InMemoryCache() });
  render(
    <ApolloProvider client={client}>
      <App />
    </ApolloProvider>,
  );
}

beforeEach(() => {
  // A new history entry, as if the page had just been loaded there.
  window.history.pushState(null, "", "#/dashboard");
});

describe("App", () => {
  it("skips to the page's content without leaving the page", async () => {
    renderApp();
    expect(await screen.findByRole("heading", { name: "Dashboard" })).toBeInTheDocument();

    await userEvent.click(screen.getByRole("link", { name: "Skip to content" }));

    expect(screen.getByRole("main")).toHaveFocus();
    expect(screen.getByRole("heading", { name: "Dashboard" })).toBeInTheDocument();
    expect(window.location.hash).toBe("#/dashboard");
  });

  it("moves focus to the content when another page opens, not on the first", async () => {
    renderApp();
    expect(await screen.findByRole("heading", { name: "Dashboard" })).toBeInTheDocument();
    expect(screen.getByRole("main")).not.toHaveFocus();

    await userEvent.click(screen.getByRole("link", { name: "Gallery" }));

    expect(await screen.findByRole("heading", { name: "Gallery" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("main")).toHaveFocus());
  });

  it("comes back from an image to the gallery as it was left: its filter, the image's card focused", async () => {
    // Given the gallery, with the failed images chosen
    window.history.pushState(null, "", "#/");
    renderApp();
    await userEvent.selectOptions(await screen.findByRole("combobox", { name: "Status" }), "failed");
    const card = await screen.findByRole("link", { name: "broken.jpg, failed" });
    await waitFor(() => expect(screen.getAllByTestId("image-card")).toHaveLength(1));

    // When an image is opened, and its page's link back to the gallery followed
    await userEvent.click(card);
    expect(await screen.findByRole("heading", { name: /broken\.jpg/ })).toBeInTheDocument();
    const entries = window.history.length;
    await userEvent.click(screen.getByRole("link", { name: "← Back to the gallery" }));

    // Then that is Back: no new history entry, the same filter, and focus on that card
    await waitFor(() => expect(screen.getByRole("link", { name: "broken.jpg, failed" })).toHaveFocus());
    expect(window.history.length).toBe(entries);
    expect(window.location.hash).toBe("#/?status=failed");
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveValue("FAILED");
    expect(screen.getAllByTestId("image-card")).toHaveLength(1);
  });

  it("links back to the gallery from an image opened from elsewhere", async () => {
    window.history.pushState(null, "", "#/images/1");
    renderApp();
    expect(await screen.findByRole("heading", { name: /cat\.jpg/ })).toBeInTheDocument();
    const entries = window.history.length;

    await userEvent.click(screen.getByRole("link", { name: "← Back to the gallery" }));

    expect(await screen.findByRole("heading", { name: "Gallery" })).toBeInTheDocument();
    expect(window.history.length).toBe(entries + 1);
    expect(window.location.hash).toBe("#/");
  });

  it("names each page in the document's title", async () => {
    renderApp();
    await waitFor(() => expect(document.title).toBe("Dashboard – imagequeue"));

    await userEvent.click(screen.getByRole("link", { name: "Gallery" }));
    await waitFor(() => expect(document.title).toBe("Gallery – imagequeue"));

    await userEvent.click(await screen.findByRole("link", { name: "cat.jpg, completed" }));
    await waitFor(() => expect(document.title).toBe("cat.jpg – imagequeue"));

    window.location.hash = "#/images/9";
    expect(await screen.findByText("There is no image 9.")).toBeInTheDocument();
    expect(document.title).toBe("Image 9 – imagequeue");
  });
});
