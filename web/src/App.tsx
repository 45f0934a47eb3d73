import { useQuery } from "@apollo/client/react";
import { useEffect, useState } from "react";

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

export function App() {
  const route = useRoute();
  const { data } = useQuery(MUTATION_FIELDS);
  const canRetry = data?.__type?.fields?.some((field) => field.name === "retryImage") ?? false;
  // The upload panel stays mounted on every page, so uploads in flight keep going.
  return (
    <>
      <a className="skip" href="#main">
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
      <main id="main" tabIndex={-1}>
        <div hidden={route.page !== "gallery"}>
          <UploadPanel />
        </div>
        {route.page === "gallery" && <Gallery canRetry={canRetry} />}
        {route.page === "dashboard" && <Dashboard />}
        {route.page === "image" && <ImageDetail id={route.id} />}
      </main>
    </>
  );
}
