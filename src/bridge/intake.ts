/**
 * Intake: what happens to a checked report before ingest answers. It is stored in the spool with its dedup and
 * replay memory, and only then answered 2xx.
 *
 * - A repeat (same DevEUI, FCntUp and payload within the dedup window; or the same AS_ID, Time and Token within
 *   the replay window) is answered `duplicate` and not stored again. A repeat of a request whose append is still
 *   in progress waits for that outcome: `duplicate` when it was stored, otherwise it is stored itself. So a 2xx
 *   is never given for a report that is not stored.
 * - A `join` notification restarts the device's frame counters (the dedup memory), never the replay memory: a
 *   token seen once stays refused for the whole window, whatever comes in between.
 */
import { DedupWindow } from './dedup.js';
import type { Delivery } from './delivery.js';
import type { BridgeEvents } from './events.js';
import type { TunnelQuery, TunnelReport } from './ports.js';
import { type NewReport, QueueUnavailableError } from './queue.js';
import type { Repeats } from './repeats.js';
import { ReplayMemory } from './replay.js';
import type { AppendMemory } from './spool-writer.js';

/**
 * What intake needs from the queue: appends that store the dedup and replay memory in the same commit, and that
 * memory back at start-up. The SQLite spool implements it; another queue keeps the memory where it can.
 */
export interface IntakeQueue {
  append(report: NewReport, memory?: AppendMemory): Promise<number>;
  /** Reports stored and not yet delivered. */
  depth(): number;
  dedupSince(since: number): { devEui: string; fcnt: number; payload: string; seenAt: number }[];
  tokensSince(since: number): { token: string; seenAt: number }[];
  pruneMemory(dedupBefore: number, tokensBefore: number): void;
  resetDedup(devEui: string): void;
}

export type AcceptResult = { status: 'accepted'; seq: number } | { status: 'duplicate' };

/** What ThingPark sent, as received. */
export interface RawRequest {
  document: string;
  query: string;
  params: TunnelQuery;
}

export interface IntakeOptions {
  dedupWindowMs: number;
  /** How long a seen (AS_ID, Time, Token) is refused: the largest accepted time skew (or the dedup window). */
  replayWindowMs: number;
  /** True when tokens are verified (a token is then a fact worth remembering). */
  verifyTokens: boolean;
  /** Folds spool.full into one event per window (without: one per request that found the spool full). */
  repeats?: Repeats;
}

/**
 * The key a verified request is remembered by: the first 32 of the Token's 64 hexadecimal digits (128 bits of a
 * SHA-256 over the document, AS_ID and Time: the request itself, in a sixth of the memory of `AS_ID|Time|Token`).
 * Keys stored by older versions (`AS_ID|Time|Token`) map to the same key.
 */
export function replayKey(token: string): string {
  const bar = token.lastIndexOf('|');
  return (bar < 0 ? token : token.slice(bar + 1)).slice(0, 32).toLowerCase();
}

export class Intake {
  readonly dedup: DedupWindow;
  /** Replay memory: the keys of the window, in typed arrays (no object per key). */
  private readonly tokens: ReplayMemory;
  /** Appends in progress, by dedup key and by token: a repeat waits for the outcome. */
  private readonly storing = new Map<string, Promise<number>>();

  constructor(
    private readonly spool: IntakeQueue,
    private readonly delivery: Delivery,
    private readonly events: BridgeEvents,
    private readonly options: IntakeOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.dedup = new DedupWindow(options.dedupWindowMs);
    this.tokens = new ReplayMemory(options.replayWindowMs);
  }

  /** Appends in progress. */
  get pending(): number {
    return this.storing.size;
  }

  /** Rebuilds the memories from the spool (start-up). */
  load(): void {
    const now = this.now();
    if (this.dedup.windowMs > 0) this.dedup.load(this.spool.dedupSince(now - this.dedup.windowMs));
    for (const t of this.spool.tokensSince(now - this.options.replayWindowMs)) {
      this.tokens.remember(replayKey(t.token), t.seenAt);
    }
  }

