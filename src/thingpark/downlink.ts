/**
 * Sends a downlink through the LRC tunnel (research/thingpark.md §5.2): a POST whose query string carries the
 * frame and the security token; body empty. v2 (`…/thingpark/lrc/rest/v2/downlink`) answers 202 or 409 with a
 * `{code, message}` body; v1 (`…/thingpark/lrc/rest/downlink`, deprecated) answers 200, 350 (non-standard) or 404.
 * Not retried: a POST that may have been queued is not idempotent.
 */
import type { Dispatcher } from 'undici';
import { TpxError } from '../errors.js';
import { isHexBytes, isHexDigits } from '../util/hex.js';
import { type HttpEvent, httpRequest } from '../util/http.js';
import { FPORT, MAX_DOWNLINK_PAYLOAD_BYTES, normaliseDevEui } from './messages.js';
import { signDownlinkQuery } from './tunnel.js';

export interface SendDownlinkOptions {
  /** The LRC base (https://api.thingpark.com) or the full endpoint (…/lrc/rest/v2/downlink or v1 …/lrc/rest/downlink). */
  url: string;
  asId: string;
  asKey: string;
  devEui: string;
  fPort: number;
  /** Hex bytes (upper-cased before sending); may be omitted only with flushQueue. */
  payloadHex?: string;
  confirmed?: boolean;
  flushQueue?: boolean;
  /** ISO time or seconds. */
  validityTime?: string | number;
  /** 16 hex digits, echoed in DevEUI_downlink_Sent. */
  correlationId?: string;
  /** Only when the application encrypts the payload itself. */
  fCntDn?: number;
  /** Defaults to now. */
  time?: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Total time of the call (default 30 s). */
  timeoutMs?: number;
  onHttp?: (e: HttpEvent) => void;
}

export type DownlinkResult =
  | { status: 'queued'; version: 1 | 2; correlationId?: string }
  | {
      status: 'rejected';
      version: 1 | 2;
      code: number;
      reason: string;
      message: string;
      details?: Record<string, unknown>;
    };

/** Plain sentences for the LRC's 409 codes (§5.2). `{x}` is filled from the response. */
export const REJECTION_REASONS: Readonly<Record<number, string>> = {
  100: 'ThingPark does not know this DevEUI.',
  101: 'The downlink counter was already used (ThingPark expected {expected}).',
  102: 'The downlink counter jumps too far ahead (ThingPark expected {expected}).',
  103: "Confirmed downlinks are not allowed by this device's connectivity plan.",
  104: 'The LoRaWAN port is invalid (use 1 to 223).',
  105: 'The AS_ID is missing.',
  106: 'The Time (timestamp) is missing.',
  107: 'This AS_ID is not allowed to send downlinks to this device.',
  108: 'The security token is missing or badly formatted.',
  109: 'The Time is not a valid ISO 8601 time.',
  110: "The Time is too far from ThingPark's clock: check this machine's clock (NTP).",
  111: 'The security token does not match: check the AS key (and that AS_ID matches it).',
  112: 'The validity time is invalid or already expired.',
  113: 'The payload is too big or has an odd number of hex digits (largest {maxSize} bytes).',
  114: 'Downlinks are disabled for this device.',
  115: 'No base station is available to send the downlink now.',
  116: 'The payload is too big for the current data rate (largest {maxSize} bytes).',
  117: 'The CorrelationID is invalid (it must be 16 hex digits).',
  118: 'The payload is empty.',
  119: 'ThingPark has no AppSKey for this device: the payload must be encrypted by the application (give FCntDn).',
  121: 'Too many downlinks: the rate limit is reached; try again later.',
};

/** v1 error texts (HTML bodies of HTTP 350) mapped to the v2 codes. */
const V1_TEXTS: [RegExp, number][] = [
  [/invalid deveui/i, 100],
  [/already used/i, 101],
  [/increment too large|too large/i, 102],
  [/confirmed/i, 103],
  [/lora port/i, 104],
  [/as_id.*mandatory/i, 105],
  [/missing.*timestamp/i, 106],
  [/bad as_id|invalid as_id/i, 107],
  [/decrypt/i, 108],
  [/malformed.*(iso|time)/i, 109],
  [/frame timestamp/i, 110],
  [/bad token/i, 111],
  [/validity/i, 112],
  [/payload too big|invalid size/i, 113],
  [/disabled/i, 114],
  [/no base station/i, 115],
  [/correlation/i, 117],
  [/empty payload/i, 118],
  [/encrypted/i, 119],
  [/token bucket|rate/i, 121],
];

function fill(template: string, details: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_m, k: string) => (details[k] === undefined ? '?' : String(details[k])));
}

/** The plain sentence for a rejection code (falls back to the server's message). */
export function rejectionReason(code: number, message: string, details: Record<string, unknown> = {}): string {
  const t = REJECTION_REASONS[code];
  return t ? fill(t, details) : `ThingPark refused the downlink: ${message || `code ${code}`}.`;
}

function invalid(field: string, message: string): TpxError {
  return new TpxError('TPX_DOWNLINK_INVALID', `${field}: ${message}`, {
    fix: 'Correct the value and send the downlink again.',
    exitCode: 2,
    details: { field },
  });
}

