/**
 * ThingPark LRC tunnel security (research/thingpark.md §4.3 and §5.2).
 *
 * Uplink-side reports (DevEUI_uplink, DevEUI_downlink_Sent, DevEUI_location, DevEUI_notification):
 *   Token = lower-hex SHA-256( bodyElements ‖ "LrnDevEui=…&LrnFPort=…&LrnInfos=…&AS_ID=…&Time=…" ‖ ASKey )
 * with query values URL-decoded (percent escapes only; `+` and `:` literal) in that fixed order.
 * Downlinks (AS → LRC): Token = lower-hex SHA-256( <query string as sent, without Token, values un-encoded> ‖ ASKey ),
 * then `&Token=…` is appended last.
 *
 * Pure functions; no I/O. Used by the bridge (verification), `tpx uplink send`, `tpx downlink` and the emulator.
 */
import { hash } from 'node:crypto';
import { formatDuration } from '../util/duration.js';
import { isHexDigits } from '../util/hex.js';

export type ReportKind = 'DevEUI_uplink' | 'DevEUI_downlink_Sent' | 'DevEUI_location' | 'DevEUI_notification';
export const REPORT_KINDS: readonly ReportKind[] = [
  'DevEUI_uplink',
  'DevEUI_downlink_Sent',
  'DevEUI_location',
  'DevEUI_notification',
];

/** The query parameters ThingPark appends to a report POST, in wire (and hash) order. */
export const REPORT_QUERY_ORDER = ['LrnDevEui', 'LrnFPort', 'LrnInfos', 'AS_ID', 'Time'] as const;

export type TunnelQuery = Record<string, string | undefined>;

export function sha256Hex(text: string): string {
  // one-shot hash (Node >= 20.12): no Hash object per report, less than half the time of createHash().update()
  return hash('sha256', text, 'hex');
}

/** `YYYY-MM-DDThh:mm:ss.sss+00:00`: the form Actility's examples use (3-digit ms, explicit offset, not `Z`). */
export function formatTunnelTime(date: Date = new Date()): string {
  return date.toISOString().replace('Z', '+00:00');
}

/** Percent-encodes a query value the way the LRC expects (`+` → %2B, `:` → %3A, …). */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Parses a raw query string into decoded values, decoding percent escapes only (a literal `+` stays `+`,
 * unlike URLSearchParams which turns it into a space). Later duplicates win. Malformed escapes are kept as is.
 */
export function parseRawQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  const q = raw.startsWith('?') ? raw.slice(1) : raw;
  if (q === '') return out;
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
    out[name] = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
  }
  return out;
}

