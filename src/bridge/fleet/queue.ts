/**
 * The fleet queue: a ReportQueue on RabbitMQ shared by several bridges (fleet/types.ts has the names).
 *
 * - **Ingest** publishes each report to the x-consistent-hash exchange with the DevEUI as routing key, body = the
 *   tunnel document's text as received, the raw query and the routing facts in headers, persistent, and resolves
 *   `append` only once the broker confirmed the publish (publisher confirms): then ingest answers 2xx.
 * - **Consumption.** The exchange feeds `queues` quorum queues declared with single active consumer; every bridge
 *   consumes (one channel per queue, prefetch `prefetch`), the broker delivers a queue to one consumer at a time and
 *   hands it to the next waiting one when that consumer's channel or connection goes away.
 * - **Ownership = the first delivery.** AMQP 0-9-1 does not tell a waiting consumer that it became active; the first
 *   delivery on a queue's channel does. So a bridge binds a queue's Things lazily, on the first report of each
 *   DevEUI it receives (the report's Thing is bound by provisioning before its push), and knows which Things it
 *   holds per queue. An idle queue owned by this bridge is therefore not shown as owned until a report arrives.
 * - **Hand-over** (`release`): stop handing out the queue's reports, let delivery finish (push, ack) the ones
 *   handed out, unbind the queue's Things, then close the queue's channel: the broker puts the reports it had sent
 *   and that were not acknowledged back in the queue, in order, and only then activates the next consumer. So the
 *   next owner binds after this one unbound, and a device's reports stay in order.
 * - **Fencing.** The send gate (`mayDeliver`) is checked before every bind and push. It is open only while the
 *   broker connection is up and its lease holds: a round trip to the broker sent at time T grants a lease until
 *   T + 3/4 of the AMQP heartbeat (the broker drops a silent connection no sooner than one heartbeat after its last
 *   frame). A process paused (SIGSTOP) wakes up with an expired lease and pushes nothing until a new round trip on
 *   the same connection succeeded; when the connection is gone, every report it held is dropped (the broker
 *   redelivers it to the new owner) and its Things are released at once.
 * - **Spread.** Single active consumer alone gives every queue to whoever subscribed first. Bridges learn the fleet's
 *   members from the heartbeats on the status exchange (BridgeHeartbeat every `heartbeatMs`); member k of M (sorted
 *   by id) prefers queues i with i mod M = k, subscribes to those at once and to the others (as a stand-by for
 *   failover) after two heartbeats, and hands a queue it is active on back when the member preferring it is alive.
 * - **Duplicates.** A report the broker redelivers (after a failover) whose (DevEUI, FCntUp, payload) this bridge
 *   pushed already, or that equals the Thing's last FCntUp and payload in ThingWorx (read once per device per
 *   ownership, the seed), is acknowledged without a push and counted (`fleet.duplicate`).
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { backoffDelay } from '../../util/backoff.js';
import type { BridgeEvents, ReportKind } from '../events.js';
import type { FleetOptions } from '../options.js';
import { type NewReport, type QueueHealth, QueueUnavailableError, type StoredReport } from '../queue.js';
import { parseHeartbeat, publishHeartbeat } from './heartbeat.js';
import { connectBroker } from './status.js';
import { type BridgeHeartbeat, FLEET_DEFAULTS, type FleetNames, fleetNames } from './types.js';

/** The bridge's fleet settings (url, queues, prefix, bridgeId, heartbeatMs, prefetch) and what the bridge provides. */
export interface FleetQueueOptions extends FleetOptions {
  /** How long a hand-over waits for the queue's reports in delivery before it unbinds anyway. Default 10 s. */
  releaseTimeoutMs?: number;
  events: BridgeEvents;
  /** The routing facts and dedup key of a document (the one report parser). */
  facts(document: string): { devEui: string; kind: ReportKind; fcnt?: number; payload?: string; join?: boolean };
  /** The Thing's last FCntUp and payload in ThingWorx (the dedup seed); undefined when unknown. */
  lastUplink?(thing: string): Promise<{ fcnt?: number; payload?: string } | undefined>;
  /** Releases (unbinds) Things this bridge no longer owns; `now`: fenced, do it at once without waiting. */
  release(things: string[], fenced: boolean): Promise<void>;
  /** Where this bridge's /readyz and /metrics answer (heartbeat). */
  publicUrl?: () => string | undefined;
  /** Facts of the heartbeat the queue does not know. */
  stats?: () => { things: number; ready: boolean; bound?: readonly string[] };
}

