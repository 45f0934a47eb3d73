import { describe, expect, it } from "vitest";

import { apiOrigin, createCache, retryWaitMs, webSocketUrl } from "./apollo";
import { IMAGES } from "./graphql/operations";
import type { ImagesData, StoredStatus } from "./graphql/types";
import { imageCard } from "./test/images";


/** A page of the gallery's list, newest first: ids `from` down to `to`. */
function page(from: number, to: number, hasNextPage: boolean, status: StoredStatus = "COMPLETED"): ImagesData {
  const edges = [];
  for (let id = from; id >= to; id--) edges.push({ __typename: "ImageEdge", cursor: `c${id}`, node: imageCard(String(id), `${id}.jpg`, status) });
  return {
    images: {
      __typename: "ImageConnection",
      edges,
      pageInfo: { __typename: "PageInfo", hasNextPage, endCursor: `c${to}` },
    } as ImagesData["images"],
  };
}

function ids(data: ImagesData | null): number[] {
  return (data?.images.edges ?? []).map((edge) => Number(edge.node.id));
}

describe("the gallery's cached list", () => {
  it("appends a later page", () => {
    const cache = createCache();
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 8, true) });
    cache.writeQuery({ query: IMAGES, variables: { first: 3, after: "c8" }, data: page(7, 5, true) });

    const list = cache.readQuery({ query: IMAGES, variables: { first: 3 } });
    expect(ids(list)).toEqual([10, 9, 8, 7, 6, 5]);
    expect(list?.images.pageInfo.endCursor).toBe("c5");
  });

  it("takes a first page fetched again as the new head and keeps the pages below it", () => {
    // Given two pages loaded, all processing
    const cache = createCache();
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 8, true, "PROCESSING") });
    cache.writeQuery({ query: IMAGES, variables: { first: 3, after: "c8" }, data: page(7, 5, true, "PROCESSING") });

    // When the first page is fetched again (after a reconnect): two new images, all completed
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(12, 10, true) });

    // Then the new head comes first, the second page is still there, and paging goes on
    // from where it was
    const list = cache.readQuery({ query: IMAGES, variables: { first: 3 } });
    expect(ids(list)).toEqual([12, 11, 10, 9, 8, 7, 6, 5]);
    expect(list?.images.edges[2].node.status).toBe("COMPLETED");
    expect(list?.images.pageInfo).toMatchObject({ hasNextPage: true, endCursor: "c5" });
  });

  it("drops the pages below when the first page fetched again no longer reaches them", () => {
    // Given two pages loaded, then more new images than a page while the socket was down
    const cache = createCache();
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 8, true) });
    cache.writeQuery({ query: IMAGES, variables: { first: 3, after: "c8" }, data: page(7, 5, true) });
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(20, 18, true) });

    // Then only the new first page is shown (11 to 17 would otherwise never be), and paging
    // goes on from it
    const list = cache.readQuery({ query: IMAGES, variables: { first: 3 } });
    expect(ids(list)).toEqual([20, 19, 18]);
    expect(list?.images.pageInfo.endCursor).toBe("c18");
  });

  it("shows an image once when a later page repeats it", () => {
    const cache = createCache();
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 8, true) });
    // One upload since the first page: the next page starts with what it ended on
    cache.writeQuery({ query: IMAGES, variables: { first: 3, after: "c8" }, data: page(8, 6, true) });

    expect(ids(cache.readQuery({ query: IMAGES, variables: { first: 3 } }))).toEqual([10, 9, 8, 7, 6]);
  });

  it("drops what is gone when the whole list fits on the first page fetched again", () => {
    const cache = createCache();
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 8, true) });
    cache.writeQuery({ query: IMAGES, variables: { first: 3, after: "c8" }, data: page(7, 6, false) });

    // Images 6 to 8 were deleted meanwhile
    cache.writeQuery({ query: IMAGES, variables: { first: 3 }, data: page(10, 9, false) });

    expect(ids(cache.readQuery({ query: IMAGES, variables: { first: 3 } }))).toEqual([10, 9]);
  });
});

describe("reconnecting", () => {
  it("waits longer after each failed attempt, but never more than about ten seconds", () => {
    const noJitter = () => 0;
    expect([0, 1, 2, 3, 4, 10, 50].map((retries) => retryWaitMs(retries, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 10000, 10000, 10000,
    ]);
    expect(retryWaitMs(50, () => 0.999)).toBeLessThan(11_000);
  });
});

describe("where the API is", () => {
  const page = { origin: "http://localhost:8000" } as Location;

  it("is the page's own origin unless the build named another", () => {
    expect(apiOrigin(undefined, page)).toBe("http://localhost:8000");
    expect(apiOrigin("", page)).toBe("http://localhost:8000");
    expect(apiOrigin("https://api.example.com/", page)).toBe("https://api.example.com");
  });

  it("opens subscriptions on the API's origin, encrypted when it is", () => {
    expect(webSocketUrl("https://api.example.com")).toBe("wss://api.example.com/graphql");
    expect(webSocketUrl("http://localhost:8000")).toBe("ws://localhost:8000/graphql");
  });
});
