/**
 * The bridge's payload decoder: which driver decodes which device (assignments), the uplink's decoded property
 * values (decodedPayload, decodeErrors, typed fields), JSON downlinks encoded through the driver, the Thing
 * Template of a device with a driver. Driver code runs only in the DriverHost (worker + vm context per driver).
 */
import { EventEmitter } from 'node:events';
import type { TwValue } from '../alwayson/codec/types.js';
import type { PayloadDecoder, PropertyUpdate, TunnelReport } from '../bridge/ports.js';
import { Assignments, normEui } from './assign.js';
import { DriverError } from './errors.js';
import { type CallFailure, type CallResult, DriverHost, type DriverHostOptions } from './host.js';
import { DRIVER_PROPS, fieldValue, type TypedField, typedFields } from './schema.js';
import type { Assignment, CodecFunction, DriverPackage } from './types.js';

/** A driver ready to run: its package, assignments, and (optional) Thing Template. */
export interface DriverSetup {
  name: string;
  pkg: DriverPackage;
  assign: Assignment[];
  template?: string;
}

export interface DecodeOutcome {
  driver: string;
  ok: boolean;
  data?: unknown;
  errors: string[];
  warnings: string[];
  /** Why a call failed (the driver's own `errors` are reason 'errors'). */
  reason?: CallFailure | 'errors';
  ms: number;
}

export interface EncodeOutcome {
  driver: string;
  ok: boolean;
  fPort?: number;
  bytes?: number[];
  hex?: string;
  errors: string[];
  warnings: string[];
  reason?: CallFailure | 'errors';
  ms: number;
}

export interface DecoderEvents {
  decoded: [{ devEui: string; driver: string; ms: number; data: unknown }];
  'decode.failed': [{ devEui: string; driver: string; reason: string; errors: string[] }];
  'worker.replaced': [{ reason: string; error: string; requeued: number }];
}

/** Context entries kept per device (oldest dropped first). */
const MAX_CONTEXT = 256;

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function hexToBytes(hex: string): number[] {
  if (!HEX.test(hex)) throw new DriverError('TPX_DRIVER_FUNCTION', `"${hex}" is not hex`, { hex });
  const out: number[] = [];
  for (let i = 0; i < hex.length; i += 2) out.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return out;
}

/** Example and schema byte fields: an array of bytes or a hex string. */
export function bytesOf(v: unknown): number[] | undefined {
  if (typeof v === 'string') return HEX.test(v) ? hexToBytes(v) : undefined;
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return v as number[];
  return undefined;
}

const toHex = (bytes: number[]) => Buffer.from(bytes).toString('hex').toUpperCase();

function strings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

/** A failed call, decode or encode alike. */
type Failed = {
  driver: string;
  ok: false;
  errors: string[];
  warnings: string[];
  reason: CallFailure | 'errors';
  ms: number;
};

/**
 * What a codec function returned: its object with its errors and warnings, or the failed outcome (the call
 * failed, the function returned no object, or it returned errors).
 */
function outputOf<T>(
  driver: string,
  r: CallResult,
): { failed: Failed } | { out: T; errors: string[]; warnings: string[]; ms: number } {
  const fail = (errors: string[], warnings: string[], reason: Failed['reason']) => ({
    failed: { driver, ok: false as const, errors, warnings, reason, ms: r.ms },
  });
  if (!r.ok) return fail([r.error], [], r.reason);
  const out = r.output as (T & { errors?: unknown; warnings?: unknown }) | null;
  if (!out || typeof out !== 'object') return fail(['the driver returned no object'], [], 'bad_output');
  const errors = strings(out.errors);
  const warnings = strings(out.warnings);
  if (errors.length > 0) return fail(errors, warnings, 'errors');
  return { out, errors, warnings, ms: r.ms };
}

interface Loaded extends DriverSetup {
  key: string;
  fields: TypedField[];
}

