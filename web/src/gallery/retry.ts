import type { ApolloClient } from "@apollo/client";
import { useApolloClient, useMutation } from "@apollo/client/react";
import { useCallback, useSyncExternalStore } from "react";

import { RETRY_IMAGE } from "../graphql/optional";

/** Retries of one image asked for from this page: how many, and when the last was. */
export interface Retried {
  count: number;
  at: Date;
}

/**
 * Retries asked for from this page, per image. A retry resets the server's attempt count, so
 * an image that fails again at once looks just as it did before Retry was pressed; this is
 * what tells the two apart, on its card and on its page alike.
 */
class RetryLog {
  private readonly retried = new Map<string, Retried>();
  private readonly listeners = new Set<() => void>();

  get = (id: string): Retried | undefined => this.retried.get(id);

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  record(id: string, at: Date): void {
    this.retried.set(id, { count: (this.retried.get(id)?.count ?? 0) + 1, at });
    for (const listener of this.listeners) listener();
  }
}

// One log per client, as the cache is: each test's client starts with none.
const logs = new WeakMap<ApolloClient, RetryLog>();

function logOf(client: ApolloClient): RetryLog {
  let log = logs.get(client);
  if (!log) logs.set(client, (log = new RetryLog()));
  return log;
}

/** The retries of image `id` asked for from this page, if any. */
export function useRetried(id: string): Retried | undefined {
  const log = logOf(useApolloClient());
  return useSyncExternalStore(log.subscribe, () => log.get(id));
}

/** Retry for image `id`, and the retries asked for from this page, if any. */
export function useRetry(id: string) {
  const log = logOf(useApolloClient());
  const retried = useRetried(id);
  const [mutate, { loading: retrying, error }] = useMutation(RETRY_IMAGE);
  /** Whether the image was requeued; a failure shows through `error`. */
  const retry = useCallback(async (): Promise<boolean> => {
    const at = new Date();
    try {
      await mutate({ variables: { id } });
    } catch {
      return false;
    }
    log.record(id, at);
    return true;
  }, [mutate, log, id]);
  return { retry, retrying, error, retried };
}

/** What a failed image says once retried from this page: it failed again, and when it was retried. */
export function failedAgain(retried: Retried): string {
  const when = retried.at.toLocaleTimeString();
  return retried.count === 1
    ? `Retried at ${when}: failed again.`
    : `Retried ${retried.count} times, last at ${when}: failed again.`;
}