type SlotState = 'off' | 'waiting' | 'active' | 'releasing';

type Facts = ReturnType<FleetQueueOptions['facts']>;

/** How long the dedup seed (the Thing's last uplink) is waited for; without it, a redelivery is pushed again. */
const SEED_TIMEOUT_MS = 5_000;

interface Slot {
  index: number;
  name: string;
  state: SlotState;
  ch?: Channel;
  /** Delivered, not yet handed out to delivery. */
  buffer: ConsumeMessage[];
  /** Seqs handed out and not yet acked. */
  out: Set<number>;
  things: Set<string>;
  /** Devices whose dedup seed was read in this ownership. */
  seeded: Map<string, { fcnt?: number; payload?: string }>;
  /** Not before this time (ms): stand-by subscription of a queue preferred by another member. */
  notBefore: number;
  /** When this bridge became the queue's active consumer. */
  acquiredAt: number;
  drained?: () => void;
}

interface Taken {
  slot: Slot;
  ch: Channel;
  msg: ConsumeMessage;
  gen: number;
  devEui: string;
  fcnt?: number;
  payload?: string;
}

export type Gate = 'ok' | 'wait' | 'lost';

export interface FleetStatus {
  bridgeId: string;
  connected: boolean;
  /** The send gate: connection up and lease held. */
  leased: boolean;
  queues: number;
  /** Queues this bridge is the active consumer of (names). */
  owned: string[];
  /** Queues it waits on as a stand-by. */
  standby: number;
  /** Live members (bridge ids, this one included), sorted. */
  members: string[];
  duplicates: number;
  fenced: number;
}

const HEADER = { devEui: 'tpx-dev-eui', kind: 'tpx-kind', query: 'tpx-query', receivedAt: 'tpx-received-at' } as const;

export class FleetQueue {
  readonly names: FleetNames;
  private conn: ChannelModel | undefined;
  private pub: ConfirmChannel | undefined;
  private ctl: Channel | undefined;
  private leaseCh: Channel | undefined;
  private gen = 0;
  private leaseUntil = 0;
  private leasePending = false;
  private readonly slots: Slot[];
  private readonly taken = new Map<number, Taken>();
  private nextSeq = 1;
  private readonly members = new Map<string, { seen: number; hb: BridgeHeartbeat }>();
  private readonly availableListeners: (() => void)[] = [];
  private readonly healthListeners: ((h: QueueHealth) => void)[] = [];
  private readonly gateListeners: ((open: boolean) => void)[] = [];
  /** Recently pushed (DevEUI -> FCntUp -> payload), to recognise redeliveries. */
  private readonly pushed = new Map<string, Map<number, string>>();
  /** (DevEUI, FCntUp, payload) of the reports handed out and not yet acked. */
  private readonly handedKeys = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private startedAt = 0;
  private lastError = 'not connected yet';
  private rr = 0;
  duplicates = 0;
  fencedCount = 0;
  private readonly heartbeatMs: number;
  private readonly leaseMs: number;
  private readonly amqpHeartbeatS: number;

  constructor(private readonly o: FleetQueueOptions) {
    this.names = fleetNames(o.prefix);
    this.heartbeatMs = o.heartbeatMs ?? FLEET_DEFAULTS.heartbeatMs;
    this.amqpHeartbeatS = Math.max(1, Math.ceil(this.heartbeatMs / 1000));
    this.leaseMs = Math.floor(this.amqpHeartbeatS * 750);
    this.slots = Array.from({ length: o.queues }, (_, index) => ({
      index,
      name: this.names.queue(index),
      state: 'off' as SlotState,
      buffer: [],
      out: new Set<number>(),
      things: new Set<string>(),
      seeded: new Map(),
      notBefore: 0,
      acquiredAt: 0,
    }));
  }

