import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { Stats } from "../graphql/types";
import { StatsView } from "./Dashboard";

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
