/**
 * Push failures folded by cause: during an outage every report in flight fails (thousands with a high
 * maxInFlight), each on every retry round. Each failure is still its own `push.failed` event (counted in
 * /metrics); `push.failing` says it for people, once per cause and window (repeats.ts): the first at once, the
 * rest at the end of the window with their count, the Things they concern and the latest retry delay.
 */
import type { BridgeEvents } from './events.js';
import type { Repeats } from './repeats.js';

/**
 * A push failure's cause, stable across Things and retries: the sink's cause code (request_timeout, socket_error,
 * closed_by_platform…) when it knows one, else the error's own code (with the platform's status name when it
 * answered one), else its message without the Thing's name and without numbers (sequence numbers, delays).
 */
export function pushFailureCause(err: unknown, thing: string, causeOf?: (err: unknown) => string): string {
  const known = causeOf?.(err);
  if (known && known !== 'unknown') return known;
  const e = err as { code?: unknown; details?: { statusName?: unknown }; message?: unknown } | null;
  if (typeof e?.code === 'string') {
    const status = e.details?.statusName;
    return typeof status === 'string' ? `${e.code}:${status}` : e.code;
  }
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return (thing ? message.split(thing).join('<thing>') : message).replace(/\d+/g, '#');
}

/** What a window of one cause gathered since its last line. */
interface Pending {
  things: Set<string>;
  thing: string;
  error: string;
  retryInMs: number;
  /** Every failure of the window happened in an outage already reported (see `inOutage`). */
  outage: boolean;
}

export class PushFailures {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly repeats: Repeats,
    private readonly events: BridgeEvents,
    private readonly causeOf?: (err: unknown) => string,
    /** Whether a failure of this cause is part of an outage already warned about (a pipe down for that cause). */
    private readonly inOutage: (cause: string) => boolean = () => false,
  ) {}

  /** A push to `thing` failed with `err` and is retried in `retryInMs`. */
  failed(thing: string, err: unknown, retryInMs: number): void {
    const cause = pushFailureCause(err, thing, this.causeOf);
    let p = this.pending.get(cause);
    if (!p) {
      p = { things: new Set(), thing, error: '', retryInMs, outage: true };
      this.pending.set(cause, p);
    }
    p.outage &&= this.inOutage(cause);
    p.things.add(thing);
    p.thing = thing;
    p.error = err instanceof Error ? err.message : String(err);
    p.retryInMs = retryInMs;
    this.repeats.add(`push ${cause}`, (count, first) => this.report(cause, count, first));
  }

  private report(cause: string, count: number, first: boolean): void {
    const p = this.pending.get(cause);
    if (!p) return;
    this.pending.delete(cause);
    this.events.emit('push.failing', {
      cause,
      error: p.error,
      count,
      things: p.things.size,
      thing: p.thing,
      retryInMs: p.retryInMs,
      windowMs: this.repeats.windowMs,
      ...(p.outage ? { outage: true } : {}),
      ...(first ? {} : { folded: true }),
    });
  }
}
