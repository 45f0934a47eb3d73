import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";

import type { ImageCard as ImageCardData } from "../graphql/types";
import { ImageCard } from "./ImageCard";

const failed: ImageCardData = {
  id: "5",
  filename: "broken.jpg",
  status: "FAILED",
  error: "image file is truncated",
  thumbnailUrl: null,
  placeholder: null,
  dominantColor: null,
  createdAt: "2026-11-27T19:00:00+00:00",
};

function withClient(children: ReactNode) {
  const client = new ApolloClient({ link: ApolloLink.empty(), cache: new InMemoryCache() });
  return <ApolloProvider client={client}>{children}</ApolloProvider>;
}

describe("ImageCard", () => {
  it("shows a failed image's error, and Retry only when the server can retry", () => {
    const { rerender } = render(withClient(<ul><ImageCard image={failed} canRetry={false} /></ul>));
    expect(screen.getByRole("note")).toHaveTextContent("image file is truncated");
    expect(screen.queryByRole("button", { name: /Retry/ })).toBeNull();

    rerender(withClient(<ul><ImageCard image={failed} canRetry /></ul>));
    expect(screen.getByRole("button", { name: "Retry broken.jpg" })).toBeEnabled();
  });

  it("names the image on each failed card's Retry button", () => {
    render(
      withClient(
        <ul>
          <ImageCard image={failed} canRetry />
          <ImageCard image={{ ...failed, id: "6", filename: "cat.jpg" }} canRetry />
        </ul>,
      ),
    );
    const buttons = screen.getAllByRole("button", { name: /^Retry / });
    expect(buttons.map((button) => button.textContent)).toEqual(["Retry", "Retry"]);
    expect(screen.getByRole("button", { name: "Retry broken.jpg" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Retry cat.jpg" })).toBeEnabled();
  });

  it("shows the thumbnail once completed and live progress while processing", () => {
    const { rerender } = render(
      withClient(
        <ul>
          <ImageCard
            image={{ ...failed, status: "PROCESSING", error: null }}
            live={{ id: "5", status: "PROCESSING", progress: 0.4, stage: "decoded", error: null, image: null }}
            canRetry={false}
          />
        </ul>,
      ),
    );
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "40");
    expect(screen.queryByRole("img")).toBeNull();

    rerender(withClient(<ul><ImageCard image={{ ...failed, status: "COMPLETED", error: null, thumbnailUrl: "/api/thumbnails/5" }} canRetry={false} /></ul>));
    expect(screen.getByRole("img", { name: "broken.jpg" })).toHaveAttribute("src", "/api/thumbnails/5");
    expect(screen.queryByRole("progressbar")).toBeNull();
  });
});
