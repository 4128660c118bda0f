/**
 * WebSocket pings (research/alwayson.md §13): a Ping every `intervalMs` (default 55 s, under the platform's 60 s
 * idle timeout) with the time as text; if no Pong arrives within `pongTimeoutMs` (default 10 s) the socket is dead.
 */
import type WebSocket from 'ws';

export class Keepalive {
  private interval: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private readonly onPong = (): void => {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly intervalMs: number,
    private readonly pongTimeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  start(): void {
    this.ws.on('pong', this.onPong);
    this.interval = setInterval(() => this.ping(), this.intervalMs);
    this.interval.unref();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.deadline) clearTimeout(this.deadline);
    this.interval = null;
    this.deadline = null;
    this.ws.off('pong', this.onPong);
  }

  private ping(): void {
    if (this.deadline) return; // still waiting for the previous pong
    this.deadline = setTimeout(() => {
      this.deadline = null;
      this.stop();
      this.onTimeout();
    }, this.pongTimeoutMs);
    this.deadline.unref();
    try {
      this.ws.ping(Buffer.from(new Date().toISOString().slice(11, 19)));
    } catch {
      // Socket closing: its close handler takes over.
    }
  }
}
