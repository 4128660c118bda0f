/**
 * Delivery from the spool to ThingWorx: one queue per device (in order, one report in flight per device), a
 * global limit on reports in flight, retries with back-off for passing failures (the device waits, keeping its
 * order), the dead-letter table for failures that will not pass. Pauses while ThingWorx is disconnected.
 */
import { performance } from 'node:perf_hooks';
import type { BridgeEvents } from './events.js';
import { type PayloadDecoder, PermanentError, StubbornError, type ThingWorxSink, type TunnelReport } from './ports.js';
import type { Provisioner } from './provisioning.js';
import type { Spool } from './spool.js';
import { reportUpdates } from './values.js';

export interface DeliveryOptions {
  /** Reports in flight across all devices. Default 512. */
  maxInFlight?: number;
  /** First retry delay; doubles up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Reports kept in memory for delivery (the rest is read back from the spool). Default 5000. */
  liveCache?: number;
  /** Attempts before a stubborn failure (refused bind, non-retryable push error) is dead-lettered. Default 5. */
  stubbornAttempts?: number;
  decoder?: PayloadDecoder;
}

/** True for failures waiting alone will not fix: AlwaysOn errors marked not retryable, refused binds. */
function isStubborn(err: unknown): boolean {
  if (err instanceof StubbornError) return true;
  const r = (err as { retryable?: unknown }).retryable;
  return r === false;
}

interface DeviceQueue {
  seqs: number[];
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
  private depthValue = 0;
  private stopped = false;
  private gate = false;
  private readonly startedAt = new Map<number, number>();
  /** Reports accepted by this process, kept until delivered (bounded) so delivery need not read them back. */
  private readonly live = new Map<number, TunnelReport>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  private quietWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly spool: Spool,
    private readonly sink: ThingWorxSink,
    private readonly provisioner: Provisioner,
    private readonly events: BridgeEvents,
    private readonly options: DeliveryOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 512;
  }

  /** Reports accepted and not yet delivered (or dead-lettered). */
  get depth(): number {
    return this.depthValue;
  }

  /** Queues a stored report for delivery. `acceptedAt` (performance.now()) measures ingest -> ack latency. */
  enqueue(devEui: string, seq: number, acceptedAt?: number, report?: TunnelReport): void {
    if (report && this.live.size < (this.options.liveCache ?? 5_000)) this.live.set(seq, report);
    let q = this.devices.get(devEui);
    if (!q) {
      q = { seqs: [], head: 0, busy: false, waiting: false, attempt: 0 };
      this.devices.set(devEui, q);
    }
    q.seqs.push(seq);
    this.depthValue += 1;
    if (acceptedAt !== undefined) this.startedAt.set(seq, acceptedAt);
    if (!q.busy && !q.waiting && q.seqs.length - q.head === 1) this.ready.push(devEui);
    this.pump();
  }

  /** Starts work while there is room; called again when ThingWorx comes back. */
  pump(): void {
    if (this.stopped || !this.gate || !this.sink.isConnected()) return;
    while (this.inFlight < this.maxInFlight && this.readyHead < this.ready.length) {
      const dev = this.ready[this.readyHead++]!;
      const q = this.devices.get(dev);
      if (!q || q.busy || q.waiting || q.head >= q.seqs.length) continue;
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
    const seq = q.seqs[q.head]!;
    let outcome: 'done' | 'retry' = 'done';
    try {
      const cached = this.live.get(seq);
      const rec = cached ? undefined : this.spool.read(seq);
      if (cached || rec) {
        const report = cached ?? (JSON.parse(rec!.body) as TunnelReport);
        const updates = reportUpdates(report);
        const decoded = this.options.decoder ? await this.options.decoder.uplinkUpdates(report) : [];
        if (updates.length > 0) {
          await this.provisioner.ensure(dev);
          await this.sink.push(dev, updates);
          // Decoded values go in a push of their own: a Thing without those properties never costs the raw uplink.
          if (decoded.length > 0)
            await this.sink.push(dev, decoded).catch((e: Error) => this.decodedPushFailed(dev, e));
        }
        if (report.kind === 'downlink_sent') {
          this.events.emit('downlink.report', {
            thing: dev,
            correlationId: report.correlationId,
            delivered: report.deliveryStatus === undefined || report.deliveryStatus === 1,
          });
        }
        this.spool.ack(seq);
        const t0 = this.startedAt.get(seq);
        const latencyMs = t0 !== undefined ? performance.now() - t0 : Date.now() - (rec?.receivedAt ?? Date.now());
        this.events.emit('push.acked', { seq, thing: dev, kind: report.kind, latencyMs });
      }
      q.attempt = 0;
    } catch (err) {
      const stubborn = isStubborn(err);
      if (stubborn) this.provisioner.forget(dev);
      if (err instanceof PermanentError || (stubborn && q.attempt + 1 >= (this.options.stubbornAttempts ?? 5))) {
        const rec = this.spool.read(seq);
        const reason = (err as Error).message;
        this.spool.deadLetter(seq, reason);
        this.events.emit('dead.letter', { seq, devEui: dev, kind: rec?.kind ?? 'uplink', reason });
        q.attempt = 0;
      } else {
        outcome = 'retry';
        q.attempt += 1;
        const base = this.options.retryBaseMs ?? 200;
        const retryInMs = Math.min(this.options.retryMaxMs ?? 5000, base * 2 ** Math.min(q.attempt - 1, 10));
        this.events.emit('push.failed', {
          seq,
          thing: dev,
          error: (err as Error).message,
          attempt: q.attempt,
          retryInMs,
        });
        q.waiting = true;
        const t = setTimeout(() => {
          this.timers.delete(t);
          q.waiting = false;
          this.ready.push(dev);
          this.pump();
        }, retryInMs);
        this.timers.add(t);
      }
    }
    if (outcome === 'done') {
      this.startedAt.delete(seq);
      this.live.delete(seq);
      q.head += 1;
      this.depthValue -= 1;
      if (q.head >= q.seqs.length) {
        this.devices.delete(dev);
      } else {
        if (q.head > 64) {
          q.seqs.splice(0, q.head);
          q.head = 0;
        }
        this.ready.push(dev);
      }
    }
    q.busy = false;
    this.inFlight -= 1;
    if (this.inFlight === 0 && this.quietWaiters.length) {
      const w = this.quietWaiters;
      this.quietWaiters = [];
      for (const fn of w) fn();
    }
    if (this.depthValue === 0) this.notifyIdle();
    this.pump();
  }

  private decodedPushFailed(thing: string, err: Error): void {
    this.events.emit('error', { where: `decoded values of ${thing}`, error: err.message });
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of w) fn();
  }

  /** Resolves true when everything queued is delivered, false at the timeout. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.depthValue === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
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

  /** Stops starting new work (reports stay in the spool); waits for what is in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.inFlight > 0) await new Promise<void>((r) => this.quietWaiters.push(r));
  }
}
