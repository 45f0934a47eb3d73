import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

import type { ImagesData } from "./graphql/types";
import { xhrFetch } from "./xhrFetch";

type Edges = ImagesData["images"]["edges"];

function createCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          images: {
            // One list per status filter; pages (`after`) append to it.
            keyArgs: ["status"],
            merge(existing: ImagesData["images"] | undefined, incoming: ImagesData["images"], { args }) {
              if (!existing || !args?.after) return incoming;
              const edges: Edges = [...existing.edges, ...incoming.edges];
              return { ...incoming, edges };
            },
          },
        },
      },
    },
  });
}

function webSocketUrl(location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}

export function createApolloClient(): ApolloClient {
  const http = new UploadHttpLink({
    uri: "/graphql",
    fetch: xhrFetch as typeof fetch,
    // The server refuses a multipart POST without it (CSRF: it forces a preflight).
    headers: { "Apollo-Require-Preflight": "true" },
  });
  const ws = new GraphQLWsLink(
    createClient({
      url: webSocketUrl(),
      lazy: true,
      // Reconnect after a server restart; the per-id subscriptions start with the current
      // state from the database, so nothing is lost.
      retryAttempts: Infinity,
      shouldRetry: () => true,
    }),
  );
  return new ApolloClient({
    link: ApolloLink.split(
      (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
      ws,
      http,
    ),
    cache: createCache(),
  });
}
