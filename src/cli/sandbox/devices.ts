/**
 * Simulated LoRaWAN devices: deterministic DevEUIs (70B3D57ED0000001, …), each with its own radio conditions,
 * producing realistic DevEUI_uplink documents (climate sensors: temperature, humidity, battery; every third device a
 * valve, drivers.ts) at a total rate, handed to `post` (the ThingPark emulator signs and posts them to the bridge, as ThingPark does).
 */
import { realisticUplink } from '../../bridge/send.js';
import { type DeviceKind, deviceKind, driverCfg, KIND_PORT, valvePayload } from './drivers.js';

export const DEVEUI_PREFIX = '70B3D57ED0';

/** The DevEUI of simulated device n (1-based): 70B3D57ED0000001, 70B3D57ED0000002, … */
export function sandboxDevEui(n: number): string {
  return `${DEVEUI_PREFIX}${n.toString(16).toUpperCase().padStart(6, '0')}`;
}

/** The kind of a sandbox device by its DevEUI (climate for any other DevEUI). */
export function kindOf(devEui: string): DeviceKind {
  const up = devEui.toUpperCase();
  return up.startsWith(DEVEUI_PREFIX) ? deviceKind(Number.parseInt(up.slice(DEVEUI_PREFIX.length), 16)) : 'climate';
}

export interface Radio {
  rssi: number;
  snr: number;
  spreadingFactor: number;
}

/** Radio conditions of device n at frame fcnt: a per-device distance plus a little fading. */
export function radioOf(n: number, fcnt: number): Radio {
  const fading = Math.round(Math.sin(n * 7.3 + fcnt * 0.9) * 3);
  const rssi = -45 - ((n * 17) % 70) + fading;
  const snr = Math.round((12 - ((n * 11) % 30) + fading / 2) * 4) / 4;
  const spreadingFactor = snr >= 0 ? 7 : snr >= -5 ? 8 : snr >= -8 ? 9 : snr >= -11 ? 10 : snr >= -14 ? 11 : 12;
  return { rssi, snr, spreadingFactor };
}

/** A sensor frame: 0x01, temperature (int16, 0.01 °C), humidity (%), battery (uint16, mV). */
export function sensorPayload(n: number, fcnt: number): string {
  const temp = Math.round(2000 + n * 37 + Math.sin(fcnt / 5 + n) * 150);
  const humidity = 40 + ((n * 13 + fcnt) % 30);
  const battery = 3600 - Math.floor(fcnt / 10) - n * 3;
  const b = Buffer.alloc(6);
  b.writeUInt8(0x01, 0);
  b.writeInt16BE(temp, 1);
  b.writeUInt8(humidity, 3);
  b.writeUInt16BE(Math.max(2000, battery), 4);
  return b.toString('hex');
}

/** A DevEUI_uplink of device n, frame fcnt. */
export function deviceUplink(n: number, fcnt: number, time = new Date()): { DevEUI_uplink: Record<string, unknown> } {
  const devEui = sandboxDevEui(n);
  const kind = deviceKind(n);
  const payloadHex = kind === 'valve' ? valvePayload(devEui, n, fcnt) : sensorPayload(n, fcnt);
  const doc = realisticUplink({ devEui, fport: KIND_PORT[kind], fcnt, payloadHex, time });
  const r = radioOf(n, fcnt);
  const u = doc.DevEUI_uplink;
  u.LrrRSSI = r.rssi;
  u.LrrSNR = r.snr;
  u.LrrESP = r.rssi - 1;
  u.SpFact = r.spreadingFactor;
  u.Lrrs = { Lrr: [{ Lrrid: '08040059', Chain: 0, LrrRSSI: r.rssi, LrrSNR: r.snr, LrrESP: r.rssi - 1 }] };
  u.CustomerData = { alr: { pro: 'LORA/Generic', ver: '1' }, name: `tpx sandbox device ${n}` };
  u.DriverCfg = driverCfg(kind);
  return doc;
}

export interface UplinkOutcome {
  devEui: string;
  n: number;
  fcnt: number;
  radio: Radio;
  payloadHex: string;
  /** HTTP status of the bridge's answer (0: no answer). */
  status: number;
  /** Spool sequence number when accepted. */
  seq?: number;
  duplicate: boolean;
  error?: string;
}

export interface SimulatorOptions {
  devices: number;
  /** Uplinks per second, all devices together. */
  rate: number;
  /** Sends one document; resolves with the bridge's answer. */
  post: (doc: unknown) => Promise<{ status: number; body: string }>;
  /** After each answer. */
  onUplink: (o: UplinkOutcome) => void;
  /** Requests in flight at most (default 64); beyond, the simulator falls behind and catches up. */
  maxInFlight?: number;
}

export class DeviceSimulator {
  private readonly fcnt: number[];
  private next = 0;
  private sent = 0;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: SimulatorOptions) {
    this.fcnt = Array.from({ length: o.devices }, () => 0);
  }

  start(): void {
    if (this.timer || this.o.rate <= 0 || this.o.devices <= 0) return;
    this.started = performance.now();
    const period = Math.max(5, Math.min(100, 1000 / this.o.rate));
    this.timer = setInterval(() => this.tick(), period);
    this.tick();
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.started) / 1000) * this.o.rate) + 1;
    const max = this.o.maxInFlight ?? 64;
    while (this.sent < due && this.inFlight.size < max) {
      this.sent += 1;
      const i = this.next;
      this.next = (this.next + 1) % this.o.devices;
      const p = this.sendOne(i + 1);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private async sendOne(n: number): Promise<void> {
    this.fcnt[n - 1]! += 1;
    const fcnt = this.fcnt[n - 1]!;
    const doc = deviceUplink(n, fcnt);
    const u = doc.DevEUI_uplink;
    const out: UplinkOutcome = {
      devEui: String(u.DevEUI),
      n,
      fcnt,
      radio: radioOf(n, fcnt),
      payloadHex: String(u.payload_hex),
      status: 0,
      duplicate: false,
    };
    try {
      const r = await this.o.post(doc);
      out.status = r.status;
      if (r.status === 202 || r.status === 200) {
        const body = JSON.parse(r.body) as { status?: string; seq?: number };
        out.duplicate = body.status === 'duplicate';
        if (typeof body.seq === 'number') out.seq = body.seq;
      } else {
        out.error = `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
      }
    } catch (err) {
      out.error = (err as Error).message;
    }
    this.o.onUplink(out);
  }

  /** Stops sending and waits for the answers of requests in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
