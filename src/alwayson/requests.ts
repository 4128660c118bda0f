/**
 * Outstanding requests of one connection: request ids, correlation of responses by requestId, one shared timeout
 * timer (not one timer per request: the hot path pushes thousands per second), a bound on requests in flight and a
 * FIFO of callers waiting for a free slot (backpressure).
 */
import type { Message } from './codec/types.js';
import { RequestTimeoutError } from './errors.js';

interface Pending {
  what: string;
  deadline: number;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
}

interface Waiter {
  deadline: number;
  what: string;
  /** Runs synchronously when the slot is granted; it must call add() before returning. */
  run: () => void;
  reject: (error: Error) => void;
}

export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private waiters: Waiter[] = [];
  private waiterHead = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private lastId = 0;

  constructor(
    readonly maxInFlight: number,
    readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  get waiting(): number {
    return this.waiters.length - this.waiterHead;
  }

  /** True when a new request may be sent now (a slot is free and nobody queued before). */
  hasSlot(): boolean {
    return this.pending.size < this.maxInFlight && this.waiting === 0;
  }

  /** Next request id: 1..0xFFFFFFFE, wrapping, skipping ids still in use. */
  nextId(): number {
    do {
      this.lastId = this.lastId >= 0xfffffffe ? 1 : this.lastId + 1;
    } while (this.pending.has(this.lastId));
    return this.lastId;
  }

  /** Registers request `id`; it settles with the response, a timeout or rejectAll(). */
  add(id: number, what: string, resolve: (m: Message) => void, reject: (e: Error) => void): void {
    const deadline = Date.now() + this.timeoutMs;
    this.pending.set(id, { what, deadline, resolve, reject });
    this.arm(deadline);
  }

  /** Settles request `id` with its response. False when nobody waits for it (late or unknown). */
  resolve(id: number, message: Message): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    p.resolve(message);
    this.wake();
    return true;
  }

  /** Fails request `id` (e.g. its frames could not be written). */
  reject(id: number, error: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(error);
    this.wake();
  }

  /** Fails every outstanding request (socket lost). Waiters stay queued: they wait for the next connection. */
  rejectAll(error: Error): number {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(error);
    return all.length;
  }

  /** Fails every queued waiter too (client closed). */
  rejectWaiters(error: Error): void {
    const ws = this.waiters.slice(this.waiterHead);
    this.waiters = [];
    this.waiterHead = 0;
    for (const w of ws) w.reject(error);
  }

  /**
   * Queues a caller until a slot is free and `canSend()` holds; then `run` is called synchronously (so that it
   * takes the slot before anyone else). A caller not released within the request timeout gets `reject` with a
   * RequestTimeoutError.
   */
  enqueue(what: string, run: () => void, reject: (error: Error) => void): void {
    const deadline = Date.now() + this.timeoutMs;
    this.waiters.push({ deadline, what, run, reject });
    this.arm(deadline);
  }

  /** Set by the owner: whether queued waiters may proceed (connection up and ready). */
  canSend: () => boolean = () => true;

  /** Releases queued waiters while slots are free. Call when the connection becomes ready. */
  wake(): void {
    if (this.waking) return;
    this.waking = true;
    try {
      while (this.waiterHead < this.waiters.length && this.pending.size < this.maxInFlight && this.canSend()) {
        const w = this.waiters[this.waiterHead]!;
        this.waiters[this.waiterHead++] = undefined as unknown as Waiter;
        w.run();
      }
    } finally {
      this.waking = false;
    }
    this.compact();
  }
  private waking = false;

  private compact(): void {
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.waiterHead);
      this.waiterHead = 0;
    } else if (this.waiterHead === this.waiters.length && this.waiterHead > 0) {
      this.waiters = [];
      this.waiterHead = 0;
    }
  }

  /** Stops the timer (after close). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(deadline: number): void {
    if (this.timer && this.timerAt <= deadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, deadline - Date.now()) + 1);
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = null;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    // Deadlines grow with insertion order (one timeout for all), so stop at the first live one.
    for (const [id, p] of this.pending) {
      if (p.deadline > now) {
        next = p.deadline;
        break;
      }
      this.pending.delete(id);
      p.reject(new RequestTimeoutError(p.what, this.timeoutMs));
    }
    while (this.waiterHead < this.waiters.length) {
      const w = this.waiters[this.waiterHead]!;
      if (w.deadline > now) {
        next = Math.min(next, w.deadline);
        break;
      }
      this.waiters[this.waiterHead++] = undefined as unknown as Waiter;
      w.reject(new RequestTimeoutError(w.what, this.timeoutMs));
    }
    this.compact();
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    this.wake();
  }
}
