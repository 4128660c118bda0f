/**
 * What the sandbox knows about its devices and its traffic, built only from what happened: the simulator's
 * uplinks and the bridge's events (push.acked, dead.letter, downlink.sent, downlink.report, …). The live table,
 * the NDJSON events and the summary all read it.
 */
import { EventEmitter } from 'node:events';
import type { BridgeEventMap, BridgeEventName } from '../../bridge/index.js';
import type { UplinkOutcome } from './devices.js';

export type DownlinkState = 'written' | 'queued' | 'sent' | 'not_sent' | 'rejected' | 'failed';

export interface DownlinkInfo {
  correlationId: string;
  fport: number;
  payloadHex: string;
  state: DownlinkState;
  reason?: string;
  writtenAt: number;
  /** Counted in the summary (written by the simulator, not by another terminal). */
  simulated: boolean;
}

export interface DeviceRow {
  devEui: string;
  sent: number;
  delivered: number;
  fcnt?: number;
  rssi?: number;
  snr?: number;
  spreadingFactor?: number;
  /** When the latest uplink of this device reached ThingWorx. */
  lastDeliveredAt?: number;
  lastDownlink?: DownlinkInfo;
  /** The latest uplink as its payload driver decoded it, in short. */
  decoded?: string;
}

export interface SandboxSummary {
  durationMs: number;
  /** Devices that sent at least one uplink. */
  devicesSending: number;
  uplinks: { sent: number; accepted: number; duplicates: number; rejected: number; delivered: number; lost: number };
  /**
   * `taken`: written while another connector held the device's Thing (another bridge with the same Things): not
   * delivered through this bridge, and not lost by it; `lost` does not count them.
   */
  downlinks: { sent: number; queued: number; confirmed: number; failed: number; taken: number; lost: number };
  /** Things another session holds now (taken from this bridge). */
  thingsTaken: number;
  /** Reports of other senders (e.g. `tpx uplink send` from another terminal) the bridge delivered. */
  otherDelivered: number;
}

const TERMINAL = new Set<DownlinkState>(['sent', 'not_sent', 'rejected', 'failed']);

