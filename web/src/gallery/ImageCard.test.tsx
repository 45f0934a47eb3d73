import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { Observable } from "rxjs";
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

/**
 * A server whose retryImage answers once `answer` is called: with the image PENDING, or
 * with `refusal` as its error. The card is rendered as its list would, again with each
 * status the test gives it.
 */
function renderRetryable(refusal?: string) {
  const answers: (() => void)[] = [];
  const link = new ApolloLink(() => {
    return new Observable((observer) => {
      answers.push(() => {
        const requeued = { ...failed, __typename: "Image", status: "PENDING", error: null, attempts: 0 };
        if (refusal) observer.next({ data: { retryImage: null }, errors: [{ message: refusal, path: ["retryImage"] }] });
        else observer.next({ data: { retryImage: requeued } });
        observer.complete();
      });
    });
  });
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const card = (image: ImageCardData) => (
    <ApolloProvider client={client}>
      <ul>
        <ImageCard image={image} canRetry />
      </ul>
    </ApolloProvider>
  );
  const { rerender } = render(card(failed));
  return {
    answer: () => answers.splice(0).forEach((send) => send()),
    show: (image: ImageCardData) => rerender(card(image)),
  };
}

/** Once the retry has its answer, the button is Retry again, and not marked disabled. */
async function retryDone() {
  const button = () => screen.getByRole("button", { name: "Retry broken.jpg" });
  await waitFor(() => expect(button()).not.toHaveAttribute("aria-disabled", "true"));
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

  it("keeps focus on Retry while it runs, then moves it to the card as Retry leaves", async () => {
    const server = renderRetryable();
    const retry = screen.getByRole("button", { name: "Retry broken.jpg" });

    // When Retry is pressed from the keyboard
    retry.focus();
    await userEvent.keyboard("{Enter}");

    // Then, while it runs, the button keeps focus and says so, and a second press does nothing
    const running = screen.getByRole("button", { name: "Retrying broken.jpg" });
    expect(running).toHaveFocus();
    expect(running).toHaveAttribute("aria-disabled", "true");
    await userEvent.keyboard("{Enter}");

    // And once the image is requeued (its list shows it PENDING), focus is on the card's link
    server.answer();
    await retryDone();
    server.show({ ...failed, status: "PENDING", error: null });
    expect(screen.queryByRole("button", { name: /Retry/ })).toBeNull();
    expect(screen.getByRole("link", { name: "broken.jpg, pending" })).toHaveFocus();
  });

  it("says a retried image failed again, rather than look as if Retry did nothing", async () => {
    // Given a failed image, retried
    const server = renderRetryable();
    await userEvent.click(screen.getByRole("button", { name: "Retry broken.jpg" }));
    server.answer();
    await retryDone();
    server.show({ ...failed, status: "PENDING", error: null });

    // When it fails again at once, with the same error
    server.show(failed);

    // Then the card says it was retried and failed again
    expect(screen.getByRole("note")).toHaveTextContent("image file is truncated");
    expect(screen.getByText(/^Retried at .*: failed again\.$/)).toBeInTheDocument();
  });

  it("announces why a retry was refused, and keeps focus on Retry", async () => {
    const server = renderRetryable("image 5 is pending; only failed images can be retried");
    const retry = screen.getByRole("button", { name: "Retry broken.jpg" });
    retry.focus();
    await userEvent.keyboard("{Enter}");
    server.answer();

    expect(await screen.findByRole("alert")).toHaveTextContent("image 5 is pending; only failed images can be retried");
    expect(screen.getByRole("button", { name: "Retry broken.jpg" })).toHaveFocus();
    expect(screen.queryByText(/failed again/)).toBeNull();
  });
});