function safeDecode(s: string): string {
  if (!s.includes('%')) return s; // nothing to decode: the common case, and decodeURIComponent is not free
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function unwrap(document: unknown): { kind: ReportKind; body: Record<string, unknown> } | undefined {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return undefined;
  for (const kind of REPORT_KINDS) {
    const body = (document as Record<string, unknown>)[kind];
    if (body && typeof body === 'object' && !Array.isArray(body))
      return { kind, body: body as Record<string, unknown> };
  }
  return undefined;
}

/** The root key of a tunnel report document, or undefined. */
export function reportKind(document: unknown): ReportKind | undefined {
  return unwrap(document)?.kind;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return v;
  return String(v);
}

/**
 * The body elements of §4.3 step 2, values as they appear in the document (numbers in decimal):
 * uplink CustomerID‖DevEUI‖FPort‖FCntUp‖payload_hex; downlink sent CustomerID‖DevEUI‖FPort‖FCntDn;
 * location and notification CustomerID‖DevEUI (location: DevEUI lower case, as Actility's vector L1 and KPN do).
 * A missing FPort (MAC-only frame) counts as "0", as KPN does (Actility does not say; research §4.3).
 */
export function bodyElements(document: unknown): string {
  const u = unwrap(document);
  if (!u)
    throw new TypeError('not a ThingPark report document (no DevEUI_uplink/_downlink_Sent/_location/_notification)');
  const b = u.body;
  const port = b.FPort === undefined || b.FPort === null || b.FPort === '' ? '0' : text(b.FPort);
  switch (u.kind) {
    case 'DevEUI_uplink':
      return `${text(b.CustomerID)}${text(b.DevEUI)}${port}${text(b.FCntUp)}${text(b.payload_hex)}`;
    case 'DevEUI_downlink_Sent':
      return `${text(b.CustomerID)}${text(b.DevEUI)}${port}${text(b.FCntDn)}`;
    case 'DevEUI_location':
      return `${text(b.CustomerID)}${text(b.DevEUI).toLowerCase()}`;
    case 'DevEUI_notification':
      return `${text(b.CustomerID)}${text(b.DevEUI)}`;
  }
}

/** The decoded query string that is hashed: the report parameters present, in the fixed order, Token excluded. */
export function reportQueryString(query: TunnelQuery): string {
  let out = '';
  for (const name of REPORT_QUERY_ORDER) {
    let v = query[name];
    if (v === undefined) continue;
    // A receiver that decoded the query with form rules turned the `+` of the offset into a space.
    if (name === 'Time' && v.includes(' ')) v = v.replace(/ (\d\d:?\d\d)$/, '+$1');
    out = out === '' ? `${name}=${v}` : `${out}&${name}=${v}`;
  }
  return out;
}

/** The token of a report, computed from the document, the decoded query and the AS key exactly as configured. */
export function uplinkToken(document: unknown, query: TunnelQuery, asKey: string): string {
  return reportToken(bodyElements(document), query, asKey);
}

/** The token from already-concatenated body elements (for published vectors that give only those). */
export function reportToken(elements: string, query: TunnelQuery, asKey: string): string {
  return sha256Hex(`${elements}${reportQueryString(query)}${asKey}`);
}

export type VerifyFailure =
  | 'missing-token'
  | 'malformed-token'
  | 'missing-as-id'
  | 'wrong-as-id'
  | 'missing-time'
  | 'bad-time'
  | 'stale-time'
  | 'not-a-report'
  | 'deveui-mismatch'
  | 'bad-token';

export type VerifyResult =
  | { ok: true; keyCase: 'as-configured' | 'lower-case' }
  | { ok: false; reason: VerifyFailure; message: string };

export interface VerifyUplinkParams {
  /** The parsed JSON document (e.g. `{ "DevEUI_uplink": { … } }`). */
  body: unknown;
  /** Decoded query parameters (LrnDevEui, LrnFPort, LrnInfos, AS_ID, Time, Token). */
  query: TunnelQuery;
  asKey: string;
  /** When given, the AS_ID must equal it. */
  asId?: string;
  /** Largest accepted |now − Time| in milliseconds; 0 or undefined turns the freshness check off. */
  maxSkewMs?: number;
  now?: () => number;
}

function fail(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}

/**
 * Verifies a report's Token. Hashes with the key as configured, then (if different) with the key lower-cased:
 * Actility's own vectors need the key verbatim while its text says lower case (research §4.3).
 */
export function verifyUplinkDetailed(p: VerifyUplinkParams): VerifyResult {
  const token = p.query.Token;
  if (token === undefined || token === '') return fail('missing-token', 'the Token query parameter is missing');
  if (!isHexDigits(token, 64)) return fail('malformed-token', 'the Token is not 64 hexadecimal digits');
  const asId = p.query.AS_ID;
  if (!asId) return fail('missing-as-id', 'the AS_ID query parameter is missing');
  if (p.asId !== undefined && asId !== p.asId) return fail('wrong-as-id', `AS_ID "${asId}" is not the expected one`);
  const time = p.query.Time;
  if (!time) return fail('missing-time', 'the Time query parameter is missing');
  const u = unwrap(p.body);
  if (!u) return fail('not-a-report', 'the body is not a ThingPark report document');
  const bodyEui = text(u.body.DevEUI);
  if (p.query.LrnDevEui !== undefined && p.query.LrnDevEui.toUpperCase() !== bodyEui.toUpperCase()) {
    return fail('deveui-mismatch', 'LrnDevEui does not match the DevEUI of the document');
  }
  if (p.maxSkewMs && p.maxSkewMs > 0) {
    const t = Date.parse(reportQueryString({ Time: time }).slice('Time='.length));
    if (Number.isNaN(t)) return fail('bad-time', `Time "${time}" is not an ISO 8601 time`);
    const now = (p.now ?? Date.now)();
    if (Math.abs(now - t) > p.maxSkewMs)
      return fail('stale-time', `Time ${time} is more than ${formatDuration(p.maxSkewMs)} away from now`);
  }
  const expected = token.toLowerCase();
  if (sameDigits(uplinkToken(p.body, p.query, p.asKey), expected)) return { ok: true, keyCase: 'as-configured' };
  const lower = p.asKey.toLowerCase();
  if (lower !== p.asKey && sameDigits(uplinkToken(p.body, p.query, lower), expected)) {
    return { ok: true, keyCase: 'lower-case' };
  }
  return fail('bad-token', 'the Token does not match the document, the query and the AS key');
}

/**
 * Compares two hex digests in constant time (every character is looked at, whatever differs), like
 * crypto.timingSafeEqual but on the strings, without a Buffer for each: the one comparison of tokens, up and down.
 */
function sameDigits(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** True when the report's Token is valid (see verifyUplinkDetailed for the reason when it is not). */
export function verifyUplink(p: VerifyUplinkParams): boolean {
  return verifyUplinkDetailed(p).ok;
}

export interface SignUplinkOptions {
  asId: string;
  asKey: string;
  /** Defaults to now, formatted with formatTunnelTime(). */
  time?: string | Date;
  /** Defaults to `<AS_ID>-1-1`, the shape ThingPark uses. */
  lrnInfos?: string;
}

export interface SignedReport {
  /** Decoded query parameters in wire order, Token last. */
  query: Record<string, string>;
  /** The encoded query string to append to the AS URL (no leading `?`). */
  queryString: string;
  token: string;
}

/** Signs a report document as ThingPark does, giving the query to append to the application server URL. */
export function signUplink(document: unknown, o: SignUplinkOptions): SignedReport {
  const u = unwrap(document);
  if (!u)
    throw new TypeError('not a ThingPark report document (no DevEUI_uplink/_downlink_Sent/_location/_notification)');
  const eui = text(u.body.DevEUI);
  const query: Record<string, string> = {
    LrnDevEui: u.kind === 'DevEUI_location' ? eui.toLowerCase() : eui,
  };
  const hasPort = u.kind === 'DevEUI_uplink' || u.kind === 'DevEUI_downlink_Sent';
  if (hasPort && u.body.FPort !== undefined && u.body.FPort !== null && u.body.FPort !== '') {
    query.LrnFPort = text(u.body.FPort);
  }
  query.LrnInfos = o.lrnInfos ?? `${o.asId}-1-1`;
  query.AS_ID = o.asId;
  query.Time = typeof o.time === 'string' ? o.time : formatTunnelTime(o.time);
  const token = uplinkToken(document, query, o.asKey);
  query.Token = token;
  const queryString = Object.entries(query)
    .map(([k, v]) => `${k}=${encodeQueryValue(v)}`)
    .join('&');
  return { query, queryString, token };
}

/** Downlink query parameters of §5.2, in the order Actility's own scripts send them. */
export interface DownlinkQueryParams {
  DevEUI: string;
  FPort?: number | string;
  Payload?: string;
  FCntDn?: number | string;
  AFCntDn?: number | string;
  Confirmed?: 0 | 1 | '0' | '1';
  FlushDownlinkQueue?: 0 | 1 | '0' | '1';
  ValidityTime?: string | number;
  AS_ID: string;
  /** Defaults to now (formatTunnelTime). */
  Time?: string;
  CorrelationID?: string;
}

export const DOWNLINK_QUERY_ORDER = [
  'DevEUI',
  'FPort',
  'Payload',
  'FCntDn',
  'AFCntDn',
  'Confirmed',
  'FlushDownlinkQueue',
  'ValidityTime',
  'AS_ID',
  'Time',
  'CorrelationID',
] as const;

/** The downlink token of §5.2: SHA-256 of the decoded query string (without Token) followed by the AS key. */
export function downlinkToken(hashedQuery: string, asKey: string): string {
  return sha256Hex(`${hashedQuery}${asKey}`);
}

/** Builds the signed, encoded downlink query string (Token last), e.g. for POST …/lrc/rest/v2/downlink?<this>. */
export function signDownlinkQuery(params: DownlinkQueryParams, asKey: string): string {
  const full: Record<string, unknown> = { ...params, Time: params.Time ?? formatTunnelTime() };
  const pairs: [string, string][] = [];
  for (const name of DOWNLINK_QUERY_ORDER) {
    const v = full[name];
    if (v === undefined || v === null || v === '') continue;
    pairs.push([name, String(v)]);
  }
  const hashed = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const token = downlinkToken(hashed, asKey);
  return `${pairs.map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join('&')}&Token=${token}`;
}

export type DownlinkVerifyResult =
  | { ok: true; params: Record<string, string> }
  | {
      ok: false;
      reason: 'missing-token' | 'token-not-last' | 'malformed-token' | 'bad-token';
      params: Record<string, string>;
    };

/**
 * Verifies a received downlink query string (raw, as on the wire): the hashed text is every parameter before
 * Token, in the received order, values percent-decoded. Token must be the last parameter.
 */
export function verifyDownlinkQuery(rawQuery: string, asKey: string): DownlinkVerifyResult {
  const q = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const parts = q.split('&').filter((p) => p !== '');
  const params = parseRawQuery(q);
  const idx = parts.findIndex((p) => p.startsWith('Token='));
  if (idx < 0) return { ok: false, reason: 'missing-token', params };
  if (idx !== parts.length - 1) return { ok: false, reason: 'token-not-last', params };
  const token = safeDecode(parts[idx]!.slice('Token='.length));
  if (!isHexDigits(token, 64) || token !== token.toLowerCase()) return { ok: false, reason: 'malformed-token', params };
  const hashed = parts
    .slice(0, idx)
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? safeDecode(p) : `${safeDecode(p.slice(0, eq))}=${safeDecode(p.slice(eq + 1))}`;
    })
    .join('&');
  if (!sameDigits(downlinkToken(hashed, asKey), token)) return { ok: false, reason: 'bad-token', params };
  return { ok: true, params };
}
