import { useEffect, useMemo, useSyncExternalStore } from "react";

import { IMAGE_STATUSES, type StoredStatus } from "./graphql/types";

/**
 * The app's pages live in the URL's fragment (`#/images/7`), so the server serves one page
 * for all of them and Back, Forward and bookmarks work. The gallery's status filter is in
 * it too (`#/?status=failed`): it is still chosen after a visit to an image.
 */
export type Route =
  | { page: "gallery"; status: StoredStatus | null }
  | { page: "dashboard" }
  | { page: "image"; id: string };

export function parseRoute(hash: string): Route {
  const image = /^#\/images\/(\d+)$/.exec(hash);
  if (image) return { page: "image", id: image[1] };
  if (hash === "#/dashboard") return { page: "dashboard" };
  const query = /^#\/?\?(.*)$/.exec(hash)?.[1] ?? "";
  const status = new URLSearchParams(query).get("status")?.toUpperCase();
  return { page: "gallery", status: IMAGE_STATUSES.find((known) => known === status) ?? null };
}

export function galleryHref(status: StoredStatus | null): string {
  return status ? `#/?status=${status.toLowerCase()}` : "#/";
}

export function isGallery(hash: string): boolean {
  return parseRoute(hash).page === "gallery";
}

/** What this app keeps in each of its history entries. */
interface EntryState {
  /** The fragment of the entry this one was opened from; null for the first. */
  from: string | null;
}

/** What this app keeps in the current history entry, null when it has kept nothing yet. */
function entryState(): EntryState | null {
  const state: unknown = window.history.state;
  return state !== null && typeof state === "object" && "from" in state ? (state as EntryState) : null;
}

const listeners = new Set<() => void>();
let shownHash = "";

/**
 * A new entry (a link followed, a hash typed) has no state yet, so it records the entry it
 * was opened from; one returned to with Back or Forward already has it. The entry shown
 * when the page loaded is the first, unless it recorded one before a reload.
 */
function onHashChange(): void {
  if (entryState() === null) window.history.replaceState({ from: shownHash } satisfies EntryState, "");
  shownHash = window.location.hash;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  if (listeners.size === 0) {
    shownHash = window.location.hash;
    if (entryState() === null) window.history.replaceState({ from: null } satisfies EntryState, "");
    window.addEventListener("hashchange", onHashChange);
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) window.removeEventListener("hashchange", onHashChange);
  };
}

/** The current page, following the URL. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return useMemo(() => parseRoute(hash), [hash]);
}

/**
 * Shows `hash` in place of the current entry, keeping what it recorded: a filter chosen is
 * not a page of its own for Back to step through.
 */
export function replaceRoute(hash: string): void {
  window.history.replaceState(window.history.state, "", hash);
  shownHash = hash;
  for (const listener of listeners) listener();
}

/** The fragment of the history entry before this one, when this app opened this one from it. */
export function openedFrom(): string | null {
  return entryState()?.from ?? null;
}

/** "<what> – imagequeue" in the tab, the history list and a screen reader's page announcement. */
export function useDocumentTitle(what: string): void {
  useEffect(() => {
    document.title = `${what} – imagequeue`;
  }, [what]);
}
