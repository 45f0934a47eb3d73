import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Observable } from "rxjs";
import { describe, expect, it } from "vitest";

import type { Limits } from "../graphql/types";
import { imageCard as card, imageUpdate as update } from "../test/images";
import { UploadPanel } from "./UploadPanel";

/**
 * A fake server: accepts image files (ids 1, 2, …), rejects the rest, and ends every image
 * a subscription names with `final`. `subscriptions` collects the ids of each one opened.
 */
function fakeServer(final: "COMPLETED" | "DELETED" = "COMPLETED", subscriptions: string[][] = []): ApolloLink {
  let lastId = 0;
  return new ApolloLink((operation) => {
    return new Observable((observer) => {
      if (operation.operationName === "UploadImage") {
        const file = operation.variables.file as File;
        if (!file.type.startsWith("image/")) {
          // As the server answers: the refused field is null, beside its error.
          observer.next({
            data: { uploadImage: null },
            errors: [
              {
                message: `${file.name}: not a supported image (accepted formats: JPEG, PNG)`,
                path: ["uploadImage"],
              },
            ],
          });
        } else {
          observer.next({ data: { uploadImage: card(String(++lastId), file.name, "PENDING") } });
        }
        observer.complete();
      } else if (operation.operationName === "ImageUpdates") {
        const ids = operation.variables.ids as string[];
        subscriptions.push(ids);
        for (const id of ids) {
          const image = final === "DELETED" ? null : card(id, "cat.jpg", final);
          observer.next({ data: { imageUpdates: update(id, final, image) } });
        }
        observer.complete();
      }
    });
  });
}

/** In front of `server`: the first uploads fail with `failures`, one each. */
function failingFirst(failures: Error[], server = fakeServer()): ApolloLink {
  return new ApolloLink((operation, forward) => {
    const failure = operation.operationName === "UploadImage" ? failures.shift() : undefined;
    if (failure) return new Observable((observer) => observer.error(failure));
    return forward(operation);
  }).concat(server);
}

/** What Apollo makes of an HTTP error status: the body is kept as text. */
function httpError(status: number, bodyText: string): ServerError {
  return new ServerError(`Response not successful: Received status code ${status}`, {
    response: new Response(bodyText, { status }),
    bodyText,
  });
}

/** In front of `server`: every per-id subscription ends at once with `error`. */
function unknownImage(error: "as an error" | "as a result", server = fakeServer()): ApolloLink {
  const errors = [{ message: "no image with id 1" }];
  return new ApolloLink((operation, forward) => {
    if (operation.operationName !== "ImageUpdates") return forward(operation);
    return new Observable((observer) => {
      if (error === "as an error") {
        observer.error(new CombinedGraphQLErrors({ errors }));
      } else {
        observer.next({ data: null, errors });
        observer.complete();
      }
    });
  }).concat(server);
}

/** In front of `server`: answers the Limits query, and records the name of each file sent. */
function withLimits(limits: Limits, sent: string[], server = fakeServer()): ApolloLink {
  return new ApolloLink((operation, forward) => {
    if (operation.operationName === "Limits") {
      return new Observable((observer) => {
        observer.next({ data: { limits: { __typename: "Limits", ...limits } } });
        observer.complete();
      });
    }
    if (operation.operationName === "UploadImage") sent.push((operation.variables.file as File).name);
    return forward(operation);
  }).concat(server);
}

/** In front of `server`: uploads are answered only once `release` is called. */
function heldUploads(server = fakeServer()): { link: ApolloLink; release: () => void } {
  const waiting: (() => void)[] = [];
  const link = new ApolloLink((operation, forward) => {
    if (operation.operationName !== "UploadImage") return forward(operation);
    return new Observable((observer) => {
      waiting.push(() => forward(operation).subscribe(observer));
    });
  }).concat(server);
  return { link, release: () => waiting.splice(0).forEach((answer) => answer()) };
}

/** Whether the page, asked to unload now, would ask the person first. */
function leavingAsksFirst(): boolean {
  const event = new Event("beforeunload", { cancelable: true });
  window.dispatchEvent(event);
  return event.defaultPrevented;
}

function renderPanel(link: ApolloLink = fakeServer()) {
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  render(
    <ApolloProvider client={client}>
      <UploadPanel />
    </ApolloProvider>,
  );
}

