import type { TypedDocumentNode } from "@apollo/client";
import { gql } from "@apollo/client";
import { useQuery } from "@apollo/client/react";

import { IMAGE_CARD_FIELDS, MUTATION_FIELDS } from "./operations";
import type { IdVars, RetryImageData } from "./types";

// Not in every server's schema (it arrives with retries and dead letters), so it is kept
// apart from the operations that must validate, and sent only when MUTATION_FIELDS lists it.
export const RETRY_IMAGE: TypedDocumentNode<RetryImageData, IdVars> = gql`
  mutation RetryImage($id: ID!) {
    retryImage(id: $id) {
      ...ImageCardFields
      attempts
    }
  }
  ${IMAGE_CARD_FIELDS}
`;

/** Whether this server has `retryImage` (MUTATION_FIELDS, asked once by the app at start). */
export function useCanRetry(): boolean {
  const { data } = useQuery(MUTATION_FIELDS);
  return data?.__type?.fields?.some((field) => field.name === "retryImage") ?? false;
}
