import { useSubscription } from "@apollo/client/react";
import { createContext, useContext, useRef, useState, type ReactNode } from "react";

import { IMAGE_UPDATES } from "../graphql/operations";
import type { ImageUpdate } from "../graphql/types";

export interface Live {
  /** Latest event per image id seen since the page loaded. */
  latest: ReadonlyMap<string, ImageUpdate>;
  /**
   * Ids first seen on the stream, most recent first: uploads from this page or any other
   * client (the gallery shows those newer than its first page on top).
   */
  newIds: readonly string[];
  /** Bumped on every event: a cue for views that summarise (the dashboard) to refresh. */
  eventCount: number;
}

const EMPTY: Live = { latest: new Map(), newIds: [], eventCount: 0 };
const LiveContext = createContext<Live>(EMPTY);

export function useLive(): Live {
  return useContext(LiveContext);
}

/** One `imageUpdates` subscription without ids for the whole page. */
export function LiveUpdates({ children }: { children: ReactNode }) {
  const latest = useRef(new Map<string, ImageUpdate>());
  const [live, setLive] = useState<Live>(EMPTY);
  useSubscription(IMAGE_UPDATES, {
    variables: { ids: null },
    onData: ({ data }) => {
      const update = data.data?.imageUpdates;
      if (!update) return;
      // Nothing follows a DELETED (the server drops a worker's late reports; this is the
      // same rule for events that reach the page out of order).
      if (latest.current.get(update.id)?.status === "DELETED") return;
      const isNew = !latest.current.has(update.id);
      latest.current.set(update.id, update);
      setLive((previous) => ({
        latest: latest.current,
        newIds: isNew ? [update.id, ...previous.newIds] : previous.newIds,
        eventCount: previous.eventCount + 1,
      }));
    },
  });
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}
