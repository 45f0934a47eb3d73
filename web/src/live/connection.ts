/** Whether the page's WebSocket is up, for a notice while live updates are paused. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "stopped";

export class ConnectionStatus {
  private state: ConnectionState = "connecting";
  private readonly listeners = new Set<() => void>();

  get = (): ConnectionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.listeners) listener();
  }

  connected(): void {
    this.set("live");
  }

  /** The socket went down, or could not be opened; graphql-ws retries on its own. */
  closed(): void {
    if (this.state !== "stopped") this.set("reconnecting");
  }
}
