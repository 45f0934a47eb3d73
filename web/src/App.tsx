import { useEffect, useRef, type RefObject } from "react";

import { Dashboard } from "./dashboard/Dashboard";
import { ImageDetail } from "./detail/ImageDetail";
import { Gallery } from "./gallery/Gallery";
import { useCanRetry } from "./graphql/optional";
import { useRoute, type Route } from "./routes";
import { UploadPanel } from "./upload/UploadPanel";

function routeKey(route: Route): string {
  return route.page === "image" ? `image/${route.id}` : route.page;
}

/**
 * After a move to another page (not on the first), focus goes to its content, as after a
 * page load; back in the gallery from an image, to that image's card, where the reader was.
 */
function useFocusOnRouteChange(route: Route, main: RefObject<HTMLElement | null>) {
  const shown = useRef(route);
  useEffect(() => {
    const left = shown.current;
    if (routeKey(route) === routeKey(left)) return;
    shown.current = route;
    // The gallery renders its cached list at once, so the card is there if it is listed.
    const card =
      left.page === "image" && route.page === "gallery"
        ? document.querySelector<HTMLElement>(`.card-link[href="#/images/${left.id}"]`)
        : null;
    (card ?? main.current)?.focus();
  }, [route, main]);
}

export function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  useFocusOnRouteChange(route, main);
  const canRetry = useCanRetry();
  // The upload panel stays mounted on every page, so uploads in flight keep going.
  return (
    <>
      {/* Not a navigation: "#main" would be taken for a route by the hash router. */}
      <a
        className="skip"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="top">
        <h1>
          <a href="#/">imagequeue</a>
        </h1>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === "gallery" ? "page" : undefined}>
            Gallery
          </a>
          <a href="#/dashboard" aria-current={route.page === "dashboard" ? "page" : undefined}>
            Dashboard
          </a>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <div hidden={route.page !== "gallery"}>
          <UploadPanel />
        </div>
        {route.page === "gallery" && <Gallery canRetry={canRetry} />}
        {route.page === "dashboard" && <Dashboard />}
        {route.page === "image" && <ImageDetail key={route.id} id={route.id} />}
      </main>
    </>
  );
}
