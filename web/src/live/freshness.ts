import { ApolloLink } from "@apollo/client";
import { OperationTypeNode } from "graphql";
import { map } from "rxjs";

import type { ImageUpdate } from "../graphql/types";
import { setNewest } from "./newest";

const MAX_REMEMBERED_IMAGES = 5_000;

type Json = Record<string, unknown>;

/**
 * Keeps a query's or a mutation's answer from undoing a live event that overtook it.
 *
 * A query reads the database at some moment; an event for a change made after that moment
 * can reach the page over the WebSocket before the query's answer arrives over HTTP.
 * Written to the cache last, the answer would put the older state back for good (a
 * COMPLETED image shown processing). So each Image in a query's answer takes the card
 * fields of the last event for it received since the query was sent. Events for one image
 * arrive in the order they happened, so the last one received is never older than the
 * answer unless a newer one is still on its way, and that one is written when it lands.
 * An image deleted meanwhile leaves the answer (with its edge, in a list).
 */
export class LiveFreshness {
  private received = 0;
  private readonly latest = new Map<string, { sequence: number; image: Json | null; deleted: boolean }>();

  readonly link = new ApolloLink((operation, forward) => {
    const sentAfter = this.received;
    // A mutation's answer too: a retried image that fails again at once has its FAILED
    // event overtake the retry's answer (PENDING), which would otherwise stay for good.
    const readsState = operation.operationType !== OperationTypeNode.SUBSCRIPTION;
    return forward(operation).pipe(
      map((result) => {
        const data = result.data as Json | null | undefined;
        if (!data) return result;
        if (operation.operationType === OperationTypeNode.SUBSCRIPTION) {
          this.record(data.imageUpdates as ImageUpdate | undefined);
        } else if (readsState) {
          this.refresh(data, sentAfter);
        }
        return result;
      }),
    );
  });

  private record(update: ImageUpdate | undefined): void {
    if (!update) return;
    this.received += 1;
    const image = update.image as Json | null;
    const entry = { sequence: this.received, image, deleted: update.status === "DELETED" };
    setNewest(this.latest, update.id, entry, MAX_REMEMBERED_IMAGES);
  }

  /** Patches `value` in place; true when it is an image deleted since the query was sent. */
  private refresh(value: unknown, sentAfter: number): boolean {
    if (Array.isArray(value)) {
      const kept = value.filter((item) => !this.refresh(item, sentAfter));
      value.splice(0, value.length, ...kept);
      return false;
    }
    if (value === null || typeof value !== "object") return false;
    const node = value as Json;
    if (node.__typename === "Image" && typeof node.id === "string") {
      const newer = this.latest.get(node.id);
      if (newer && newer.sequence > sentAfter) {
        if (newer.deleted) return true;
        if (newer.image) {
          for (const key of Object.keys(node)) {
            if (key in newer.image) node[key] = newer.image[key];
          }
        }
      }
    }
    for (const [key, child] of Object.entries(node)) {
      if (!this.refresh(child, sentAfter)) continue;
      // A list's edge goes with its image; a single image field becomes null.
      if (key === "node") return true;
      node[key] = null;
    }
    return false;
  }
}
