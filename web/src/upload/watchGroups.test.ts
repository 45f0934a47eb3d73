import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { Observable } from "rxjs";
import { describe, expect, it, vi } from "vitest";

import { imageCard, imageUpdate } from "../test/images";
import { WatchGroups } from "./watchGroups";

/** A server on which image 2 is gone: a subscription naming it is refused, as ours is. */
function serverWithout(gone: string, opened: string[][]): ApolloClient {
  const link = new ApolloLink(
    (operation) =>
      new Observable((observer) => {
        const ids = operation.variables.ids as string[];
        opened.push(ids);
        if (ids.includes(gone)) {
          observer.next({ data: null, errors: [{ message: `no image with id ${gone}` }] });
        } else {
          for (const id of ids) {
            observer.next({ data: { imageUpdates: imageUpdate(id, "COMPLETED", imageCard(id, `${id}.jpg`)) } });
          }
        }
        observer.complete();
      }),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

describe("WatchGroups", () => {
  it("follows images accepted together in one subscription", async () => {
    const opened: string[][] = [];
    const update = vi.fn();
    const groups = new WatchGroups(serverWithout("none", opened), { update, untracked: vi.fn() });

    for (const id of ["1", "2", "3"]) groups.watch(id);

    await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(3));
    expect(opened).toEqual([["1", "2", "3"]]);
  });

  it("lets go of an image the server says is gone and follows the others again", async () => {
    const opened: string[][] = [];
    const update = vi.fn();
    const untracked = vi.fn();
    const groups = new WatchGroups(serverWithout("2", opened), { update, untracked });

    for (const id of ["1", "2", "3"]) groups.watch(id);

    await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(2));
    expect(untracked).toHaveBeenCalledExactlyOnceWith(["2"], expect.stringContaining("no image with id 2"));
    expect(opened).toEqual([
      ["1", "2", "3"],
      ["1", "3"],
    ]);
    expect(update.mock.calls.map(([u]) => u.id)).toEqual(["1", "3"]);
  });

  it("keeps following the others when a finished image of the group is gone on a reconnect", async () => {
    // Given a group of three whose image 2 completes, then is deleted; the subscription is
    // sent again (a reconnect) and refused for it
    const opened: string[][] = [];
    const link = new ApolloLink(
      (operation) =>
        new Observable((observer) => {
          const ids = operation.variables.ids as string[];
          opened.push(ids);
          if (opened.length === 1) {
            observer.next({ data: { imageUpdates: imageUpdate("2", "COMPLETED", imageCard("2", "2.jpg")) } });
            observer.next({ data: null, errors: [{ message: "no image with id 2" }] });
          }
        }),
    );
    const untracked = vi.fn();
    const groups = new WatchGroups(new ApolloClient({ link, cache: new InMemoryCache() }), {
      update: vi.fn(),
      untracked,
    });

    for (const id of ["1", "2", "3"]) groups.watch(id);

    // Then 1 and 3 are followed again, and nothing is given up
    await vi.waitFor(() => expect(opened).toHaveLength(2));
    expect(opened[1]).toEqual(["1", "3"]);
    expect(untracked).not.toHaveBeenCalled();
    expect(groups.subscriptionCount).toBe(1);
  });
});