  /** Forgets what is older than the windows, here and in the spool. */
  prune(): void {
    const now = this.now();
    this.dedup.prune(now);
    const before = now - this.options.replayWindowMs;
    this.tokens.prune(before);
    this.spool.pruneMemory(now - this.dedup.windowMs, before);
  }

  private tokenKey(raw: RawRequest): string | undefined {
    const q = raw.params;
    if (!this.options.verifyTokens || !q.Token || !q.Time) return undefined;
    return replayKey(q.Token);
  }

  async accept(r: TunnelReport, raw: RawRequest): Promise<AcceptResult> {
    const token = this.tokenKey(raw);
    const counted = r.kind === 'uplink' && r.fcntUp !== undefined && this.dedup.windowMs > 0;
    const payload = r.payloadHex ?? '';
    const dedupKey = counted ? `${r.devEui}|${r.fcntUp}|${payload}` : undefined;
    // a repeat of a request still being stored waits for its outcome (issue: acknowledged, then lost)
    for (;;) {
      const first = (token && this.storing.get(token)) || (dedupKey && this.storing.get(dedupKey));
      if (!first) break;
      const stored = await first.then(
        () => true,
        () => false,
      );
      if (stored) return this.duplicate(r);
    }
    const now = this.now();
    if (token !== undefined && this.tokens.has(token, now)) return this.duplicate(r);
    if (r.kind === 'notification' && r.notificationType?.toLowerCase() === 'join') {
      this.dedup.reset(r.devEui);
      this.spool.resetDedup(r.devEui);
    }
    if (counted && this.dedup.isDuplicate(r.devEui, r.fcntUp!, payload, now)) return this.duplicate(r);
    const t0 = performance.now();
    const memory: AppendMemory = {};
    if (counted) memory.dedup = { fcnt: r.fcntUp!, payload };
    if (token !== undefined) memory.token = token;
    const appended = this.spool.append(
      { devEui: r.devEui, kind: r.kind, receivedAt: now, document: raw.document, query: raw.query },
      memory,
    );
    if (token !== undefined) this.storing.set(token, appended);
    if (dedupKey !== undefined) this.storing.set(dedupKey, appended);
    let seq: number;
    try {
      seq = await appended;
    } catch (err) {
      if (err instanceof QueueUnavailableError && err.reason === 'full') {
        const full = { depth: err.data.depth ?? 0, max: err.data.limit ?? 0 };
        const repeats = this.options.repeats;
        if (repeats)
          repeats.add('spool.full', (count, first) =>
            this.events.emit('spool.full', {
              ...full,
              count,
              windowMs: repeats.windowMs,
              ...(first ? {} : { folded: true }),
            }),
          );
        else this.events.emit('spool.full', { ...full, count: 1 });
      }
      throw err;
    } finally {
      if (token !== undefined && this.storing.get(token) === appended) this.storing.delete(token);
      if (dedupKey !== undefined && this.storing.get(dedupKey) === appended) this.storing.delete(dedupKey);
    }
    if (token !== undefined) this.tokens.remember(token, now);
    if (counted) this.dedup.remember(r.devEui, r.fcntUp!, payload, now);
    this.delivery.accepted(seq, r, t0);
    this.events.emit('uplink.accepted', {
      seq,
      kind: r.kind,
      devEui: r.devEui,
      fcnt: r.fcntUp,
      spoolDepth: this.spool.depth(),
    });
    return { status: 'accepted', seq };
  }

  private duplicate(r: TunnelReport): AcceptResult {
    this.events.emit('uplink.duplicate', {
      kind: r.kind,
      devEui: r.devEui,
      ...(r.fcntUp !== undefined ? { fcnt: r.fcntUp } : {}),
    });
    return { status: 'duplicate' };
  }
}
