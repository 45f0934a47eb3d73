import { isGallery, openedFrom } from "../routes";

/**
 * "Back to the gallery": Back itself when this page was opened from the gallery, so the
 * gallery comes back as it was left (its filter, and the browser restores the scroll
 * position); a link to the gallery otherwise (a page opened from a bookmark).
 */
export function BackLink() {
  return (
    <a
      href="#/"
      onClick={(event) => {
        // A click meant for a new tab or window stays a link.
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        const from = openedFrom();
        if (from === null || !isGallery(from)) return;
        event.preventDefault();
        window.history.back();
      }}
    >
      ← Back to the gallery
    </a>
  );
}
