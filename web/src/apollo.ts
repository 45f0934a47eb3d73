import { ApolloClient, ApolloLink, InMemoryCache, type Reference } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

import type { ImagesData } from "./graphql/types";
import { ConnectionStatus } from "./live/connection";
import { LiveFreshness } from "./live/freshness";
import { xhrFetch } from "./xhrFetch";

type Images = ImagesData["images"];
type Edges = Images["edges"];

/**
 * One list per status filter. A later page (`after`) is appended. The first page fetched
 * again (on reconnect) replaces the head and keeps the pages loaded below it, so a reader
 * who scrolled down keeps their place, unless it no longer reaches them: with more new
 * images than a page, the gap between would never be shown, so the old pages go.
 */
export function mergeImagePages(
  existing: Images | undefined,
  incoming: Images,
  after: unknown,
  idOf: (node: Edges[number]["node"]) => number,
): Images {
  if (!existing) return incoming;
  if (after) {
    // A page read after uploads moved the list on may repeat an image already shown.
    const shown = new Set(existing.edges.map((edge) => idOf(edge.node)));
    const added = incoming.edges.filter((edge) => !shown.has(idOf(edge.node)));
    return { ...incoming, edges: [...existing.edges, ...added] };
  }
  if (!incoming.pageInfo.hasNextPage || incoming.edges.length === 0) return incoming;
  // Ids are assigned in upload order and the list is newest first.
  const oldestFetched = idOf(incoming.edges[incoming.edges.length - 1].node);
  const reaches = existing.edges.some((edge) => idOf(edge.node) >= oldestFetched);
  const below: Edges = existing.edges.filter((edge) => idOf(edge.node) < oldestFetched);
  if (!reaches || below.length === 0) return incoming;
  return { ...incoming, edges: [...incoming.edges, ...below], pageInfo: existing.pageInfo };
}

export function createCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          images: {
            keyArgs: ["status"],
            // Nodes are cache references here, so their ids are read through the cache.
            merge: (existing: Images | undefined, incoming: Images, { args, readField }) =>
              mergeImagePages(existing, incoming, args?.after, (node) =>
                Number(readField("id", node as unknown as Reference)),
              ),
          },
        },
      },
    },
  });
}

const MAX_RETRY_WAIT_MS = 10_000;

/** Exponential backoff with jitter, capped: a page left open reconnects soon after a restart. */
export function retryWaitMs(retries: number, random: () => number = Math.random): number {
  return Math.min(1000 * 2 ** retries, MAX_RETRY_WAIT_MS) + Math.floor(random() * 1000);
}

/**
 * The API's origin: the page's own, unless the build named another
 * (`VITE_API_ORIGIN=https://api.example.com npm run build`) for an app served apart from its
 * API, which must then list the app's origin in its ALLOWED_ORIGINS.
 */
export function apiOrigin(
  configured: string | undefined = import.meta.env.VITE_API_ORIGIN,
  location: Location = window.location,
): string {
  return configured ? configured.replace(/\/+$/, "") : location.origin;
}

export function webSocketUrl(origin: string): string {
  return `${origin.replace(/^http/, "ws")}/graphql`;
}

export function createApolloClient(connection: ConnectionStatus = new ConnectionStatus()): ApolloClient {
  const freshness = new LiveFreshness();
  const http = new UploadHttpLink({
    uri: `${apiOrigin()}/graphql`,
    fetch: xhrFetch as typeof fetch,
    // The server refuses a multipart POST without it (CSRF: it forces a preflight).
    headers: { "Apollo-Require-Preflight": "true" },
  });
  const ws = new GraphQLWsLink(
    createClient({
      url: webSocketUrl(apiOrigin()),
      lazy: true,
      // Reconnect after a server restart; the per-id subscriptions start with the current
      // state from the database, so nothing is lost.
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, retryWaitMs(retries))),
      on: {
        // The watch-all stream has no current state to start from: what happened before it
        // was open (while the first page loaded, or while the socket was down) is read
        // again. After a macrotask, so the stream's subscribe message has gone out first.
        connected: () => {
          connection.connected();
          // A failed read shows as that query's own error.
          setTimeout(() => client.refetchQueries({ include: "active" }).catch(() => undefined), 0);
        },
        closed: () => connection.closed(),
      },
    }),
  );
  const client = new ApolloClient({
    link: ApolloLink.from([
      freshness.link,
      ApolloLink.split((operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION, ws, http),
    ]),
    cache: createCache(),
    // A refetch when the socket connects must read the database after the stream opened;
    // merged into a request already on its way, it would get an older answer.
    queryDeduplication: false,
  });
  return client;
}
