/**
 * Reading the Thing properties that hold a ThingPark message (uplinkData, downlink): the JSON value may arrive
 * as an object or as a JSON string, wrapped in `DevEUI_uplink` (or sent raw with sendRawDecodedFormat).
 * Turns it into a summary (the fields people look at first) and a flat field list for a readable table.
 */
import { isHexBytes } from '../util/hex.js';

export interface UplinkSummary {
  time?: string;
  devEui?: string;
  fPort?: number;
  fCntUp?: number;
  payloadHex?: string;
  rssi?: number;
  snr?: number;
  spreadingFactor?: number;
  lrrId?: string;
}

export interface DecodedMessage {
  /** The root key (`DevEUI_uplink`, `DevEUI_downlink`, …) or undefined when the value had none. */
  kind: string | undefined;
  /** The message object under the root key (or the whole value). */
  body: Record<string, unknown>;
  /** Every leaf as [dotted.path, text], in document order. */
  fields: [string, string][];
}

/** Parses a JSON property value (object or JSON text); undefined for empty or non-object values. */
export function parseJsonValue(value: unknown): Record<string, unknown> | undefined {
  let v = value;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return undefined;
    try {
      v = JSON.parse(t) as unknown;
    } catch {
      return undefined;
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const obj = v as Record<string, unknown>;
    return Object.keys(obj).length === 0 ? undefined : obj;
  }
  return undefined;
}

const ROOT = /^DevEUI_[A-Za-z_]+$/;

/** Decodes a ThingPark message held in a property value; undefined when there is none. */
export function decodeMessage(value: unknown): DecodedMessage | undefined {
  const obj = parseJsonValue(value);
  if (!obj) return undefined;
  const rootKey = Object.keys(obj).find((k) => ROOT.test(k));
  const inner = rootKey ? obj[rootKey] : undefined;
  const body = inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : obj;
  const fields: [string, string][] = [];
  flatten(body, '', fields);
  return { kind: rootKey, body, fields };
}

function flatten(value: unknown, path: string, out: [string, string][]): void {
  if (value === null || value === undefined) {
    out.push([path, '']);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) out.push([path, '[]']);
    for (const [i, v] of value.entries()) flatten(v, `${path}[${i}]`, out);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && path) out.push([path, '{}']);
    for (const [k, v] of entries) {
      if (k === '-xmlns') continue;
      flatten(v, path ? `${path}.${k}` : k, out);
    }
    return;
  }
  out.push([path, String(value)]);
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** The fields of an uplink people look at first. */
export function summarizeUplink(body: Record<string, unknown>): UplinkSummary {
  const s: UplinkSummary = {
    time: str(body.Time),
    devEui: str(body.DevEUI),
    fPort: num(body.FPort),
    fCntUp: num(body.FCntUp),
    payloadHex: str(body.payload_hex),
    rssi: num(body.LrrRSSI),
    snr: num(body.LrrSNR),
    spreadingFactor: num(body.SpFact ?? body.Spfact),
    lrrId: str(body.Lrrid),
  };
  for (const k of Object.keys(s) as (keyof UplinkSummary)[]) if (s[k] === undefined) delete s[k];
  return s;
}

/** Splits a hex payload into bytes for display ("0027bd00" -> "00 27 bd 00"); other text is returned as is. */
export function spacedHex(hex: string): string {
  if (!isHexBytes(hex, { nonEmpty: true })) return hex;
  return hex.match(/../g)!.join(' ');
}