export class Tracker {
  readonly rows = new Map<string, DeviceRow>();
  /** 'change' after every update; 'delivered', 'downlink' with details (the NDJSON stream listens). */
  readonly events = new EventEmitter();
  private readonly pending = new Map<number, { devEui: string; fcnt: number }>();
  private readonly downlinks = new Map<string, { devEui: string; info: DownlinkInfo }>();
  private startedAt = Date.now();
  private t = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, delivered: 0, dead: 0 };
  private readonly ackedEarly = new Map<number, { latencyMs: number }>();
  /** When another session held each device's Thing (from the bridge's bind check), oldest first. */
  private readonly takenSpans = new Map<string, { from: number; to?: number }[]>();
  /** How long before its detection a takeover may have started (the bridge's bind check interval). */
  takenLeadMs = 10_000;

  /** The bridge found this device's Thing held by another session. */
  thingTaken(devEui: string, now = Date.now()): void {
    const spans = this.takenSpans.get(devEui) ?? [];
    if (spans.at(-1)?.to === undefined && spans.length) return;
    spans.push({ from: now });
    this.takenSpans.set(devEui, spans);
    this.events.emit('change');
  }

  /** The bridge holds this device's Thing again. */
  thingRecovered(devEui: string, now = Date.now()): void {
    const last = this.takenSpans.get(devEui)?.at(-1);
    if (last && last.to === undefined) last.to = now;
    this.events.emit('change');
  }

  /** Whether another session held the device's Thing at `t` (or may have, just before the bridge noticed). */
  private takenAt(devEui: string, t: number): boolean {
    return (this.takenSpans.get(devEui) ?? []).some((s) => t >= s.from - this.takenLeadMs && t <= (s.to ?? Infinity));
  }

  /** Whether a downlink was written while another session held its Thing (it cannot go through this bridge). */
  takenDownlink(devEui: string, info: DownlinkInfo): boolean {
    return info.state !== 'sent' && this.takenAt(devEui, info.writtenAt);
  }

  /** Things held by another session now. */
  get thingsTaken(): number {
    let n = 0;
    for (const spans of this.takenSpans.values()) if (spans.at(-1) && spans.at(-1)!.to === undefined) n += 1;
    return n;
  }

  /** The summary's duration counts from now (when the traffic starts). */
  restartClock(): void {
    this.startedAt = Date.now();
  }

  row(devEui: string): DeviceRow {
    let r = this.rows.get(devEui);
    if (!r) {
      r = { devEui, sent: 0, delivered: 0 };
      this.rows.set(devEui, r);
    }
    return r;
  }

  uplinkSent(o: UplinkOutcome): void {
    const r = this.row(o.devEui);
    r.sent += 1;
    this.t.sent += 1;
    if (o.seq !== undefined) {
      this.t.accepted += 1;
      const early = this.ackedEarly.get(o.seq);
      if (early) {
        // The bridge delivered it before its HTTP answer reached the simulator (the row already counts it).
        this.ackedEarly.delete(o.seq);
        this.t.delivered += 1;
        this.events.emit('delivered', { devEui: o.devEui, fcnt: o.fcnt, seq: o.seq, latencyMs: early.latencyMs });
      } else this.pending.set(o.seq, { devEui: o.devEui, fcnt: o.fcnt });
    } else if (o.duplicate) this.t.duplicates += 1;
    else this.t.rejected += 1;
    r.fcnt = o.fcnt;
    r.rssi = o.radio.rssi;
    r.snr = o.radio.snr;
    r.spreadingFactor = o.radio.spreadingFactor;
    this.events.emit('change');
  }

  downlinkWritten(devEui: string, info: Omit<DownlinkInfo, 'state' | 'writtenAt'>): void {
    const d: DownlinkInfo = { ...info, state: 'written', writtenAt: Date.now() };
    this.downlinks.set(info.correlationId, { devEui, info: d });
    this.row(devEui).lastDownlink = d;
    this.changed(devEui, d);
  }

  downlinkFailed(correlationId: string, reason: string): void {
    const d = this.downlinks.get(correlationId);
    if (!d || TERMINAL.has(d.info.state)) return;
    d.info.state = 'failed';
    d.info.reason = reason;
    this.changed(d.devEui, d.info);
  }

  private changed(devEui: string, info: DownlinkInfo): void {
    this.events.emit('downlink', { devEui, ...info });
    this.events.emit('change');
  }

  /** Downlinks the bridge sent to ThingPark and that wait for their DevEUI_downlink_Sent report. */
  queuedDownlinks(): { devEui: string; info: DownlinkInfo }[] {
    return [...this.downlinks.values()].filter((d) => d.info.state === 'queued');
  }

  onBridgeEvent<K extends BridgeEventName>(name: K, payload: BridgeEventMap[K]): void {
    if (name === 'push.acked') {
      const p = payload as BridgeEventMap['push.acked'];
      if (p.kind !== 'uplink') return;
      const mine = this.pending.get(p.seq);
      if (!mine) {
        // From another sender (e.g. `tpx uplink send` in another terminal), or from the simulator before the
        // bridge's answer arrived (uplinkSent() claims it then): shown now, counted once its sender is known.
        this.ackedEarly.set(p.seq, { latencyMs: p.latencyMs });
        const r = this.row(p.thing);
        r.delivered += 1;
        r.lastDeliveredAt = Date.now();
        this.events.emit('change');
        return;
      }
      this.pending.delete(p.seq);
      this.t.delivered += 1;
      const r = this.row(mine.devEui);
      r.delivered += 1;
      r.lastDeliveredAt = Date.now();
      this.events.emit('delivered', { devEui: mine.devEui, fcnt: mine.fcnt, seq: p.seq, latencyMs: p.latencyMs });
      this.events.emit('change');
    } else if (name === 'dead.letter') {
      const p = payload as BridgeEventMap['dead.letter'];
      if (this.pending.delete(p.seq)) this.t.dead += 1;
      this.events.emit('change');
    } else if (name === 'downlink.sent') {
      const p = payload as BridgeEventMap['downlink.sent'];
      this.downlinkState(p.correlationId, p.thing, p.result, p.reason);
    } else if (name === 'downlink.report') {
      const p = payload as BridgeEventMap['downlink.report'];
      if (p.correlationId) this.downlinkState(p.correlationId, p.thing, p.delivered ? 'sent' : 'not_sent');
    } else if (name === 'downlink.failed' || name === 'downlink.invalid') {
      const p = payload as { thing: string; error?: string; reason?: string };
      const d = this.row(p.thing).lastDownlink;
      if (d && !TERMINAL.has(d.state)) this.downlinkFailed(d.correlationId, p.error ?? p.reason ?? 'failed');
    }
  }

  private downlinkState(correlationId: string, thing: string, state: DownlinkState, reason?: string): void {
    let d = this.downlinks.get(correlationId);
    if (!d) {
      // Written by someone else (e.g. `tpx downlink push` from another terminal): shown, not counted.
      const info: DownlinkInfo = {
        correlationId,
        fport: 0,
        payloadHex: '',
        state: 'written',
        writtenAt: Date.now(),
        simulated: false,
      };
      d = { devEui: thing, info };
      this.downlinks.set(correlationId, d);
      this.row(thing).lastDownlink = info;
    }
    // States only move forward: a late 'queued' never hides the 'sent' report.
    if (TERMINAL.has(d.info.state)) return;
    d.info.state = state;
    if (reason) d.info.reason = reason;
    this.changed(d.devEui, d.info);
  }

  /** Uplinks accepted by the bridge and not yet delivered (nor dead-lettered). */
  get undelivered(): number {
    return this.pending.size;
  }

  /** Simulated downlinks not in a final state yet. */
  get openDownlinks(): number {
    return [...this.downlinks.values()].filter(
      (d) => d.info.simulated && !TERMINAL.has(d.info.state) && !this.takenDownlink(d.devEui, d.info),
    ).length;
  }

  /** Resolves true when test() holds (checked on every change), false after timeoutMs. */
  waitUntil(test: () => boolean, timeoutMs: number): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.events.off('change', check);
        resolve(ok);
      };
      const check = () => {
        if (test()) done(true);
      };
      const timer = setTimeout(() => done(test()), timeoutMs);
      this.events.on('change', check);
    });
  }

  summary(): SandboxSummary {
    const simulated = [...this.downlinks.values()].filter((d) => d.info.simulated);
    const sim = simulated.map((d) => d.info);
    const count = (...s: DownlinkState[]) => sim.filter((d) => s.includes(d.state)).length;
    const taken = simulated.filter((d) => this.takenDownlink(d.devEui, d.info)).length;
    const t = this.t;
    return {
      durationMs: Date.now() - this.startedAt,
      devicesSending: [...this.rows.values()].filter((r) => r.sent > 0).length,
      uplinks: {
        sent: t.sent,
        accepted: t.accepted,
        duplicates: t.duplicates,
        rejected: t.rejected,
        delivered: t.delivered,
        lost: t.sent - t.delivered - t.duplicates,
      },
      downlinks: {
        sent: sim.length,
        queued: count('queued', 'sent', 'not_sent'),
        confirmed: count('sent'),
        failed: count('rejected', 'failed', 'not_sent'),
        taken,
        lost: sim.length - count('sent') - taken,
      },
      thingsTaken: this.thingsTaken,
      otherDelivered: this.ackedEarly.size,
    };
  }
}
