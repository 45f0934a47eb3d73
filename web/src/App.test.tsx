import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable } from "rxjs";
import { beforeEach, describe, expect, it } from "vitest";

import { App } from "./App";

const stats = {
  __typename: "Stats",
  counts: { __typename: "StatusCounts", pending: 0, processing: 0, completed: 0, failed: 0, total: 0 },
  queue: { __typename: "QueueStats", name: "image_processing", waiting: 0, consumers: 1, error: null },
  processing: { __typename: "ProcessingStats", completed: 0, averageS: null, p95S: null, endToEndP95S: null },
  throughput: [],
};

/** A server with no images; subscriptions stay quiet. */
const fakeServer = new ApolloLink((operation) => {
  return new Observable((observer) => {
    switch (operation.operationName) {
      case "MutationFields":
        observer.next({ data: { __type: { __typename: "__Type", fields: [] } } });
        break;
      case "Stats":
        observer.next({ data: { stats } });
        break;
      case "Images":
        observer.next({
          data: {
            images: {
              __typename: "ImageConnection",
              edges: [],
              pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
            },
          },
        });
        break;
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
  window.location.hash = "#/dashboard";
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
});
