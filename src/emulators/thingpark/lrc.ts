/**
 * The emulator's LRC tunnel downlink endpoint (research/thingpark.md §5.2): v2 answers 202 or 409 `{code, message}`;
 * v1 answers 200 "Request queued by LRC", 350 with an HTML message, or 404 "No Base Station Available".
 * Checks security first (AS_ID, token, Time deviation), then the frame. Records what it accepted.
 */
import { verifyDownlinkQuery } from '../../thingpark/tunnel.js';
import type { RecordedDownlink } from './store.js';

/** The LRC's own message texts for the 409 codes. */
const LRC_MESSAGES: Record<number, string> = {
  100: 'Invalid DevEUI',
  103: 'Confirmed downlink not authorized',
  104: 'Invalid LoRa port',
  105: 'AS_ID is mandatory',
  106: 'Missing timestamp',
  107: 'Security Check. Bad AS_ID',
  108: 'Security Check. Server decrypt error',
  109: 'Malformed ISO 8601 time',
  110: 'Security Check. Invalid downlink frame timestamp',
  111: 'Security Check. bad token',
  112: 'Validity time expired or invalid',
  113: 'Payload too big or invalid size',
  115: 'No Base Station Available',
  117: 'Invalid CorrelationID',
  118: 'Empty payload',
};

export interface LrcResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface LrcOptions {
  asId: string;
  asKey: string;
  /** Largest |now − Time| in seconds (the AS profile's maxTimestampDeviation; 0 = unlimited). */
  maxTimestampDeviation: number;
  /** When given, only these DevEUIs (upper case) are known; others get 100. */
  devices?: Set<string>;
  now: () => number;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function reject(version: 1 | 2, code: number, extra: Record<string, unknown> = {}): LrcResponse {
  const message = LRC_MESSAGES[code] ?? 'Rejected';
  if (version === 1) {
    if (code === 115) return { status: 404, contentType: 'text/html', body: `<html><body>${message}</body></html>` };
    return { status: 350, contentType: 'text/html', body: `<html><body>${message}</body></html>` };
  }
  return { status: 409, contentType: 'application/json', body: JSON.stringify({ code, message, ...extra }) };
}

/** Handles one downlink POST; `rawQuery` is the query string exactly as received (without `?`). */
export function handleDownlink(
  version: 1 | 2,
  rawQuery: string,
  o: LrcOptions,
): { response: LrcResponse; accepted?: RecordedDownlink } {
  const check = verifyDownlinkQuery(rawQuery, o.asKey);
  const p = check.params;
  if (!p.AS_ID) return { response: reject(version, 105) };
  if (p.AS_ID !== o.asId) return { response: reject(version, 107) };
  if (!check.ok && check.reason !== 'bad-token') return { response: reject(version, 108) };
  if (!p.Time) return { response: reject(version, 106) };
  if (!ISO.test(p.Time) || Number.isNaN(Date.parse(p.Time))) return { response: reject(version, 109) };
  if (o.maxTimestampDeviation > 0 && Math.abs(o.now() - Date.parse(p.Time)) > o.maxTimestampDeviation * 1000) {
    return { response: reject(version, 110) };
  }
  if (!check.ok) return { response: reject(version, 111) };
  if (!p.DevEUI || !/^[0-9A-F]{16}$/.test(p.DevEUI)) return { response: reject(version, 100) };
  if (o.devices && !o.devices.has(p.DevEUI)) return { response: reject(version, 100) };
  const port = Number(p.FPort);
  if (!/^\d+$/.test(p.FPort ?? '') || port < 1 || port > 224) return { response: reject(version, 104) };
  const flush = p.FlushDownlinkQueue === '1';
  if (p.Payload === undefined || p.Payload === '') {
    if (!flush) return { response: reject(version, 118) };
  } else if (!/^([0-9A-F][0-9A-F]){1,250}$/.test(p.Payload)) {
    return { response: reject(version, 113, { maxSize: 250 }) };
  }
  if (p.Confirmed !== undefined && p.Confirmed !== '0' && p.Confirmed !== '1')
    return { response: reject(version, 103) };
  if (p.CorrelationID !== undefined && !/^[0-9A-F]{16}$/.test(p.CorrelationID))
    return { response: reject(version, 117) };
  if (p.ValidityTime !== undefined) {
    const v = p.ValidityTime;
    const expired = /^\d+$/.test(v) ? false : !ISO.test(v) || Number.isNaN(Date.parse(v)) || Date.parse(v) < o.now();
    if (expired) return { response: reject(version, 112) };
  }
  const accepted: RecordedDownlink = {
    version,
    devEui: p.DevEUI,
    fPort: port,
    confirmed: p.Confirmed === '1',
    flushQueue: flush,
    asId: p.AS_ID,
    time: p.Time,
    receivedAt: new Date(o.now()).toISOString(),
  };
  if (p.Payload) accepted.payloadHex = p.Payload;
  if (p.ValidityTime !== undefined) accepted.validityTime = p.ValidityTime;
  if (p.CorrelationID !== undefined) accepted.correlationId = p.CorrelationID;
  if (p.FCntDn !== undefined) accepted.fCntDn = Number(p.FCntDn);
  const response: LrcResponse =
    version === 2
      ? { status: 202, contentType: 'application/json', body: '' }
      : { status: 200, contentType: 'text/html', body: '<html><body>Request queued by LRC</body></html>' };
  return { response, accepted };
}
