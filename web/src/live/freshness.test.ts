import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { OperationTypeNode } from "graphql";
import { Observable, Subject } from "rxjs";
import { describe, expect, it } from "vitest";

import { IMAGE_DETAIL, IMAGE_UPDATES, IMAGES } from "../graphql/operations";
import { RETRY_IMAGE } from "../graphql/optional";
import type { ImageCard, ImageStatus, StoredStatus } from "../graphql/types";
import { imageCard, imageUpdate } from "../test/images";
import { LiveFreshness } from "./freshness";

const detail = (status: StoredStatus) => ({
  ...imageCard("7", "cat.jpg", status),
  thumbnailUrl: null,
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

const event = (status: ImageStatus, image: ImageCard | null) => ({ imageUpdates: imageUpdate("7", status, image) });

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
    events.next(event("COMPLETED", imageCard("7", "cat.jpg", "COMPLETED")));
    answers.next({ image: detail("PROCESSING") });

    const { data } = await query;
    expect(data?.image?.status).toBe("COMPLETED");
    expect(data?.image?.thumbnailUrl).toBe("/api/thumbnails/7");
  });

  it("keeps a FAILED event that overtook a retry's answer", async () => {
    const { client, events, answers } = setUp();
    const retry = client.mutate({ mutation: RETRY_IMAGE, variables: { id: "7" } });

    // The image is requeued, processed and fails again before the retry's answer lands
    events.next(event("PROCESSING", imageCard("7", "cat.jpg", "PROCESSING")));
    events.next(event("FAILED", imageCard("7", "cat.jpg", "FAILED")));
    answers.next({ retryImage: { ...imageCard("7", "cat.jpg", "PENDING"), attempts: 0 } });

    const { data } = await retry;
    expect(data?.retryImage?.status).toBe("FAILED");
  });

  it("takes the answer over events received before the query was sent", async () => {
    const { client, events, answers } = setUp();
    // An event from before a reconnect, then the refetch made after it
    events.next(event("PROCESSING", imageCard("7", "cat.jpg", "PROCESSING")));
    const query = client.query({ query: IMAGE_DETAIL, variables: { id: "7" }, fetchPolicy: "network-only" });
    answers.next({ image: detail("COMPLETED") });

    const { data } = await query;
    expect(data?.image?.status).toBe("COMPLETED");
  });

  it("leaves out an image deleted while the query was on its way", async () => {
    const { client, events, answers } = setUp();
    const query = client.query({ query: IMAGES, variables: { first: 24 } });

    events.next(event("DELETED", null));
    answers.next({
      images: {
        __typename: "ImageConnection",
        edges: [
          { __typename: "ImageEdge", cursor: "c8", node: imageCard("8", "dog.jpg") },
          { __typename: "ImageEdge", cursor: "c7", node: imageCard("7", "cat.jpg") },
        ],
        pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: "c7" },
      },
    });

    const { data } = await query;
    expect(data?.images.edges.map((edge) => edge.node.id)).toEqual(["8"]);
  });
});
