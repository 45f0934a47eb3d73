import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { Observable, type Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";

import { imageCard, imageUpdate } from "../test/images";
import { ConnectionStatus } from "./connection";
import {
  EVENTS_PER_CACHE_GC,
  LiveUpdates,
  MAX_LIVE_IMAGES,
  MAX_NEW_IDS,
  useLive,
  type Live,
} from "./LiveUpdates";

const update = (id: number, withImage = false) =>
  imageUpdate(String(id), "PENDING", withImage ? imageCard(String(id), `${id}.jpg`, "PENDING") : null);

/** A server that hands the test each watch-all stream the page opens. */
function fakeServer() {
  const streams: Subscriber<{ data: Record<string, unknown> }>[] = [];
  const link = new ApolloLink(
    () =>
      new Observable<{ data: Record<string, unknown> }>((observer) => {
        streams.push(observer);
      }),
  );
  return { streams, client: new ApolloClient({ link, cache: new InMemoryCache() }) };
}

function Probe({ seen }: { seen: { live?: Live } }) {
  seen.live = useLive();
  return null;
}

function showLive(client: ApolloClient, page: ReactNode, connection?: ConnectionStatus): void {
  render(
    <ApolloProvider client={client}>
      <LiveUpdates connection={connection}>{page}</LiveUpdates>
    </ApolloProvider>,
  );
}

describe("LiveUpdates", () => {
  it("says when live updates pause and when they are back", async () => {
    const { client } = fakeServer();
    const connection = new ConnectionStatus();
    showLive(client, "page", connection);
    act(() => connection.connected());
    expect(screen.queryByRole("status")).toBeNull();

    act(() => connection.closed());
    expect(screen.getByRole("status")).toHaveTextContent("Live updates paused: reconnecting to the server");

    act(() => connection.connected());
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("offers to reconnect when the stream ends in an error, and opens it again", async () => {
    const { client, streams } = fakeServer();
    showLive(client, "page");
    await waitFor(() => expect(streams).toHaveLength(1));

    act(() => streams[0].error(new Error("socket closed with 4500")));
    expect(await screen.findByRole("alert")).toHaveTextContent("Live updates stopped.");

    await userEvent.click(screen.getByRole("button", { name: "Reconnect" }));
    await waitFor(() => expect(streams).toHaveLength(2));
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("takes the stopped notice back when events come again after an error in one", async () => {
    const { client, streams } = fakeServer();
    showLive(client, "page");
    await waitFor(() => expect(streams).toHaveLength(1));

    act(() => streams[0].next({ data: { imageUpdates: null }, errors: [{ message: "database unavailable" }] } as never));
    expect(await screen.findByRole("alert")).toHaveTextContent("Live updates stopped.");

    act(() => streams[0].next({ data: { imageUpdates: update(1) } }));
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
  });

  it("says it is reconnecting when the first connection fails too", () => {
    const { client } = fakeServer();
    const connection = new ConnectionStatus();
    showLive(client, "page", connection);

    act(() => connection.closed());

    expect(screen.getByRole("status")).toHaveTextContent("Live updates paused: reconnecting to the server");
  });

  it("keeps a bounded number of images on a page left open", async () => {
    const { client, streams } = fakeServer();
    const seen: { live?: Live } = {};
    showLive(client, <Probe seen={seen} />);
    await waitFor(() => expect(streams).toHaveLength(1));

    const total = MAX_LIVE_IMAGES + 50;
    act(() => {
      for (let id = 1; id <= total; id++) streams[0].next({ data: { imageUpdates: update(id) } });
    });

    await waitFor(() => expect(seen.live?.eventCount).toBe(total));
    expect(seen.live?.latest.size).toBe(MAX_LIVE_IMAGES);
    expect(seen.live?.latest.has(String(total))).toBe(true);
    expect(seen.live?.latest.has("1")).toBe(false);
    expect(seen.live?.newIds).toHaveLength(MAX_NEW_IDS);
    expect(seen.live?.newIds[0]).toBe(String(total));
  });

  it("lets go of the images each event put in the cache once nothing shows them", async () => {
    const { client, streams } = fakeServer();
    showLive(client, "page");
    await waitFor(() => expect(streams).toHaveLength(1));

    const total = EVENTS_PER_CACHE_GC + 20;
    act(() => {
      for (let id = 1; id <= total; id++) streams[0].next({ data: { imageUpdates: update(id, true) } });
    });

    const cached = () => Object.keys(client.cache.extract() as object).filter((key) => key.startsWith("Image:"));
    await waitFor(() => expect(cached().length).toBeGreaterThan(0));
    expect(cached().length).toBeLessThanOrEqual(total - EVENTS_PER_CACHE_GC + 1);
  });
});