describe("UploadPanel", () => {
  it("shows why a file was rejected and still finishes the others", async () => {
    renderPanel();

    // A drop bypasses the picker's accept="image/*", so the server must be the judge.
    const user = userEvent.setup({ applyAccept: false });
    await user.upload(screen.getByTestId("file-input"), [
      new File(["jpeg"], "cat.jpg", { type: "image/jpeg" }),
      new File(["text"], "notes.txt", { type: "text/plain" }),
    ]);

    const list = screen.getByRole("list", { name: "Uploads" });
    const rejected = await within(list).findByRole("alert");
    expect(rejected).toHaveTextContent("Rejected: not a supported image (accepted formats: JPEG, PNG)");
    expect(rejected).not.toHaveTextContent("notes.txt:");
    expect(await within(list).findByText(/Done/)).toBeInTheDocument();
    const bars = within(list).getAllByRole("progressbar");
    expect(bars.map((bar) => bar.getAttribute("aria-valuenow"))).toEqual(["100", "100"]);
    expect(within(list).getByRole("link", { name: "view" })).toHaveAttribute("href", "#/images/1");
  });

  it("uploads every file while their images wait, following them in shared subscriptions", async () => {
    // Given a server whose workers are far behind: no image it accepts is processed yet
    const opened: string[][] = [];
    const slowWorkers = new ApolloLink((operation, forward) => {
      if (operation.operationName !== "ImageUpdates") return forward(operation);
      opened.push(operation.variables.ids as string[]);
      return new Observable(() => undefined);
    }).concat(fakeServer());
    renderPanel(slowWorkers);

    // When more files are dropped than the server allows subscriptions per connection
    const files = Array.from({ length: 150 }, (_, i) => new File(["jpeg"], `p${i}.jpg`, { type: "image/jpeg" }));
    await userEvent.upload(screen.getByTestId("file-input"), files);

    // Then every file is uploaded, none left waiting for processing to catch up, and each
    // image is followed, in fewer subscriptions than images
    const list = screen.getByRole("list", { name: "Uploads" });
    await waitFor(() => expect(within(list).getAllByText("Queued for processing")).toHaveLength(150), {
      timeout: 10_000,
    });
    expect(within(list).queryByText("Waiting to upload")).toBeNull();
    await waitFor(() => expect(opened.flat()).toHaveLength(150));
    expect(new Set(opened.flat()).size).toBe(150);
    expect(opened.length).toBeLessThan(150);
  });

  it("uploads files in the order they were chosen, and lists the latest choice on top", async () => {
    const sent: string[] = [];
    const recording = new ApolloLink((operation, forward) => {
      if (operation.operationName === "UploadImage") sent.push((operation.variables.file as File).name);
      return forward(operation);
    }).concat(fakeServer());
    renderPanel(recording);

    const chosen = (prefix: string) =>
      Array.from({ length: 5 }, (_, i) => new File(["jpeg"], `${prefix}${i}.jpg`, { type: "image/jpeg" }));
    await userEvent.upload(screen.getByTestId("file-input"), chosen("a"));
    await userEvent.upload(screen.getByTestId("file-input"), chosen("b"));

    await waitFor(() => expect(sent).toHaveLength(10));
    expect(sent).toEqual([...chosen("a"), ...chosen("b")].map((file) => file.name));
    const rows = within(screen.getByRole("list", { name: "Uploads" })).getAllByRole("listitem");
    const names = rows.map((row) => row.querySelector(".upload-name")?.textContent);
    expect(names).toEqual([...chosen("b"), ...chosen("a")].map((file) => file.name));
  });

  it("ends the row of an image deleted before it was processed", async () => {
    renderPanel(fakeServer("DELETED"));
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

    const list = screen.getByRole("list", { name: "Uploads" });
    expect(await within(list).findByText("Deleted before it was processed")).toBeInTheDocument();
    expect(within(list).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(within(list).queryByRole("alert")).toBeNull();
  });

  it("offers to try again a file the server could not take now, and sends it again", async () => {
    renderPanel(failingFirst([httpError(503, "storage is unavailable; try again")]));
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

    const list = screen.getByRole("list", { name: "Uploads" });
    expect(await within(list).findByRole("alert")).toHaveTextContent("Could not upload: storage is unavailable; try again");
    expect(within(list).queryByText(/Rejected/)).toBeNull();

    await userEvent.click(within(list).getByRole("button", { name: "Try again to upload cat.jpg" }));

    expect(await within(list).findByText(/Done/)).toBeInTheDocument();
    expect(within(list).queryByRole("alert")).toBeNull();
    expect(within(list).queryByRole("button", { name: /Try again/ })).toBeNull();
  });

  it("offers to try again after a network error", async () => {
    renderPanel(failingFirst([new TypeError("Network error: the upload did not reach the server")]));
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

    const list = screen.getByRole("list", { name: "Uploads" });
    expect(await within(list).findByRole("alert")).toHaveTextContent(
      "Could not upload: Network error: the upload did not reach the server",
    );
    expect(within(list).getByRole("button", { name: "Try again to upload cat.jpg" })).toBeEnabled();
  });

  it("shows the server's reason for a refused request, without Try again", async () => {
    const refusal = JSON.stringify({ error: "invalid multipart form: at most 20 files per request" });
    renderPanel(failingFirst([httpError(400, refusal)]));
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

    const list = screen.getByRole("list", { name: "Uploads" });
    expect(await within(list).findByRole("alert")).toHaveTextContent(
      "Rejected: invalid multipart form: at most 20 files per request",
    );
    expect(within(list).queryByRole("button", { name: /Try again/ })).toBeNull();
  });

  it.each(["as an error", "as a result"] as const)(
    "shows why the row cannot follow its image when its subscription fails (%s)",
    async (how) => {
      renderPanel(unknownImage(how));
      await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);

      const list = screen.getByRole("list", { name: "Uploads" });
      expect(await within(list).findByRole("alert")).toHaveTextContent("no image with id 1");
      expect(within(list).queryByText("Queued for processing")).toBeNull();
    },
  );

  it("refuses a file over the server's size limit as it is added, sending none of it", async () => {
    // Given a server whose limit is 1 KiB
    const sent: string[] = [];
    renderPanel(withLimits({ maxUploadBytes: 1024, maxImagePixels: 50_000_000, maxFilesPerRequest: 20 }, sent));
    const zone = screen.getByRole("button", { name: /Drop images here/ });
    await waitFor(() => expect(zone).toHaveTextContent("each up to 1 KiB and 50 megapixels"));

    // When a file over it is chosen beside one under it
    await userEvent.upload(screen.getByTestId("file-input"), [
      new File([new Uint8Array(1025)], "big.jpg", { type: "image/jpeg" }),
      new File([new Uint8Array(1024)], "small.jpg", { type: "image/jpeg" }),
    ]);

    // Then the large one is refused at once, in the server's words, and never sent
    const list = screen.getByRole("list", { name: "Uploads" });
    const big = within(list).getByText("big.jpg").closest("li")!;
    expect(within(big).getByRole("alert")).toHaveTextContent("Rejected: file is larger than the 1 KiB limit");
    expect(await within(list).findByText(/Done/)).toBeInTheDocument();
    expect(sent).toEqual(["small.jpg"]);
  });

  it("asks before the page is left while files wait or upload, and only then", async () => {
    // Given a server that has not answered the uploads yet
    const server = heldUploads();
    renderPanel(server.link);
    expect(leavingAsksFirst()).toBe(false);
    const files = Array.from({ length: 5 }, (_, i) => new File(["jpeg"], `p${i}.jpg`, { type: "image/jpeg" }));
    await userEvent.upload(screen.getByTestId("file-input"), files);

    // Then leaving the page would drop them: the browser is told to ask
    const list = screen.getByRole("list", { name: "Uploads" });
    await waitFor(() => expect(within(list).getAllByText("Waiting to upload")).toHaveLength(2));
    expect(leavingAsksFirst()).toBe(true);

    // And once every file is sent, leaving asks nothing
    await waitFor(() => {
      act(() => server.release());
      expect(within(list).getAllByText(/^Done/)).toHaveLength(5);
    });
    expect(leavingAsksFirst()).toBe(false);
  });

  it("keeps focus in the row when Try again, once pressed, leaves", async () => {
    renderPanel(failingFirst([httpError(503, "storage is unavailable; try again")]));
    await userEvent.upload(screen.getByTestId("file-input"), [new File(["jpeg"], "cat.jpg", { type: "image/jpeg" })]);
    const list = screen.getByRole("list", { name: "Uploads" });
    const tryAgain = await within(list).findByRole("button", { name: "Try again to upload cat.jpg" });

    // When Try again is pressed from the keyboard
    tryAgain.focus();
    await userEvent.keyboard("{Enter}");

    // Then focus is on the row's status, which says how the file is doing now
    expect(await within(list).findByText(/Done/)).toBeInTheDocument();
    expect(tryAgain).not.toBeInTheDocument();
    expect(document.activeElement).toHaveClass("upload-status");
    expect(document.activeElement).toHaveTextContent("Done");
  });

  it("opens the file picker from a focusable drop zone", async () => {
    renderPanel();
    const input = screen.getByTestId("file-input") as HTMLInputElement;
    let opened = 0;
    input.addEventListener("click", () => opened++);

    await userEvent.tab();
    const zone = screen.getByRole("button", { name: /Drop images here/ });
    expect(zone).toHaveFocus();
    await userEvent.keyboard("{Enter}");

    expect(opened).toBe(1);
    expect(input.multiple).toBe(true);
  });
});
