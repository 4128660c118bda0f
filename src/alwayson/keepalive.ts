/**
 * Liveness of one AlwaysOn socket (research/alwayson.md §13). Two duties:
 *
 * - keep the socket alive: a WebSocket Ping at least every `intervalMs` (default 55 s, under the platform's 60 s idle
 *   timeout) with the time as text, as the C SDK does;
 * - notice a silent platform: a frozen ThingWorx (process stopped, TCP still open) sends nothing, not even a pong.
 *   Whatever arrives from the platform (a frame, a pong, a ping) counts as a sign of life; after `deadlineMs / 2`
 *   without one a Ping goes out, and after `deadlineMs` without one the socket counts as dead (`onTimeout`).
 *   A silent platform is thus noticed `deadlineMs` after its last sign of life; an idle but healthy connection
 *   costs one ping/pong per `deadlineMs / 2`.
 *
 * One timer, rescheduled to the next moment something is due: a busy connection costs no timer work per frame.
 */

/** What the keepalive needs of a socket (ws's WebSocket has it; tests pass a fake). */
export interface PingSocket {
  ping(data?: Buffer): void;
  on(event: 'pong' | 'ping' | 'message', listener: () => void): unknown;
  off(event: 'pong' | 'ping' | 'message', listener: () => void): unknown;
}

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private lastPing = 0;
  private stopped = true;
  private readonly heard = (): void => {
    this.lastHeard = Date.now();
  };

  constructor(
    private readonly ws: PingSocket,
    private readonly intervalMs: number,
    private readonly deadlineMs: number,
    private readonly onTimeout: (silentMs: number) => void,
  ) {}

  start(): void {
    this.stopped = false;
    const now = Date.now();
    this.lastHeard = now;
    this.lastPing = now;
    this.ws.on('pong', this.heard);
    this.ws.on('ping', this.heard);
    this.ws.on('message', this.heard);
    this.schedule(now);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ws.off('pong', this.heard);
    this.ws.off('ping', this.heard);
    this.ws.off('message', this.heard);
  }

  private check(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = Date.now();
    const silent = now - this.lastHeard;
    if (silent >= this.deadlineMs) {
      // Timers run before I/O in Node's loop: after a long synchronous stretch a pong may be waiting unread.
      // Look again once pending I/O has been read (setImmediate runs after the poll phase).
      setImmediate(() => {
        if (this.stopped) return;
        const still = Date.now() - this.lastHeard;
        if (still < this.deadlineMs) {
          this.schedule(Date.now());
          return;
        }
        this.stop();
        this.onTimeout(still);
      });
      return;
    }
    const pingedSinceHeard = this.lastPing > this.lastHeard;
    if ((silent >= this.deadlineMs / 2 && !pingedSinceHeard) || now - this.lastPing >= this.intervalMs) this.ping(now);
    this.schedule(now);
  }

  /** The next moment something is due: a ping after half the deadline of silence, the deadline, the interval. */
  private schedule(now: number): void {
    const pingedSinceHeard = this.lastPing > this.lastHeard;
    const silenceDue = this.lastHeard + (pingedSinceHeard ? this.deadlineMs : Math.ceil(this.deadlineMs / 2));
    const due = Math.min(silenceDue, this.lastPing + this.intervalMs);
    this.timer = setTimeout(() => this.check(), Math.max(1, due - now));
    this.timer.unref();
  }

  private ping(now: number): void {
    this.lastPing = now;
    try {
      this.ws.ping(Buffer.from(new Date(now).toISOString().slice(11, 19)));
    } catch {
      // Socket closing: its close handler takes over.
    }
  }
}