  /** Connects in the background (and again after every loss, with the one backoff). */
  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    try {
      const url = new URL(this.o.url);
      url.searchParams.set('heartbeat', String(this.amqpHeartbeatS));
      // a bounded wait (a broker that accepts TCP and never answers would stall the reconnect loop)
      const timeoutMs = Math.max(5_000, 3 * (this.o.heartbeatMs ?? FLEET_DEFAULTS.heartbeatMs));
      const conn = await connectBroker(url.toString(), timeoutMs, undefined, this.o.bridgeId);
      if (this.closed) {
        await conn.close().catch(() => undefined);
        return;
      }
      conn.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      const gen = this.gen + 1;
      conn.on('close', () => this.lost(gen, `broker connection closed: ${this.lastError}`));
      const ctl = await conn.createChannel();
      ctl.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      await this.declare(conn);
      const pub = await conn.createConfirmChannel();
      pub.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      // Heartbeats are consumed with acks and a small prefetch, into a short queue: a paused bridge then holds at
      // most a few, and the broker never throttles (credit flow) the other bridges' channels on its account.
      const own = await ctl.assertQueue('', {
        exclusive: true,
        autoDelete: true,
        arguments: { 'x-max-length': 100, 'x-overflow': 'drop-head' },
      });
      await ctl.bindQueue(own.queue, this.names.status, '');
      await ctl.prefetch(20);
      await ctl.consume(own.queue, (m) => {
        if (!m) return;
        this.heard(m.content);
        safeAck(ctl, m);
      });
      // the lease's round trips get a channel of their own, which publishes nothing
      const lease = await conn.createChannel();
      lease.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      this.gen = gen;
      this.conn = conn;
      this.ctl = ctl;
      this.leaseCh = lease;
      this.pub = pub;
      this.attempt = 0;
      this.startedAt = Date.now();
      await this.renewLease();
      this.events.emit('fleet.connected', { bridgeId: this.o.bridgeId, queues: this.o.queues });
      this.tellHealth();
      this.heartbeat();
      this.timers.push(setInterval(() => void this.renewLease(), Math.max(100, Math.floor(this.leaseMs / 3))));
      this.timers.push(setInterval(() => this.tick(), this.heartbeatMs));
      // members announce themselves within a heartbeat: subscribe once they are known
      this.timers.push(setTimeout(() => this.tick(), Math.min(this.heartbeatMs, 1000) + 100));
    } catch (err) {
      this.lastError = (err as Error).message;
      this.events.emit('error', { where: 'fleet broker', error: this.lastError });
      await this.conn?.close().catch(() => undefined);
      this.conn = undefined;
      this.scheduleReconnect();
    }
  }

  private get events(): BridgeEvents {
    return this.o.events;
  }

  /** The exchanges and queues (idempotent; a declaration another tool made with other arguments is kept). */
  private async declare(conn: ChannelModel): Promise<void> {
    const step = async (fn: (ch: Channel) => Promise<unknown>) => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        await fn(ch);
        await ch.close();
      } catch (err) {
        // 406 PRECONDITION_FAILED: it exists with other arguments; the channel is closed by the broker
        if (!/PRECONDITION_FAILED/.test((err as Error).message)) throw err;
      }
    };
    await step((ch) => ch.assertExchange(this.names.uplinks, 'x-consistent-hash', { durable: true }));
    await step((ch) => ch.assertExchange(this.names.status, 'fanout', { durable: true }));
    await step(async (ch) => {
      for (const s of this.slots) {
        await ch.assertQueue(s.name, {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
        });
        await ch.bindQueue(s.name, this.names.uplinks, '1');
      }
      await ch.assertQueue(this.deadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    });
  }

  /** Where reports that failed for good go (with the reason in a header). */
  get deadQueue(): string {
    return this.names.dead;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, { initialMs: 200, maxMs: 5_000 });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  /** The connection is gone: fence at once (nothing more is pushed for what it held), then reconnect. */
  private lost(gen: number, reason: string): void {
    if (gen !== this.gen || !this.conn) return;
    this.gen += 1;
    this.conn = undefined;
    this.pub = undefined;
    this.ctl = undefined;
    this.leaseCh = undefined;
    this.leaseUntil = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    const things: string[] = [];
    let queues = 0;
    for (const s of this.slots) {
      if (s.state === 'active' || s.state === 'releasing') queues += 1;
      things.push(...s.things);
      this.resetSlot(s);
      s.drained?.();
    }
    this.taken.clear();
    this.handedKeys.clear();
    this.fencedCount += 1;
    this.events.emit('fleet.fenced', { reason, queues, things: things.length });
    this.tellGate(false);
    this.tellHealth();
    if (things.length) void this.o.release(things, true).catch(() => undefined);
    this.scheduleReconnect();
  }

  private resetSlot(s: Slot): void {
    s.state = 'off';
    s.ch = undefined;
    s.buffer = [];
    s.out.clear();
    s.things.clear();
    s.seeded.clear();
  }

  /** A round trip on the connection; the lease runs from when it was sent. */
  private async renewLease(): Promise<void> {
    const ctl = this.leaseCh;
    if (!ctl || this.leasePending) return;
    const gen = this.gen;
    const sentAt = Date.now();
    this.leasePending = true;
    try {
      await ctl.checkExchange(this.names.status);
      if (gen !== this.gen) return;
      const wasOpen = this.gateOpen();
      this.leaseUntil = sentAt + this.leaseMs;
      if (!wasOpen) this.tellGate(true);
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.leasePending = false;
    }
  }

  /** True while reports may be pushed: connected, lease held. */
  gateOpen(): boolean {
    return this.conn !== undefined && Date.now() < this.leaseUntil;
  }

  onGate(listener: (open: boolean) => void): void {
    this.gateListeners.push(listener);
  }

  private tellGate(open: boolean): void {
    for (const fn of this.gateListeners) fn(open);
  }

  /** The send gate, checked before every bind and push of a taken report. */
  mayDeliver(seq: number): Gate {
    if (seq <= 0) return 'ok';
    const t = this.taken.get(seq);
    if (!t || t.gen !== this.gen || t.slot.ch !== t.ch) return 'lost';
    if (!this.gateOpen()) {
      void this.renewLease();
      return 'wait';
    }
    return 'ok';
  }

  private heard(content: Buffer): void {
    const hb = parseHeartbeat(content);
    if (!hb) return;
    this.members.set(hb.bridgeId, { seen: Date.now(), hb });
  }

  /** Live members, sorted (this bridge always included). */
  liveMembers(): string[] {
    const now = Date.now();
    const ids = new Set([this.o.bridgeId]);
    for (const [id, m] of this.members) {
      if (now - m.seen <= 3 * this.heartbeatMs) ids.add(id);
      else if (now - m.seen > 60 * this.heartbeatMs) this.members.delete(id);
    }
    return [...ids].sort();
  }

  private preferredBy(index: number, members: string[]): string {
    return members[index % members.length]!;
  }

  private heartbeat(): void {
    const ctl = this.ctl;
    if (!ctl) return;
    const s = this.o.stats?.();
    const url = this.o.publicUrl?.();
    const hb: BridgeHeartbeat = {
      bridgeId: this.o.bridgeId,
      time: new Date().toISOString(),
      queues: this.ownedQueues(),
      things: s?.things ?? 0,
      inFlight: this.taken.size,
      ready: (s?.ready ?? true) && this.gateOpen(),
      ...(url ? { url } : {}),
      pid: process.pid,
      ...(s?.bound ? { bound: [...s.bound] } : {}),
    };
    try {
      publishHeartbeat(ctl, this.names, hb);
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  /** Every heartbeat: announce, subscribe where due, hand surplus queues to the members preferring them. */
  private tick(): void {
    if (!this.conn || this.closed) return;
    this.heartbeat();
    const members = this.liveMembers();
    const now = Date.now();
    const settled = now - this.startedAt >= Math.min(this.heartbeatMs, 1000);
    if (!settled) return;
    for (const s of this.slots) {
      const preferred = this.preferredBy(s.index, members);
      const mine = preferred === this.o.bridgeId;
      if (s.state === 'off') {
        if (mine || (s.notBefore > 0 && now >= s.notBefore)) void this.subscribe(s);
        else if (s.notBefore === 0) s.notBefore = now + 2 * this.heartbeatMs;
      } else if (s.state === 'active' && !mine && (this.members.get(preferred)?.seen ?? 0) > s.acquiredAt) {
        // handed back only to a member heard since this bridge got the queue: not to one that just died
        void this.release(s, 'rebalance');
      }
    }
  }

  private async subscribe(s: Slot): Promise<void> {
    const conn = this.conn;
    if (!conn || s.state !== 'off') return;
    s.state = 'waiting';
    const gen = this.gen;
    try {
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      ch.on('close', () => {
        if (s.ch === ch && gen === this.gen && s.state !== 'releasing') this.slotLost(s, 'channel closed');
      });
      await ch.prefetch(this.o.prefetch ?? 32);
      s.ch = ch;
      await ch.consume(s.name, (m) => (m ? this.delivered(s, ch, m) : this.slotLost(s, 'consumer cancelled')), {
        noAck: false,
      });
    } catch (err) {
      this.lastError = (err as Error).message;
      if (gen === this.gen) this.resetSlot(s);
    }
  }

  /** One queue's channel went away without the connection: its reports go back to the broker. */
  private slotLost(s: Slot, reason: string): void {
    const things = [...s.things];
    const was = s.state;
    for (const seq of s.out) this.dropTaken(seq);
    this.resetSlot(s);
    s.notBefore = Date.now() + 2 * this.heartbeatMs;
    if (was === 'active') this.events.emit('fleet.released', { queue: s.name, reason, things: things.length });
    if (things.length) void this.o.release(things, true).catch(() => undefined);
  }

  private delivered(s: Slot, ch: Channel, m: ConsumeMessage): void {
    if (s.ch !== ch) return;
    if (s.state === 'waiting') {
      s.state = 'active';
      s.acquiredAt = Date.now();
      this.events.emit('fleet.acquired', { queue: s.name });
    }
    s.buffer.push(m);
    if (s.state === 'active') for (const fn of this.availableListeners) fn();
  }

  // ---- ReportQueue ----

  /** Publishes the report (confirmed by the broker); resolves 0 (the fleet has no local sequence). */
  append(report: NewReport): Promise<number> {
    const pub = this.pub;
    if (!pub || this.closed) {
      return Promise.reject(
        new QueueUnavailableError('storage', `The fleet broker is not reachable: ${this.lastError}`, {
          cause: this.lastError,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      try {
        pub.publish(
          this.names.uplinks,
          report.devEui,
          Buffer.from(report.document, 'utf8'),
          {
            persistent: true,
            contentType: 'application/json',
            timestamp: Math.floor(report.receivedAt / 1000),
            headers: {
              [HEADER.devEui]: report.devEui,
              [HEADER.kind]: report.kind,
              [HEADER.query]: report.query,
              [HEADER.receivedAt]: report.receivedAt,
            },
          },
          (err) => {
            if (err) {
              reject(new QueueUnavailableError('storage', 'The fleet broker did not confirm the report.', {}));
            } else resolve(0);
          },
        );
      } catch (err) {
        reject(new QueueUnavailableError('storage', (err as Error).message, { cause: (err as Error).message }));
      }
    });
  }

  /** Reports delivered to this bridge's active queues, per queue in order; redelivered repeats are acked here. */
  async take(max: number): Promise<StoredReport[]> {
    const active = this.slots.filter((s) => s.state === 'active' && s.buffer.length > 0);
    if (active.length === 0) return [];
    const gen = this.gen;
    // round robin over the queues, each queue's reports in order
    const picked: { s: Slot; ch: Channel; m: ConsumeMessage; facts: Facts }[] = [];
    let progressed = true;
    const start = this.rr++ % active.length;
    while (picked.length < max && progressed) {
      progressed = false;
      for (let k = 0; k < active.length && picked.length < max; k++) {
        const s = active[(start + k) % active.length]!;
        const m = s.buffer.shift();
        if (!m || !s.ch) continue;
        progressed = true;
        picked.push({ s, ch: s.ch, m, facts: this.factsOf(m) });
      }
    }
    // the dedup seeds of redelivered reports, read in parallel (a slow read never holds delivery long)
    const seeds = new Map<string, Promise<void>>();
    for (const p of picked) {
      const dev = p.facts.devEui;
      if (!p.m.fields.redelivered || p.facts.fcnt === undefined || !this.o.lastUplink) continue;
      if (p.s.seeded.has(dev) || seeds.has(dev)) continue;
      seeds.set(dev, this.seed(p.s, dev));
    }
    if (seeds.size > 0) await Promise.all(seeds.values());
    const out: StoredReport[] = [];
    for (const p of picked) {
      const item = this.hand(p.s, p.ch, p.m, p.facts, gen);
      if (item) out.push(item);
    }
    return out;
  }

  private factsOf(m: ConsumeMessage): Facts {
    try {
      return this.o.facts(m.content.toString('utf8'));
    } catch {
      const h = m.properties.headers ?? {};
      return { devEui: String(h[HEADER.devEui] ?? m.fields.routingKey).toUpperCase(), kind: 'uplink' };
    }
  }

  private async seed(s: Slot, devEui: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), SEED_TIMEOUT_MS);
    });
    const seed = await Promise.race([this.o.lastUplink!(devEui).catch(() => undefined), timeout]);
    clearTimeout(timer);
    s.seeded.set(devEui, seed ?? {});
  }

  private hand(s: Slot, ch: Channel, m: ConsumeMessage, facts: Facts, gen: number): StoredReport | undefined {
    // a queue handed over while its take waited (for dedup seeds) hands nothing out: its Things are being unbound,
    // and what it did not hand out goes back to the broker, in order, for the next owner
    if (gen !== this.gen || s.ch !== ch || s.state !== 'active') return undefined;
    const h = m.properties.headers ?? {};
    const devEui = facts.devEui;
    s.things.add(devEui);
    if (facts.join) {
      // the device's counters restart: what was pushed before says nothing about what comes now
      this.pushed.delete(devEui);
      s.seeded.delete(devEui);
    }
    if (facts.fcnt !== undefined && this.isRepeat(s, devEui, facts, m.fields.redelivered)) {
      safeAck(ch, m);
      this.duplicates += 1;
      this.events.emit('fleet.duplicate', { devEui, fcnt: facts.fcnt, queue: s.name });
      return undefined;
    }
    const seq = this.nextSeq++;
    this.taken.set(seq, { slot: s, ch, msg: m, gen, devEui, fcnt: facts.fcnt, payload: facts.payload });
    if (facts.fcnt !== undefined) this.handedKeys.add(`${devEui}|${facts.fcnt}|${facts.payload ?? ''}`);
    s.out.add(seq);
    const receivedAt = Number(h[HEADER.receivedAt]) || (m.properties.timestamp ?? 0) * 1000 || Date.now();
    return {
      seq,
      devEui,
      kind: facts.kind,
      receivedAt,
      document: m.content.toString('utf8'),
      query: typeof h[HEADER.query] === 'string' ? (h[HEADER.query] as string) : '',
    };
  }

  /**
   * A repeat: the same (DevEUI, FCntUp, payload) as a report this bridge holds or pushed (a ThingPark retry that
   * reached another bridge's ingest, or a redelivery); for a redelivered report, also the Thing's last uplink in
   * ThingWorx (the seed: pushed by the previous owner, whose acknowledgement did not reach the broker).
   */
  private isRepeat(s: Slot, devEui: string, f: { fcnt?: number; payload?: string }, redelivered: boolean): boolean {
    const payload = f.payload ?? '';
    if (this.handedKeys.has(`${devEui}|${f.fcnt}|${payload}`)) return true;
    if (this.pushed.get(devEui)?.get(f.fcnt!) === payload) return true;
    if (!redelivered) return false;
    const seed = s.seeded.get(devEui);
    return seed !== undefined && seed.fcnt === f.fcnt && (seed.payload ?? '') === payload;
  }

  onAvailable(listener: () => void): void {
    this.availableListeners.push(listener);
  }

  async ack(seq: number): Promise<void> {
    const t = this.taken.get(seq);
    if (!t) return;
    this.dropTaken(seq);
    if (t.fcnt !== undefined) {
      let m = this.pushed.get(t.devEui);
      if (!m) {
        m = new Map();
        this.pushed.set(t.devEui, m);
      }
      m.set(t.fcnt, t.payload ?? '');
      if (m.size > 8) m.delete(m.keys().next().value!);
      if (this.pushed.size > 50_000) this.pushed.delete(this.pushed.keys().next().value!);
    }
    if (t.gen === this.gen && t.slot.ch === t.ch) safeAck(t.ch, t.msg);
    this.settled(t.slot, seq);
  }

  /** Publishes the report to the dead queue with the reason (confirmed), then acks it. */
  async deadLetter(seq: number, reason: string): Promise<void> {
    const t = this.taken.get(seq);
    const pub = this.pub;
    if (!t) return;
    if (!pub || t.gen !== this.gen) {
      this.dropTaken(seq);
      this.settled(t.slot, seq);
      return;
    }
    await new Promise<void>((resolve) => {
      pub.sendToQueue(
        this.deadQueue,
        t.msg.content,
        {
          persistent: true,
          contentType: 'application/json',
          headers: { ...(t.msg.properties.headers ?? {}), 'tpx-reason': reason, 'tpx-bridge': this.o.bridgeId },
        },
        () => resolve(),
      );
    });
    await this.ack(seq);
  }

  /** A report delivery dropped (fenced): it is not acked; the broker gives it to the queue's owner. */
  forget(seq: number): void {
    const t = this.taken.get(seq);
    if (!t) return;
    this.dropTaken(seq);
    this.settled(t.slot, seq);
  }

  private dropTaken(seq: number): void {
    const t = this.taken.get(seq);
    if (!t) return;
    this.taken.delete(seq);
    if (t.fcnt !== undefined) this.handedKeys.delete(`${t.devEui}|${t.fcnt}|${t.payload ?? ''}`);
  }

  private settled(s: Slot, seq: number): void {
    s.out.delete(seq);
    if (s.out.size === 0) s.drained?.();
  }

  /**
   * Hands a queue back: no more of its reports are handed out, the ones handed out are delivered (acked), its
   * Things are unbound, then its channel closes (what it still held goes back to the queue, in order).
   */
  private async release(s: Slot, reason: string, timeoutMs?: number): Promise<void> {
    if (s.state !== 'active' && s.state !== 'waiting') return;
    const was = s.state;
    const ch = s.ch;
    s.state = 'releasing';
    if (s.out.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs ?? this.o.releaseTimeoutMs ?? 10_000);
        s.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      s.drained = undefined;
    }
    if (s.ch !== ch) return; // fenced meanwhile: already released
    const things = [...s.things];
    for (const seq of [...s.out]) this.dropTaken(seq);
    if (things.length) await this.o.release(things, false).catch(() => undefined);
    s.ch = undefined;
    await ch?.close().catch(() => undefined);
    this.resetSlot(s);
    s.notBefore = Date.now() + 2 * this.heartbeatMs;
    if (was === 'active') this.events.emit('fleet.released', { queue: s.name, reason, things: things.length });
  }

  /** Hands every queue back (a clean stop). */
  async releaseAll(timeoutMs?: number): Promise<void> {
    // the lease keeps being renewed (what is handed out is still pushed); no more subscriptions or heartbeats
    this.closed = true;
    await Promise.all(this.slots.map((s) => this.release(s, 'stopping', timeoutMs)));
  }

  ownedQueues(): string[] {
    return this.slots.filter((s) => s.state === 'active' || s.state === 'releasing').map((s) => s.name);
  }

  status(): FleetStatus {
    return {
      bridgeId: this.o.bridgeId,
      connected: this.conn !== undefined,
      leased: this.gateOpen(),
      queues: this.o.queues,
      owned: this.ownedQueues(),
      standby: this.slots.filter((s) => s.state === 'waiting').length,
      members: this.conn ? this.liveMembers() : [this.o.bridgeId],
      duplicates: this.duplicates,
      fenced: this.fencedCount,
    };
  }

  health(): QueueHealth {
    const depth = this.taken.size + this.slots.reduce((n, s) => n + s.buffer.length, 0);
    return this.pub ? { writable: true, depth } : { writable: false, reason: `fleet broker: ${this.lastError}`, depth };
  }

  depth(): number {
    return this.health().depth;
  }

  onHealth(listener: (h: QueueHealth) => void): void {
    this.healthListeners.push(listener);
  }

  private tellHealth(): void {
    const h = this.health();
    for (const fn of this.healthListeners) fn(h);
  }

  // ---- what intake asks of a queue: the dedup and replay memory stay in this process ----
  dedupSince(): { devEui: string; fcnt: number; payload: string; seenAt: number }[] {
    return [];
  }
  tokensSince(): { token: string; seenAt: number }[] {
    return [];
  }
  pruneMemory(): void {}
  resetDedup(devEui: string): void {
    this.pushed.delete(devEui);
  }
  onReplayed(): void {}
  async settle(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    clearTimeout(this.reconnectTimer);
    const conn = this.conn;
    this.gen += 1;
    this.conn = undefined;
    this.pub = undefined;
    this.ctl = undefined;
    this.leaseCh = undefined;
    await conn?.close().catch(() => undefined);
  }
}

/** Acks on a channel that may have closed meanwhile (the broker redelivers then: at least once). */
function safeAck(ch: Channel, m: ConsumeMessage): void {
  try {
    ch.ack(m);
  } catch {
    // closed: nothing to do
  }
}
