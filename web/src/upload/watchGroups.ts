import type { ApolloClient } from "@apollo/client";

import { IMAGE_UPDATES } from "../graphql/operations";
import { isFinal, type ImageUpdate } from "../graphql/types";

/** Ids per subscription: the server's default `MAX_SUBSCRIPTION_IDS`. */
export const IDS_PER_GROUP = 100;
/**
 * Subscriptions open at once. The server allows `MAX_SUBSCRIPTIONS_PER_CONNECTION` (100)
 * per WebSocket, and the page's watch-all stream and the image page take some.
 */
export const MAX_GROUPS = 90;

export interface WatchListener {
  update(update: ImageUpdate): void;
  /** These images cannot be followed, for the reason given ("no image with id 7"). */
  untracked(ids: readonly string[], message: string): void;
}

/**
 * Follows uploaded images with as few `imageUpdates(ids: …)` subscriptions as it can.
 *
 * Ids accepted in the same moment share one subscription, and ids that find every
 * subscription taken wait for one to end. Waiting loses nothing, since a subscription
 * starts with its images' current state; so uploads never wait for processing to catch up.
 */
export class WatchGroups {
  private readonly waiting: string[] = [];
  private readonly open = new Set<{ unsubscribe(): void }>();
  private opening = 0;
  private flushQueued = false;
  private closed = false;

  constructor(
    private readonly client: ApolloClient,
    private readonly listener: WatchListener,
  ) {}

  get subscriptionCount(): number {
    return this.open.size + this.opening;
  }

  watch(id: string): void {
    this.waiting.push(id);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // After the current task, so uploads accepted together share a subscription.
    setTimeout(() => {
      this.flushQueued = false;
      this.flush();
    }, 0);
  }

  close(): void {
    this.closed = true;
    for (const subscription of this.open) subscription.unsubscribe();
    this.open.clear();
  }

  private flush(): void {
    while (!this.closed && this.waiting.length > 0 && this.subscriptionCount < MAX_GROUPS) {
      this.follow(this.waiting.splice(0, IDS_PER_GROUP));
    }
  }

  private follow(ids: string[]): void {
    const unfinished = new Set(ids);
    let ended = false;
    let subscription: { unsubscribe(): void } | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      if (subscription) this.open.delete(subscription);
      this.flush();
    };
    const fail = (message: string) => {
      // An error may come in an event while the subscription stays open: close it, or it
      // would hold a place on the socket that the count no longer sees.
      subscription?.unsubscribe();
      this.untrack([...unfinished], message);
      unfinished.clear();
      end();
    };
    this.opening += 1;
    subscription = this.client.subscribe({ query: IMAGE_UPDATES, variables: { ids } }).subscribe({
      next: ({ data, error }) => {
        if (error) return fail(error.message);
        const update = data?.imageUpdates;
        if (!update) return;
        if (isFinal(update.status)) unfinished.delete(update.id);
        this.listener.update(update);
      },
      error: (error: Error) => fail(error.message),
      complete: end,
    });
    this.opening -= 1;
    if (!ended) this.open.add(subscription);
  }

  /**
   * After a refused subscription: the unfinished images it names as gone leave, and the
   * others are followed again (it may name one that finished already, when it was sent
   * again on a reconnect). Without such a name, none can be followed.
   */
  private untrack(unfinished: string[], message: string): void {
    const gone = new Set(/no image with id ([\d, ]+)/.exec(message)?.[1].split(", ") ?? []);
    if (gone.size === 0) {
      this.listener.untracked(unfinished, message);
      return;
    }
    const lost = unfinished.filter((id) => gone.has(id));
    if (lost.length > 0) this.listener.untracked(lost, message);
    this.waiting.unshift(...unfinished.filter((id) => !gone.has(id)));
  }
}
