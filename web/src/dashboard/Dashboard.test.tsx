import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { ApolloProvider } from "@apollo/client/react";
import { act, render, screen, within } from "@testing-library/react";
import { Observable, Subject } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { ImageUpdate, Stats } from "../graphql/types";
import { LiveUpdates } from "../live/LiveUpdates";
import { Dashboard, StatsView } from "./Dashboard";

const stats: Stats = {
  counts: { pending: 3, processing: 1, completed: 40, failed: 2, total: 46 },
  queue: { name: "image_processing", waiting: 3, consumers: 2, error: null },
  processing: { completed: 40, averageS: 0.4321, p95S: 1.25, endToEndP95S: 2.5 },
  throughput: [
    { minute: "2026-11-27T19:00:00+00:00", completed: 0, failed: 0 },
    { minute: "2026-11-27T19:01:00+00:00", completed: 8, failed: 1 },
    { minute: "2026-11-27T19:02:00+00:00", completed: 4, failed: 0 },
  ],
};

describe("StatsView", () => {
  it("shows counts by status, the queue and the timings", () => {
    render(<StatsView stats={stats} />);
    expect(screen.getByTestId("stat-pending")).toHaveTextContent("3");
    expect(screen.getByTestId("stat-completed")).toHaveTextContent("40");
    expect(screen.getByTestId("stat-failed")).toHaveTextContent("2");
    expect(screen.getByTestId("stat-total")).toHaveTextContent("46");
    expect(screen.getByTestId("stat-jobs-waiting")).toHaveTextContent("3");
    expect(screen.getByTestId("stat-consumers")).toHaveTextContent("2");
    expect(screen.getByTestId("stat-average")).toHaveTextContent("0.43 s");
    expect(screen.getByTestId("stat-p95")).toHaveTextContent("1.25 s");
  });

  it("draws one bar per minute, scaled to the busiest", () => {
    render(<StatsView stats={stats} />);
    const minutes = within(screen.getByRole("list", { name: "Images finished per minute" })).getAllByRole("listitem");
    expect(minutes.map((li) => li.querySelector(".bar-value")?.textContent)).toEqual(["0", "9", "4"]);
    const busiest = minutes[1].querySelector<HTMLElement>(".bar.completed")!;
    expect(busiest.style.height).toBe(`${(100 * 8) / 9}%`);
  });

  it("says when the broker could not be asked instead of showing zeros", () => {
    render(<StatsView stats={{ ...stats, queue: { ...stats.queue, waiting: null, consumers: null, error: "AMQPConnectionError: refused" } }} />);
    expect(screen.getByRole("alert")).toHaveTextContent("The broker could not be asked: AMQPConnectionError: refused");
    expect(screen.queryByTestId("stat-consumers")).toBeNull();
  });
});

describe("Dashboard", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A server whose completed count is how many times stats were asked for. */
  function fakeServer(stream: Subject<ImageUpdate>): ApolloLink {
    let asked = 0;
    return new ApolloLink((operation) => {
      if (operation.operationName === "Stats") {
        return new Observable((observer) => {
          asked += 1;
          observer.next({ data: { stats: { ...stats, counts: { ...stats.counts, completed: asked } } } });
          observer.complete();
        });
      }
      return new Observable((observer) => {
        const subscription = stream.subscribe((imageUpdates) => observer.next({ data: { imageUpdates } }));
        return () => subscription.unsubscribe();
      });
    });
  }

  const event = (n: number): ImageUpdate & { __typename: string } => ({
    __typename: "ImageUpdate",
    id: String(n),
    status: "PROCESSING",
    progress: 0.5,
    stage: "decoded",
    error: null,
    image: null,
  });

  const wait = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

  it("keeps refreshing under steady traffic, and once more after the last event", async () => {
    vi.useFakeTimers();
    const stream = new Subject<ImageUpdate>();
    const client = new ApolloClient({ link: fakeServer(stream), cache: new InMemoryCache() });
    render(
      <ApolloProvider client={client}>
        <LiveUpdates>
          <Dashboard />
        </LiveUpdates>
      </ApolloProvider>,
    );
    await wait(0);
    const completed = screen.getByTestId("stat-completed");
    expect(completed).toHaveTextContent("1");

    // An event every fifth of a second, for two seconds (less than the poll's interval)
    for (let n = 1; n <= 10; n++) {
      await wait(200);
      act(() => stream.next(event(n)));
    }
    const duringTraffic = Number(completed.textContent);
    expect(duringTraffic).toBeGreaterThan(1);

    await wait(500);
    expect(Number(completed.textContent)).toBeGreaterThan(duringTraffic);
  });
});
