import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { OperationTypeNode } from "graphql";
import { Observable, Subject } from "rxjs";
import { describe, expect, it } from "vitest";

import { IMAGE_DETAIL, IMAGE_UPDATES } from "../graphql/operations";
import type { ImageCard, ImageStatus, StoredStatus } from "../graphql/types";
import { LiveFreshness } from "./freshness";

const card = (status: StoredStatus, thumbnailUrl: string | null): ImageCard => ({
  __typename: "Image",
  id: "7",
  filename: "cat.jpg",
  status,
  error: null,
  thumbnailUrl,
  placeholder: null,
  dominantColor: null,
  createdAt: "2026-11-30T01:00:00+00:00",
});

const detail = (status: StoredStatus) => ({
  ...card(status, null),
  contentType: "image/jpeg",
  fileSize: 1000,
  startedAt: null,
  processedAt: null,
  attempts: 1,
  width: 10,
  height: 10,
  format: "JPEG",
  originalUrl: "/api/originals/7",
  srcset: null,
  renditions: [],
  metadata: null,
});

const event = (status: ImageStatus, image: ImageCard | null) => ({
  imageUpdates: { __typename: "ImageUpdate", id: "7", status, progress: 1, stage: "done", error: null, image },
});

/** A server whose answers and events the test releases one by one. */
function setUp() {
  const events = new Subject<Record<string, unknown>>();
  const answers = new Subject<Record<string, unknown>>();
  const server = new ApolloLink(
    (operation) =>
      new Observable((observer) => {
        const source = operation.operationType === OperationTypeNode.SUBSCRIPTION ? events : answers;
        const subscription = source.subscribe((data) => {
          observer.next({ data });
          if (source === answers) observer.complete();
        });
        return () => subscription.unsubscribe();
      }),
  );
  const freshness = new LiveFreshness();
  const client = new ApolloClient({ link: ApolloLink.from([freshness.link, server]), cache: new InMemoryCache() });
  client.subscribe({ query: IMAGE_UPDATES, variables: { ids: null } }).subscribe({});
  return { client, events, answers };
}

describe("a query's answer and the live events that overtook it", () => {
  it("keeps a COMPLETED event that arrived while the query was on its way", async () => {
    const { client, events, answers } = setUp();
    const query = client.query({ query: IMAGE_DETAIL, variables: { id: "7" } });

    // The database was read while the image was processing; its COMPLETED event comes
    // over the socket before the answer does
    events.next(event("COMPLETED", card("COMPLETED", "/api/thumbnails/7")));
    answers.next({ image: detail("PROCESSING") });

    const { data } = await query;
    expect(data?.image?.status).toBe("COMPLETED");
    expect(data?.image?.thumbnailUrl).toBe("/api/thumbnails/7");
  });

  it("takes the answer over events received before the query was sent", async () => {
    const { client, events, answers } = setUp();
    // An event from before a reconnect, then the refetch made after it
    events.next(event("PROCESSING", card("PROCESSING", null)));
    const query = client.query({ query: IMAGE_DETAIL, variables: { id: "7" }, fetchPolicy: "network-only" });
    answers.next({ image: detail("COMPLETED") });

    const { data } = await query;
    expect(data?.image?.status).toBe("COMPLETED");
  });
});
