/**
 * Delivery from the spool to ThingWorx: one queue per device (in order, one report in flight per device), a
 * global limit on reports in flight, retries with back-off for passing failures (the device waits, keeping its
 * order), the dead-letter table for failures that will not pass. Pauses while ThingWorx is disconnected.
 */

import { performance } from 'node:perf_hooks';
import { backoffDelay } from '../util/backoff.js';
import type { BridgeEvents } from './events.js';
import {
  type PayloadDecoder,
  PermanentError,
  ReportError,
  StoppedError,
  StubbornError,
  type ThingWorxSink,
  type TunnelReport,
} from './ports.js';
import type { Provisioner } from './provisioning.js';
import type { ReportQueue, StoredReport } from './queue.js';
import { reportUpdates } from './thing-properties.js';

export interface DeliveryOptions {
  /** Reports in flight across all devices. Default 512. */
  maxInFlight?: number;
  /** First retry delay; doubles up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Reports taken from the queue and held in memory for delivery (the rest waits in the queue). Default 20000. */
  window?: number;
  /** Attempts before a stubborn failure (refused bind, non-retryable push error) is dead-lettered. Default 5. */
  stubbornAttempts?: number;
  decoder?: PayloadDecoder;
  /**
   * The send gate of a shared queue (fleet/queue.ts), checked before the bind and before the push of each report:
   * 'lost' drops the report unacked (its queue has another owner, who delivers it), 'wait' retries it later.
   */
  gate?: (seq: number) => 'ok' | 'wait' | 'lost';
  /** A report dropped by the gate (forgotten by its queue, not acked). */
  dropped?: (seq: number) => void;
  /** A push failed and is retried (after its push.failed event): the error itself, for the log's folding. */
  failed?: (thing: string, err: unknown, retryInMs: number) => void;
}

/** A report whose queue this bridge no longer owns (the gate said 'lost'). */
class Fenced extends Error {}

/** The gate is closed for now (lease of a shared queue not verified): retried like a passing failure. */
class GateClosed extends Error {}

/** True for failures waiting alone will not fix: AlwaysOn errors marked not retryable, refused binds. */
function isStubborn(err: unknown): boolean {
  if (err instanceof StubbornError) return true;
  const r = (err as { retryable?: unknown }).retryable;
  return r === false;
}

interface DeviceQueue {
  items: StoredReport[];
  head: number;
  busy: boolean;
  waiting: boolean;
  attempt: number;
}

