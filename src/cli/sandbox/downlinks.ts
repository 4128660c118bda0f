/**
 * Simulated application downlinks: now and then, a device whose Thing exists gets a downlink written to its
 * `downlink` property through the ThingWorx REST API (as a ThingWorx application does). The bridge signs it and
 * sends it to the ThingPark emulator; like a class A device, the network transmits it after the device's next
 * uplink, when the sandbox posts the DevEUI_downlink_Sent report ThingPark would.
 */
import { randomBytes } from 'node:crypto';
import { kindOf } from './devices.js';
import { valveCommand } from './drivers.js';
import type { Tracker } from './tracker.js';

export interface DownlinkSimulatorOptions {
  /** Milliseconds between two downlinks (0: none). */
  everyMs: number;
  tracker: Tracker;
  /** Writes the Thing's `downlink` property (REST). */
  write: (thing: string, value: Record<string, unknown>) => Promise<void>;
  /** Posts a DevEUI_downlink_Sent report to the bridge (signed like ThingPark's). */
  report: (doc: unknown) => Promise<{ status: number; body: string }>;
  onError: (message: string) => void;
}

/** A downlink payload an application might send: a command byte and a setting. */
export function commandPayload(k: number): string {
  const b = Buffer.from([0x02, k % 256, (k * 37) % 256]);
  return b.toString('hex');
}

export function downlinkSentReport(
  devEui: string,
  d: { fport: number; correlationId: string },
  fcntDn: number,
  fcntUp: number | undefined,
): { DevEUI_downlink_Sent: Record<string, unknown> } {
  return {
    DevEUI_downlink_Sent: {
      Time: new Date().toISOString().replace('Z', '+00:00'),
      DevEUI: devEui,
      FPort: d.fport,
      FCntDn: fcntDn,
      ...(fcntUp !== undefined ? { FCntUp: fcntUp } : {}),
      Lrcid: '00000065',
      DevLrrCnt: 1,
      Lrrid: '08040059',
      DeliveryStatus: 1,
      TransmissionSlot: 1,
      CorrelationID: d.correlationId,
    },
  };
}

export class DownlinkSimulator {
  private timer: NodeJS.Timeout | undefined;
  private k = 0;
  private readonly fcntDn = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly reported = new Set<string>();

  constructor(private readonly o: DownlinkSimulatorOptions) {}

  start(): void {
    if (this.o.everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.writeOne(), this.o.everyMs);
  }

  /** The next device (round robin) whose Thing has received an uplink and has no downlink under way. */
  private pick(): string | undefined {
    const rows = [...this.o.tracker.rows.values()].filter(
      (r) =>
        r.sent > 0 && r.delivered > 0 && (!r.lastDownlink || !['written', 'queued'].includes(r.lastDownlink.state)),
    );
    if (rows.length === 0) return undefined;
    return rows[this.k % rows.length]!.devEui;
  }

  private writeOne(): void {
    const devEui = this.pick();
    if (!devEui) return;
    this.k += 1;
    const correlationId = randomBytes(8).toString('hex').toUpperCase();
    // Valves get a JSON command, encoded by their payload driver in the bridge; sensors a hex one.
    const valve = kindOf(devEui) === 'valve' ? valveCommand(devEui) : undefined;
    const payloadHex = valve?.payloadHex ?? commandPayload(this.k);
    const fport = 3;
    this.o.tracker.downlinkWritten(devEui, { correlationId, fport, payloadHex, simulated: true });
    const value = valve
      ? { data: valve.data, CorrelationID: correlationId }
      : { FPort: fport, payload_hex: payloadHex, CorrelationID: correlationId };
    this.track(
      this.o
        .write(devEui, value)
        .catch((err: Error) => this.o.tracker.downlinkFailed(correlationId, `ThingWorx write: ${err.message}`)),
    );
  }

  /** Called after each uplink of a device: its queued downlinks go out in the receive window. */
  afterUplink(devEui: string): void {
    for (const d of this.o.tracker.queuedDownlinks()) if (d.devEui === devEui) this.sendReport(d.devEui, d.info);
  }

  /** Posts the reports of every queued downlink (at the end of a run). */
  flushReports(): void {
    for (const d of this.o.tracker.queuedDownlinks()) this.sendReport(d.devEui, d.info);
  }

  private sendReport(devEui: string, d: { fport: number; correlationId: string }): void {
    if (this.reported.has(d.correlationId)) return;
    this.reported.add(d.correlationId);
    const n = (this.fcntDn.get(devEui) ?? 0) + 1;
    this.fcntDn.set(devEui, n);
    const fcntUp = this.o.tracker.rows.get(devEui)?.fcnt;
    this.track(
      this.o.report(downlinkSentReport(devEui, d, n, fcntUp)).then(
        (r) => {
          if (r.status >= 300)
            this.o.onError(`the bridge refused a DevEUI_downlink_Sent report: HTTP ${r.status} ${r.body}`);
        },
        (err: Error) => this.o.onError(`DevEUI_downlink_Sent report not posted: ${err.message}`),
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    const q = p.then(() => undefined);
    this.inFlight.add(q);
    void q.finally(() => this.inFlight.delete(q));
  }

  /** Stops writing new downlinks (reports can still be flushed) and waits for writes in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.settle();
  }

  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
