import { useQuery } from "@apollo/client/react";
import { useEffect, useRef } from "react";

import { STATS } from "../graphql/operations";
import type { Stats } from "../graphql/types";
import { useLive } from "../live/LiveUpdates";
import { useDocumentTitle } from "../routes";
import { formatSeconds } from "../upload/progress";

const POLL_INTERVAL_MS = 3000;
const THROUGHPUT_MINUTES = 10;
/** Events come in bursts (a stage per rendition): at most one refetch per this long. */
const EVENT_REFRESH_INTERVAL_MS = 500;

/** Live: polls `stats`, and refetches soon after any image event. */
export function Dashboard() {
  useDocumentTitle("Dashboard");
  const { data, error, refetch } = useQuery(STATS, {
    variables: { throughputMinutes: THROUGHPUT_MINUTES },
    pollInterval: POLL_INTERVAL_MS,
    fetchPolicy: "cache-and-network",
  });
  useRefreshOnEvents(refetch);

  return (
    <section className="panel dashboard" aria-labelledby="dashboard-heading">
      <h2 id="dashboard-heading">Dashboard</h2>
      {error && (
        <p className="error" role="alert">
          Could not load stats: {error.message}
        </p>
      )}
      {data && <StatsView stats={data.stats} />}
    </section>
  );
}

/**
 * Refetches after image events, throttled: the first event of a quiet spell starts a timer,
 * and events before it fires ride on it. Under steady traffic that is one refetch per
 * interval, and the last event is always followed by one.
 */
function useRefreshOnEvents(refetch: () => Promise<unknown>) {
  const { eventCount } = useLive();
  const refresh = useRef(refetch);
  refresh.current = refetch;
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    if (eventCount === 0 || timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      // A failed refetch shows through `error`.
      refresh.current().catch(() => undefined);
    }, EVENT_REFRESH_INTERVAL_MS);
  }, [eventCount]);
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      timer.current = undefined;
    },
    [],
  );
}

function seconds(value: number | null): string {
  return value === null ? "—" : formatSeconds(value);
}

export function StatsView({ stats }: { stats: Stats }) {
  const { counts, queue, processing, throughput } = stats;
  const perMinute = throughput.map((m) => m.completed + m.failed);
  const peak = Math.max(1, ...perMinute);
  return (
    <>
      <h3>Images by status</h3>
      <dl className="tiles" aria-label="Images by status">
        <Tile name="Pending" value={counts.pending} />
        <Tile name="Processing" value={counts.processing} />
        <Tile name="Completed" value={counts.completed} tone="ok" />
        <Tile name="Failed" value={counts.failed} tone={counts.failed > 0 ? "bad" : undefined} />
        <Tile name="Total" value={counts.total} />
      </dl>
      <h3>Queue {queue.name}</h3>
      {queue.error ? (
        <p className="error" role="alert">
          The broker could not be asked: {queue.error}
        </p>
      ) : (
        <dl className="tiles" aria-label="Queue">
          <Tile name="Jobs waiting" value={queue.waiting ?? "—"} />
          <Tile name="Consumers" value={queue.consumers ?? "—"} tone={queue.consumers === 0 ? "bad" : undefined} />
        </dl>
      )}
      <h3>Processing time</h3>
      <dl className="tiles" aria-label="Processing time">
        <Tile name="Average" value={seconds(processing.averageS)} />
        <Tile name="p95" value={seconds(processing.p95S)} />
        <Tile name="p95 end to end" value={seconds(processing.endToEndP95S)} />
        <Tile name="Over" value={`${processing.completed} images`} />
      </dl>
      <h3>Throughput, last {throughput.length} minutes</h3>
      <ol className="chart" aria-label="Images finished per minute">
        {throughput.map((m, i) => {
          const time = new Date(m.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
          return (
            <li key={m.minute} title={`${time}: ${m.completed} completed, ${m.failed} failed`}>
              <span className="bar-wrap">
                <span className="bar failed" style={{ height: `${(100 * m.failed) / peak}%` }} />
                <span className="bar completed" style={{ height: `${(100 * m.completed) / peak}%` }} />
              </span>
              <span className="bar-value">{perMinute[i]}</span>
              <span className="bar-label">{time}</span>
            </li>
          );
        })}
      </ol>
    </>
  );
}

function Tile({ name, value, tone }: { name: string; value: number | string; tone?: "ok" | "bad" }) {
  return (
    <div className={`tile ${tone ?? ""}`}>
      <dt>{name}</dt>
      <dd data-testid={`stat-${name.toLowerCase().replace(/ /g, "-")}`}>{value}</dd>
    </div>
  );
}
