import type { ImageStatus } from "../graphql/types";

export function StatusBadge({ status }: { status: ImageStatus }) {
  return <span className={`badge ${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}
