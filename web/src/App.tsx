import { useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState, type RefObject } from "react";

import { Dashboard } from "./dashboard/Dashboard";
import { ImageDetail } from "./detail/ImageDetail";
import { Gallery } from "./gallery/Gallery";
import { MUTATION_FIELDS } from "./graphql/operations";
import { UploadPanel } from "./upload/UploadPanel";

type Route = { page: "gallery" } | { page: "dashboard" } | { page: "image"; id: string };

function parseRoute(hash: string): Route {
  const image = /^#\/images\/(\d+)$/.exec(hash);
  if (image) return { page: "image", id: image[1] };
  if (hash === "#/dashboard") return { page: "dashboard" };
  return { page: "gallery" };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function routeKey(route: Route): string {
  return route.page === "image" ? `image/${route.id}` : route.page;
}

/** After a move to another page (not on the first), focus goes to its content, as after a page load. */
function useFocusOnRouteChange(route: Route, main: RefObject<HTMLElement | null>) {
  const key = routeKey(route);
  const shown = useRef(key);
  useEffect(() => {
    if (key === shown.current) return;
    shown.current = key;
    main.current?.focus();
  }, [key, main]);
}

export function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  useFocusOnRouteChange(route, main);
  const { data } = useQuery(MUTATION_FIELDS);
  const canRetry = data?.__type?.fields?.some((field) => field.name === "retryImage") ?? false;
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
