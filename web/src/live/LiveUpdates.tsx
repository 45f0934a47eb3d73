import { useApolloClient, useSubscription } from "@apollo/client/react";
import { createContext, useCallback, useContext, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";

import { forgetImage } from "../graphql/forgetImage";
import { IMAGE_UPDATES } from "../graphql/operations";
import type { ImageUpdate } from "../graphql/types";
import { ConnectionStatus } from "./connection";
import { setNewest } from "./newest";

/** Images whose latest event is kept; a page left open for days must not grow for ever. */
export const MAX_LIVE_IMAGES = 2_000;
/** New uploads shown above the gallery's list; past this many it reads the list again. */
export const MAX_NEW_IDS = 200;
/**
 * Each event writes its image into Apollo's cache, which never lets go by itself; every so
 * many events the images no query shows any more are collected.
 */
export const EVENTS_PER_CACHE_GC = 500;

export interface Live {
  /** Latest event per image id seen since the page loaded (the most recent images). */
  latest: ReadonlyMap<string, ImageUpdate>;
  /**
   * Ids first seen on the stream, most recent first: uploads from this page or any other
   * client (the gallery shows those newer than its first page on top).
   */
  newIds: readonly string[];
  /**
   * The highest id that has left `newIds` (0 while none has): the gallery reads its list
   * again when that is newer than what it has read, or the image would never be shown.
   */
  droppedNewId: number;
  /** Bumped on every event: a cue for views that summarise (the dashboard) to refresh. */
  eventCount: number;
  /**
   * Records that this page deleted an image, as its DELETED event would: a new upload's
   * card comes from the stream, not from a query, and with the socket down that event
   * would not come.
   */
  deleted: (id: string) => void;
}

const EMPTY: Live = { latest: new Map(), newIds: [], droppedNewId: 0, eventCount: 0, deleted: () => undefined };
const LiveContext = createContext<Live>(EMPTY);

export function useLive(): Live {
  return useContext(LiveContext);
}

/** One `imageUpdates` subscription without ids for the whole page. */
export function LiveUpdates({ children, connection }: { children: ReactNode; connection?: ConnectionStatus }) {
  const [ownConnection] = useState(() => connection ?? new ConnectionStatus());
  const client = useApolloClient();
  const latest = useRef(new Map<string, ImageUpdate>());
  const eventsSinceGc = useRef(0);
  const [live, setLive] = useState<Omit<Live, "deleted">>(EMPTY);
  const apply = useCallback(
    (update: ImageUpdate) => {
      // Nothing follows a DELETED (the server drops a worker's late reports; this is the
      // same rule for events that reach the page out of order).
      if (latest.current.get(update.id)?.status === "DELETED") return;
      if (update.status === "DELETED") {
        // Out of the cache, so every list drops it, however old the image.
        forgetImage(client.cache, update.id);
      }
      if (++eventsSinceGc.current >= EVENTS_PER_CACHE_GC) {
        eventsSinceGc.current = 0;
        client.cache.gc();
      }
      const isNew = !latest.current.has(update.id);
      setNewest(latest.current, update.id, update, MAX_LIVE_IMAGES);
      setLive((previous) => {
        if (!isNew) return { ...previous, latest: latest.current, eventCount: previous.eventCount + 1 };
        const newIds = [update.id, ...previous.newIds];
        const dropped = newIds.length > MAX_NEW_IDS ? Number(newIds.pop()) : 0;
        return {
          latest: latest.current,
          newIds,
          droppedNewId: Math.max(previous.droppedNewId, dropped),
          eventCount: previous.eventCount + 1,
        };
      });
    },
    [client],
  );
  const deleted = useCallback(
    (id: string) =>
      apply({ id, status: "DELETED", progress: 1, stage: "deleted", error: null, image: null }),
    [apply],
  );
  const value = useMemo(() => ({ ...live, deleted }), [live, deleted]);
  const { restart } = useSubscription(IMAGE_UPDATES, {
    variables: { ids: null },
    onData: ({ data }) => {
      const update = data.data?.imageUpdates;
      if (!update) return;
      // An error in one event does not end the stream: events coming again say it is live.
      if (ownConnection.get() === "stopped") ownConnection.set("live");
      apply(update);
    },
    // A close graphql-ws deems fatal, or an error in one event (then the next one above
    // clears it); graphql-ws retries every other close itself.
    onError: () => ownConnection.set("stopped"),
  });
  const state = useSyncExternalStore(ownConnection.subscribe, ownConnection.get);
  return (
    <LiveContext.Provider value={value}>
      {state === "reconnecting" && (
        <p className="connection" role="status">
          Live updates paused: reconnecting to the server…
        </p>
      )}
      {state === "stopped" && (
        <p className="connection" role="alert">
          Live updates stopped.{" "}
          <button
            type="button"
            onClick={() => {
              // Live unless the new attempt fails too: a closed socket reports that itself.
              ownConnection.set("live");
              restart();
            }}
          >
            Reconnect
          </button>
        </p>
      )}
      {children}
    </LiveContext.Provider>
  );
}
