/**
 * The sandbox's device kinds and the payload drivers written for them (tpx's own, LoRa Alliance TS013 functions):
 * a climate sensor (the 0x01 frame: temperature, humidity, battery) and a valve (0x10 frame: open/closed, flow,
 * battery) that obeys downlink commands. Their uplinks carry DriverCfg as ThingPark sends it for a catalogue device,
 * and the drivers are assigned by DriverCfg.id. The valve's state follows the downlinks that reached ThingPark.
 */
import type { JsonSchema } from '../../drivers/types.js';

export type DeviceKind = 'climate' | 'valve';

/** Device n's kind: every third device (2, 5, 8, …) is a valve, the others climate sensors. */
export function deviceKind(n: number): DeviceKind {
  return n % 3 === 2 ? 'valve' : 'climate';
}

export const KIND_PORT: Record<DeviceKind, number> = { climate: 2, valve: 3 };

/** The DriverCfg of a kind's uplinks (what ThingPark adds for a device model of its catalogue). */
export function driverCfg(kind: DeviceKind): Record<string, unknown> {
  const m = { pId: 'tpx', mId: `sandbox-${kind}`, ver: '1' };
  return { mod: m, app: m, id: `tpx:sandbox-${kind}:1` };
}

/** Valves open (true) or closed, by DevEUI (closed at start): changed only by the downlinks ThingPark accepted. */
const valves = new Map<string, boolean>();

/** A downlink reached the network: a valve command changes the valve. */
export function applyDownlink(devEui: string, fPort: number, payloadHex: string): void {
  const b = Buffer.from(payloadHex, 'hex');
  if (fPort === KIND_PORT.valve && b[0] === 0x20 && b.length >= 2) valves.set(devEui.toUpperCase(), b[1] === 1);
}

/** A valve frame: 0x10, state (1 open), flow (uint16, L/h; 0 when closed), battery (%). */
export function valvePayload(devEui: string, n: number, fcnt: number): string {
  const open = valves.get(devEui.toUpperCase()) ?? false;
  const flow = open ? 400 + ((n * 53 + fcnt * 7) % 200) : 0;
  const battery = Math.max(5, 100 - Math.floor(fcnt / 20) - (n % 7));
  return Buffer.from([0x10, open ? 1 : 0, (flow >> 8) & 255, flow & 255, battery]).toString('hex');
}

/** The downlink the sandbox's application writes to a valve: JSON, encoded by the valve's driver. */
export function valveCommand(devEui: string): { data: { valve: 'open' | 'close' }; payloadHex: string } {
  const open = !(valves.get(devEui.toUpperCase()) ?? false);
  return { data: { valve: open ? 'open' : 'close' }, payloadHex: open ? '2001' : '2000' };
}

export interface SandboxDriverSource {
  kind: DeviceKind;
  name: string;
  code: string;
  uplinkSchema: JsonSchema;
  downlinkSchema?: JsonSchema;
  examples: unknown[];
}

const CLIMATE = `// tpx sandbox climate sensor, fPort 2: 0x01, temperature (int16 BE, 0.01 °C), humidity (%), battery (uint16 BE, mV).
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 6 || b[0] !== 1) return { errors: ['not a climate frame'], warnings: [] };
  var t = (b[1] << 8) | b[2];
  if (t > 32767) t -= 65536;
  return { data: { temperature: t / 100, humidity: b[3], batteryVoltage: ((b[4] << 8) | b[5]) / 1000 }, errors: [], warnings: [] };
}
`;

const VALVE = `// tpx sandbox valve, fPort 3. Uplink: 0x10, state (1 open), flow (uint16 BE, L/h), battery (%).
// Downlink: 0x20, 1 open / 0 close.
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 5 || b[0] !== 0x10) return { errors: ['not a valve frame'], warnings: [] };
  return { data: { valve: b[1] === 1 ? 'open' : 'closed', flow: (b[2] << 8) | b[3], battery: b[4] }, errors: [], warnings: [] };
}
function encodeDownlink(input) {
  var v = input.data && input.data.valve;
  if (v !== 'open' && v !== 'close') return { errors: ['valve must be "open" or "close"'], warnings: [] };
  return { fPort: 3, bytes: [0x20, v === 'open' ? 1 : 0], errors: [], warnings: [] };
}
function decodeDownlink(input) {
  if (input.bytes[0] !== 0x20) return { errors: ['unknown command'], warnings: [] };
  return { data: { valve: input.bytes[1] === 1 ? 'open' : 'close' }, errors: [], warnings: [] };
}
`;

export const SANDBOX_DRIVERS: SandboxDriverSource[] = [
  {
    kind: 'climate',
    name: 'sandbox-climate',
    code: CLIMATE,
    uplinkSchema: {
      type: 'object',
      properties: {
        temperature: { type: 'number', description: 'Temperature (°C)' },
        humidity: { type: 'number', description: 'Relative humidity (%)' },
        batteryVoltage: { type: 'number', description: 'Battery (V)' },
      },
    },
    examples: [
      {
        type: 'uplink',
        description: '22.5 °C, 55 %, 3.6 V',
        input: { bytes: '0108ca370e10', fPort: 2, recvTime: '2026-01-01T00:00:00.000Z' },
        output: { data: { temperature: 22.5, humidity: 55, batteryVoltage: 3.6 }, errors: [], warnings: [] },
      },
    ],
  },
  {
    kind: 'valve',
    name: 'sandbox-valve',
    code: VALVE,
    uplinkSchema: {
      type: 'object',
      properties: {
        valve: { type: 'string', description: 'open or closed' },
        flow: { type: 'number', description: 'Flow (L/h)' },
        battery: { type: 'number', description: 'Battery (%)' },
      },
    },
    downlinkSchema: { type: 'object', properties: { valve: { type: 'string', enum: ['open', 'close'] } } },
    examples: [
      {
        type: 'uplink',
        description: 'open, 450 L/h, 97 %',
        input: { bytes: '100101c261', fPort: 3, recvTime: '2026-01-01T00:00:00.000Z' },
        output: { data: { valve: 'open', flow: 450, battery: 97 }, errors: [], warnings: [] },
      },
      {
        type: 'downlink-encode',
        description: 'close the valve',
        input: { data: { valve: 'close' } },
        output: { bytes: [32, 0], fPort: 3, errors: [], warnings: [] },
      },
    ],
  },
];

/** The files of a sandbox driver as a driver folder (what `tpx driver add` takes). */
export function driverFiles(d: SandboxDriverSource): Record<string, string> {
  return {
    'package.json': `${JSON.stringify({ name: d.name, version: '1.0.0', description: `tpx sandbox ${d.kind}`, main: 'index.js' }, null, 2)}\n`,
    'driver.yaml': `name: tpx sandbox ${d.kind}\nprotocolId: tpx:sandbox-${d.kind}:1\nsignature:\n`,
    'index.js': d.code,
    'uplink.schema.json': `${JSON.stringify(d.uplinkSchema, null, 2)}\n`,
    ...(d.downlinkSchema ? { 'downlink.schema.json': `${JSON.stringify(d.downlinkSchema, null, 2)}\n` } : {}),
    'examples.json': `${JSON.stringify(d.examples, null, 2)}\n`,
  };
}

/** A decoded payload in a few characters, for the sandbox's table: its top-level scalars. */
export function shortDecoded(data: unknown, max = 40): string {
  if (!data || typeof data !== 'object') return '-';
  const parts = Object.entries(data as Record<string, unknown>)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => `${k} ${String(v)}`);
  const s = parts.join(', ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s || '-';
}