export class DriverDecoder extends EventEmitter<DecoderEvents> implements PayloadDecoder {
  readonly host: DriverHost;
  private readonly drivers = new Map<string, Loaded>();
  private readonly rules = new Assignments();
  /** The driver last used for a device (field assignments are known only from its uplinks). */
  private readonly lastDriver = new Map<string, string>();
  private readonly contexts = new Map<string, unknown[]>();
  private readonly decodedFor = new WeakMap<TunnelReport, PropertyUpdate[]>();
  readonly counts = { decoded: 0, failed: 0, encoded: 0, encodeFailed: 0 };

  private constructor(host: DriverHost) {
    super();
    this.host = host;
    host.on('worker.replaced', (e) => this.emit('worker.replaced', e));
  }

  /** Loads the drivers into a new host. Rejects (DriverError) when one does not load; the host is closed then. */
  static async start(setups: DriverSetup[], options: DriverHostOptions = {}): Promise<DriverDecoder> {
    const d = new DriverDecoder(new DriverHost(options));
    try {
      for (const s of setups) await d.add(s);
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  private async add(s: DriverSetup): Promise<void> {
    const key = s.name;
    await this.host.load(key, s.pkg.code, `${s.name}/${s.pkg.main}`);
    this.drivers.set(s.name, { ...s, key, fields: typedFields(s.pkg.uplinkSchema) });
    this.rules.add(s.name, s.assign);
  }

  get driverNames(): string[] {
    return [...this.drivers.keys()];
  }

  fieldsOf(driver: string): TypedField[] {
    return this.drivers.get(driver)?.fields ?? [];
  }

  /** The driver of a device by DevEUI rules (exact, then longest prefix, then range); undefined when none. */
  driverForEui(devEui: string): string | undefined {
    return this.rules.forEui(devEui)?.driver;
  }

  /** The driver of an uplink: DevEUI rules first, then fields of the document (DriverCfg.id, ModelCfg, …). */
  driverFor(report: TunnelReport): string | undefined {
    return this.rules.forUplink(report.devEui, Object.values(report.document)[0])?.driver;
  }

  templateFor(devEui: string): string | undefined {
    const name = this.driverForEui(devEui) ?? this.lastDriver.get(normEui(devEui));
    return name ? this.drivers.get(name)?.template : undefined;
  }

  /** Runs decodeUplink (or decodeDownlink) of a driver; `devEui` gives the Actility context. */
  async decode(
    driver: string,
    input: { bytes: number[]; fPort: number; recvTime?: string },
    devEui?: string,
    fn: CodecFunction = 'decodeUplink',
  ): Promise<DecodeOutcome> {
    const d = this.get(driver);
    const ctxKey = d.pkg.useContext ? `${d.name}\u0000${devEui ?? ''}` : undefined;
    const context = ctxKey ? (this.contexts.get(ctxKey) ?? []) : undefined;
    const r = await this.host.call(d.key, fn, { recvTime: new Date().toISOString(), ...input }, context);
    if (r.ok && ctxKey && r.context) this.contexts.set(ctxKey, r.context.slice(-MAX_CONTEXT));
    const o = outputOf<{ data?: unknown }>(driver, r);
    if ('failed' in o) return o.failed;
    return { driver, ok: true, data: o.out.data ?? {}, errors: o.errors, warnings: o.warnings, ms: o.ms };
  }

  /** Runs encodeDownlink of a driver. */
  async encode(driver: string, data: unknown, fPort?: number): Promise<EncodeOutcome> {
    const d = this.get(driver);
    const r = await this.host.call(d.key, 'encodeDownlink', { data, ...(fPort !== undefined ? { fPort } : {}) });
    const o = outputOf<{ bytes?: unknown; fPort?: unknown }>(driver, r);
    if ('failed' in o) return o.failed;
    const { out, errors, warnings } = o;
    const bytes = bytesOf(out.bytes);
    const port = typeof out.fPort === 'number' ? out.fPort : fPort;
    if (!bytes) {
      return { driver, ok: false, errors: ['bytes is not a list of bytes'], warnings, reason: 'bad_output', ms: r.ms };
    }
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 223) {
      const errs = [`fPort ${String(port)} is not 1..223`];
      return { driver, ok: false, errors: errs, warnings, reason: 'bad_output', ms: r.ms };
    }
    return { driver, ok: true, fPort: port, bytes, hex: toHex(bytes), errors, warnings, ms: r.ms };
  }

  private get(driver: string): Loaded {
    const d = this.drivers.get(driver);
    if (!d) throw new DriverError('TPX_DRIVER_NOT_FOUND', `no driver named ${driver}`, { driver });
    return d;
  }

  async uplinkUpdates(report: TunnelReport): Promise<PropertyUpdate[]> {
    if (report.kind !== 'uplink') return [];
    const cached = this.decodedFor.get(report);
    if (cached) return cached;
    const name = this.driverFor(report);
    if (!name || report.payloadHex === undefined || report.fport === undefined) return [];
    this.lastDriver.set(report.devEui, name);
    const time = Number.isFinite(report.timeMs) ? report.timeMs : Date.now();
    const out: PropertyUpdate[] = [];
    const add = (n: string, value: TwValue) => out.push({ name: n, value, time, quality: 'GOOD' });
    let r: DecodeOutcome;
    try {
      r = await this.decode(
        name,
        { bytes: hexToBytes(report.payloadHex), fPort: report.fport, recvTime: report.time },
        report.devEui,
      );
    } catch (err) {
      r = { driver: name, ok: false, errors: [(err as Error).message], warnings: [], reason: 'threw', ms: 0 };
    }
    const status = { driver: name, errors: r.errors, warnings: r.warnings };
    add(DRIVER_PROPS.decodedPayload, { baseType: 'JSON', value: JSON.stringify(r.ok ? r.data : {}) });
    add(DRIVER_PROPS.decodeErrors, { baseType: 'JSON', value: JSON.stringify(status) });
    if (r.ok) {
      this.counts.decoded += 1;
      for (const f of this.drivers.get(name)!.fields) {
        const v = fieldValue(r.data, f);
        if (v === undefined) continue;
        if (f.baseType === 'NUMBER') add(f.name, { baseType: 'NUMBER', value: v as number });
        else if (f.baseType === 'BOOLEAN') add(f.name, { baseType: 'BOOLEAN', value: v as boolean });
        else add(f.name, { baseType: 'STRING', value: v as string });
      }
      this.emit('decoded', { devEui: report.devEui, driver: name, ms: r.ms, data: r.data });
    } else {
      this.counts.failed += 1;
      this.emit('decode.failed', {
        devEui: report.devEui,
        driver: name,
        reason: r.reason ?? 'errors',
        errors: r.errors,
      });
    }
    this.decodedFor.set(report, out);
    return out;
  }

  async encodeWrite(thing: string, value: TwValue): Promise<TwValue> {
    let v: unknown = value.baseType === 'NOTHING' ? undefined : (value as { value: unknown }).value;
    if (value.baseType === 'VARIANT') return this.encodeWrite(thing, value.value);
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v) as unknown;
      } catch {
        return value;
      }
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return value;
    const o = v as Record<string, unknown>;
    const inner = o.DevEUI_downlink;
    const body = (inner && typeof inner === 'object' ? inner : o) as Record<string, unknown>;
    const decoded = body.data ?? body.payload;
    if (!decoded || typeof decoded !== 'object' || body.payload_hex !== undefined) return value;
    const name = this.driverForEui(thing) ?? this.lastDriver.get(normEui(thing));
    if (!name) throw new Error(`no driver is assigned to ${thing}: write payload_hex instead of a decoded payload`);
    const fPortIn = body.FPort ?? body.fPort;
    const fPort = fPortIn === undefined ? undefined : Number(fPortIn);
    const r = await this.encode(name, decoded, Number.isFinite(fPort) ? fPort : undefined);
    if (!r.ok) {
      this.counts.encodeFailed += 1;
      throw new Error(`driver ${name} could not encode the downlink: ${r.errors.join('; ')}`);
    }
    this.counts.encoded += 1;
    const { data: _d, payload: _p, fPort: _f, ...rest } = body;
    const encoded = { ...rest, FPort: r.fPort, payload_hex: r.hex };
    const doc = inner && typeof inner === 'object' ? { ...o, DevEUI_downlink: encoded } : encoded;
    return { baseType: 'JSON', value: JSON.stringify(doc) };
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