export class Delivery {
  private readonly devices = new Map<string, DeviceQueue>();
  private readonly ready: string[] = [];
  private readyHead = 0;
  private inFlight = 0;
  private held = 0;
  private stopped = false;
  /** The stop's limit passed with pushes in flight: they are abandoned (never acked here; kept in the queue). */
  private abandoned = false;
  private gate = false;
  private filling = false;
  private fillAgain = false;
  /**
   * Reports accepted by this process, parsed by ingest, with when they were accepted (performance.now(), for the
   * ingest -> ack latency): kept until taken and delivered (bounded), so a report is not parsed again.
   */
  private readonly live = new Map<number, { report: TunnelReport; acceptedAt: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  private quietWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  /** The highest seq taken from the queue. */
  private lastTaken = 0;

  constructor(
    private readonly queue: ReportQueue,
    /** The one report parser: a stored document's text -> the report. */
    private readonly parse: (document: string) => TunnelReport,
    private readonly sink: ThingWorxSink,
    private readonly provisioner: Provisioner,
    private readonly events: BridgeEvents,
    private readonly options: DeliveryOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 512;
  }

  /** Reports stored and not yet delivered (or dead-lettered). */
  get depth(): number {
    return this.queue.health().depth;
  }

  /**
   * A report this process just appended: its parsed form (saves parsing it again) and when it was received
   * (performance.now(), to measure ingest -> ack latency). Then takes what is waiting.
   */
  accepted(seq: number, report: TunnelReport, acceptedAt: number): void {
    // a report taken (from storage) before its append was reported may be delivered already: keep nothing for it
    if (seq > this.lastTaken || this.holds(report.devEui, seq)) this.keep(seq, report, acceptedAt);
    this.fill();
  }

  private holds(dev: string, seq: number): boolean {
    const q = this.devices.get(dev);
    if (!q) return false;
    for (let k = q.head; k < q.items.length; k++) if (q.items[k]!.seq === seq) return true;
    return false;
  }

  private keep(seq: number, report: TunnelReport, acceptedAt: number): void {
    // seq 0: a queue without local sequence (the fleet's broker): the report comes back through take()
    if (seq > 0 && this.live.size < (this.options.window ?? 20_000)) {
      this.live.set(seq, { report, acceptedAt });
    }
  }

  /** Takes reports from the queue while the window has room. */
  fill(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    const room = (this.options.window ?? 20_000) - this.held;
    if (room <= 0) return;
    this.filling = true;
    this.fillAgain = false;
    this.queue.take(room).then(
      (items) => {
        this.filling = false;
        for (const item of items) this.hold(item);
        if (items.length > 0) this.lastTaken = Math.max(this.lastTaken, items[items.length - 1]!.seq);
        this.pump();
        if (items.length === room || this.fillAgain) this.fill();
        else if (this.held === 0) this.notifyIdle();
      },
      (err: Error) => {
        this.filling = false;
        this.events.emit('error', { where: 'spool', error: err.message });
      },
    );
  }

  private hold(item: StoredReport): void {
    let q = this.devices.get(item.devEui);
    if (!q) {
      q = { items: [], head: 0, busy: false, waiting: false, attempt: 0 };
      this.devices.set(item.devEui, q);
    }
    q.items.push(item);
    this.held += 1;
    if (!q.busy && !q.waiting && q.items.length - q.head === 1) this.ready.push(item.devEui);
  }

  /** Starts work while there is room; called again when ThingWorx comes back. */
  pump(): void {
    if (this.stopped || !this.gate || !this.sink.isConnected()) return;
    while (this.inFlight < this.maxInFlight && this.readyHead < this.ready.length) {
      const dev = this.ready[this.readyHead++]!;
      const q = this.devices.get(dev);
      if (!q || q.busy || q.waiting || q.head >= q.items.length) continue;
      q.busy = true;
      this.inFlight += 1;
      void this.deliverHead(dev, q);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  private async deliverHead(dev: string, q: DeviceQueue): Promise<void> {
    const item = q.items[q.head]!;
    const seq = item.seq;
    let outcome: 'done' | 'retry' = 'done';
    try {
      await this.pushHead(dev, q, item);
    } catch (err) {
      outcome = await this.headFailed(dev, q, item, err);
    }
    if (outcome === 'done') this.headDone(dev, q, seq);
    q.busy = false;
    this.inFlight -= 1;
    if (this.inFlight === 0 && this.quietWaiters.length) {
      const w = this.quietWaiters;
      this.quietWaiters = [];
      for (const fn of w) fn();
    }
    if (this.held === 0) this.fill();
    else if (this.held < (this.options.window ?? 20_000) / 2) this.fill();
    this.pump();
  }

  /** Pushes the report at the head of a device's queue (and its decoded values), then acknowledges it. */
  private async pushHead(dev: string, q: DeviceQueue, item: StoredReport): Promise<void> {
    const seq = item.seq;
    const kept = this.live.get(seq);
    const report = kept?.report ?? this.parse(item.document);
    const updates = reportUpdates(report, item.document);
    const decoded = this.options.decoder ? await this.options.decoder.uplinkUpdates(report) : [];
    if (updates.length > 0) {
      // a fleet asks for its lease again right before each write (a BIND or push may wait for a free slot, or the
      // process be paused in between); a withdrawn or failed one is then judged by the gate (lost: fenced, dropped)
      const gate = this.options.gate;
      const options = gate ? { stillValid: () => gate(seq) === 'ok' } : undefined;
      // a bound Thing (nearly every push) costs no extra promise
      if (!this.provisioner.settled(dev)) {
        this.checkGate(seq);
        try {
          await this.provisioner.ensure(dev, options?.stillValid);
        } catch (err) {
          this.checkGate(seq);
          throw err;
        }
      }
      this.checkGate(seq);
      try {
        await this.sink.push(dev, updates, options);
      } catch (err) {
        this.checkGate(seq);
        throw err;
      }
      // Decoded values go in a push of their own: a Thing without those properties never costs the raw uplink.
      if (decoded.length > 0 && (!gate || gate(seq) === 'ok'))
        await this.sink.push(dev, decoded, options).catch((e: Error) => this.decodedPushFailed(dev, e));
    }
    if (report.kind === 'downlink_sent') {
      this.events.emit('downlink.report', {
        thing: dev,
        correlationId: report.correlationId,
        delivered: report.deliveryStatus === undefined || report.deliveryStatus === 1,
      });
    }
    // a push answered after the stop gave up on it: the queue may be closed; the next start delivers it again
    if (this.abandoned) throw new StoppedError();
    void this.queue.ack(seq);
    const latencyMs = kept ? performance.now() - kept.acceptedAt : Date.now() - item.receivedAt;
    this.events.emit('push.acked', { seq, thing: dev, kind: report.kind, latencyMs });
    q.attempt = 0;
  }

  /** After a failed push: fenced (dropped) or dead-lettered ('done'), or retried after the backoff ('retry'). */
  private async headFailed(dev: string, q: DeviceQueue, item: StoredReport, err: unknown): Promise<'done' | 'retry'> {
    const seq = item.seq;
    // Abandoned by the stop (already said by abandon()): the report stays in the queue, untouched.
    if (this.abandoned) return 'retry';
    if (this.stopped && !(err instanceof PermanentError || err instanceof ReportError || err instanceof Fenced)) {
      // Cut short by the stop (a call aborted, the connection closed), or failing while it waits: not retried, so
      // not a failure to report; the report stays in the queue for the next start.
      this.events.emit('push.abandoned', { seq, thing: dev, error: (err as Error).message });
      return 'retry';
    }
    // A push refused while another session holds the Thing waits for it to let go (the bind check binds it
    // again): neither forgotten (that would bind it, a fight) nor dead-lettered.
    const stubborn = isStubborn(err) && !this.provisioner.heldElsewhere(dev);
    if (stubborn) this.provisioner.forget(dev);
    if (err instanceof Fenced) {
      this.options.dropped?.(seq);
      this.events.emit('push.fenced', { seq, thing: dev });
      q.attempt = 0;
      return 'done';
    }
    if (
      err instanceof PermanentError ||
      err instanceof ReportError ||
      (stubborn && q.attempt + 1 >= (this.options.stubbornAttempts ?? 5))
    ) {
      const reason = (err as Error).message;
      await this.queue.deadLetter(seq, reason);
      this.events.emit('dead.letter', { seq, devEui: dev, kind: item.kind, reason });
      q.attempt = 0;
      return 'done';
    }
    q.attempt += 1;
    const base = this.options.retryBaseMs ?? 200;
    const retryInMs = backoffDelay(q.attempt, { initialMs: base, maxMs: this.options.retryMaxMs ?? 5000 });
    this.events.emit('push.failed', {
      seq,
      thing: dev,
      error: (err as Error).message,
      attempt: q.attempt,
      retryInMs,
    });
    this.options.failed?.(dev, err, retryInMs);
    q.waiting = true;
    const t = setTimeout(() => {
      this.timers.delete(t);
      q.waiting = false;
      this.ready.push(dev);
      this.pump();
    }, retryInMs);
    this.timers.add(t);
    return 'retry';
  }

  /** The head delivered (or dropped for good): the next report of the device, if any, is ready. */
  private headDone(dev: string, q: DeviceQueue, seq: number): void {
    this.live.delete(seq);
    q.head += 1;
    this.held -= 1;
    if (q.head >= q.items.length) {
      this.devices.delete(dev);
    } else {
      if (q.head > 64) {
        q.items.splice(0, q.head);
        q.head = 0;
      }
      this.ready.push(dev);
    }
  }

  private checkGate(seq: number): void {
    const g = this.options.gate?.(seq) ?? 'ok';
    if (g === 'lost') throw new Fenced(`report ${seq}: its queue has another owner`);
    if (g === 'wait') throw new GateClosed('the fleet lease is not verified yet (broker connection)');
  }

  private decodedPushFailed(thing: string, err: Error): void {
    if (this.abandoned) return; // cut short by the stop (the sink closed under it): nothing failed
    this.events.emit('error', { where: `decoded values of ${thing}`, error: err.message });
  }

  private notifyIdle(): void {
    if (this.depth > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of w) fn();
  }

  /** Resolves true when everything stored is delivered, false at the timeout (or when `signal` aborts). */
  drain(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.held === 0 && this.depth === 0) return Promise.resolve(true);
    return waitOn(this.idleWaiters, timeoutMs, signal);
  }

  /** Opens delivery once ThingWorx is connected and the known Things are bound. */
  setGate(open: boolean): void {
    this.gate = open;
    this.pump();
  }

  /** Devices with reports waiting. */
  get deviceCount(): number {
    return this.devices.size;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /**
   * Stops starting new work (reports stay in the spool) and waits for what is in flight, for up to `waitMs`: then
   * what is still in flight is abandoned (abandon()). Resolves true when nothing was left in flight.
   */
  async stop(waitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.inFlight === 0) return true;
    const quiet = await waitOn(this.quietWaiters, waitMs);
    if (!quiet) this.abandon();
    return quiet;
  }

  /**
   * Gives up on the pushes in flight (the stop's limit passed): each is reported once (push.abandoned), none is acked
   * or retried here whatever comes back later; their reports stay in the queue for the next start. The calls
   * themselves are cut short by their owners (the provisioner's close() aborts its REST calls; closing the sink
   * rejects its pushes).
   */
  abandon(): void {
    if (this.abandoned) return;
    this.stopped = true;
    this.abandoned = true;
    for (const [dev, q] of this.devices) {
      if (!q.busy) continue;
      const item = q.items[q.head];
      if (item) this.events.emit('push.abandoned', { seq: item.seq, thing: dev });
    }
  }
}

/**
 * Waits for one of `waiters` to be called (true; the list's owner calls and empties it), or for `timeoutMs` (none
 * when infinite) or `signal` (false): then the waiter is taken off the list.
 */
function waitOn(waiters: (() => void)[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const k = waiters.indexOf(onCall);
      if (k >= 0) waiters.splice(k, 1);
      resolve(ok);
    };
    const onCall = () => done(true);
    const onAbort = () => done(false);
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => done(false), Math.max(0, timeoutMs)) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    waiters.push(onCall);
  });
}