/** The endpoint and protocol version for a configured URL. */
export function downlinkEndpoint(url: string): { url: URL; version: 1 | 2 } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('url', `"${url}" is not a URL (e.g. https://api.thingpark.com/thingpark/lrc/rest/v2/downlink).`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('url', `"${url}" is not an http(s) URL.`);
  if (!/\/downlink\/?$/.test(u.pathname)) {
    u.pathname = `${u.pathname.replace(/\/$/, '')}/thingpark/lrc/rest/v2/downlink`;
  }
  return { url: u, version: /\/v2\/downlink\/?$/.test(u.pathname) ? 2 : 1 };
}

/** Posts one signed downlink. Returns queued or rejected; throws TpxError for transport and unexpected statuses. */
export async function sendDownlink(o: SendDownlinkOptions): Promise<DownlinkResult> {
  const { url, version } = downlinkEndpoint(o.url);
  const { devEui, payload } = checkDownlink(o);
  const query = signDownlinkQuery(
    {
      DevEUI: devEui,
      FPort: o.fPort,
      Payload: payload ? payload.toUpperCase() : undefined,
      FCntDn: o.fCntDn,
      Confirmed: o.confirmed === undefined ? undefined : o.confirmed ? 1 : 0,
      FlushDownlinkQueue: o.flushQueue ? 1 : undefined,
      ValidityTime: o.validityTime,
      AS_ID: o.asId,
      Time: o.time,
      CorrelationID: o.correlationId?.toUpperCase(),
    },
    o.asKey,
  );
  url.search = url.search ? `${url.search}&${query}` : `?${query}`;
  // Not retried: a POST that may have been queued is not idempotent.
  const res = await httpRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json, text/html' },
    body: '',
    dispatcher: o.dispatcher,
    signal: o.signal,
    timeoutMs: o.timeoutMs,
    service: 'the ThingPark downlink endpoint',
    operation: `sending a downlink to ${devEui}`,
    setting: 'thingparkDownlinkUrl',
    onEvent: o.onHttp,
  });
  return downlinkAnswer(res.status, res.text, version, o.correlationId);
}

/** The checks ThingPark would make, done before anything is sent: the DevEUI and the payload as sent. */
function checkDownlink(o: SendDownlinkOptions): { devEui: string; payload?: string } {
  const devEui = normaliseDevEui(o.devEui);
  if (!devEui) throw invalid('DevEUI', `"${o.devEui}" is not 16 hexadecimal digits.`);
  const { min, max } = FPORT.downlink;
  if (!Number.isInteger(o.fPort) || o.fPort < min || o.fPort > max)
    throw invalid('FPort', `${o.fPort} is not ${min}..${max}.`);
  const payload = o.payloadHex?.replace(/\s+/g, '');
  if (payload !== undefined && payload !== '') {
    if (!isHexBytes(payload)) throw invalid('Payload', 'is not hexadecimal bytes.');
    if (payload.length > 2 * MAX_DOWNLINK_PAYLOAD_BYTES)
      throw invalid(
        'Payload',
        `is ${payload.length / 2} bytes; the tunnel takes at most ${MAX_DOWNLINK_PAYLOAD_BYTES}.`,
      );
  } else if (!o.flushQueue) {
    throw invalid('Payload', 'is empty (give a payload, or flush the queue).');
  }
  if (o.correlationId !== undefined && !isHexDigits(o.correlationId, 16)) {
    throw invalid('CorrelationID', 'must be 16 hexadecimal digits.');
  }
  if (!/^[0-9A-Za-z\-._]+$/.test(o.asId))
    throw invalid('AS_ID', `"${o.asId}" has characters other than letters, digits, "-", "." and "_".`);
  return { devEui, ...(payload !== undefined ? { payload } : {}) };
}

/** What ThingPark's answer means: queued, rejected (409, or v1's 350/404 pages), or an unexpected status. */
function downlinkAnswer(s: number, text: string, version: 1 | 2, correlationId?: string): DownlinkResult {
  if (s === 200 || s === 201 || s === 202) {
    return correlationId
      ? { status: 'queued', version, correlationId: correlationId.toUpperCase() }
      : { status: 'queued', version };
  }
  if (s === 409) return rejection409(text, version);
  if (version === 1 && (s === 350 || s === 404)) {
    const message = text
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200);
    const code = s === 404 ? 115 : (V1_TEXTS.find(([re]) => re.test(message))?.[1] ?? 350);
    return { status: 'rejected', version, code, reason: rejectionReason(code, message), message };
  }
  throw new TpxError(
    'TPX_DOWNLINK_HTTP',
    `ThingPark answered the downlink with HTTP ${s}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 160)}` : ''}.`,
    {
      fix:
        s >= 500
          ? 'ThingPark had a problem; try again later (the downlink was not retried).'
          : 'Check the downlink URL and the AS credentials.',
      details: { status: s },
    },
  );
}

/** A 409: the JSON {code, message, …details} of a refusal (or its text). */
function rejection409(text: string, version: 1 | 2): DownlinkResult {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON: keep the text as the message */
  }
  const code = Number(body.code);
  const message = typeof body.message === 'string' ? body.message : text.slice(0, 200);
  const { code: _c, message: _m, ...details } = body;
  const c = Number.isFinite(code) ? code : 409;
  return {
    status: 'rejected',
    version,
    code: c,
    reason: rejectionReason(c, message, details),
    message,
    ...(Object.keys(details).length ? { details } : {}),
  };
}
