/** Builds and posts signed ThingPark reports for bridge tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signUplink } from '../../src/thingpark/tunnel.js';

export const AS_ID = 'TWA_100000507.1111.AS';
export const AS_KEY = '46ab678cd45df4a4e4b375Eacd096acc';

export function uplinkDoc(devEui: string, fcnt: number, payload = '0027bd00', time = new Date()) {
  return {
    DevEUI_uplink: {
      Time: time.toISOString().replace('Z', '+00:00'),
      DevEUI: devEui,
      FPort: 2,
      FCntUp: fcnt,
      payload_hex: payload,
      LrrRSSI: -60.5,
      LrrSNR: 9.75,
      SpFact: 7,
      CustomerID: '100000507',
      Late: 0,
    },
  };
}

export function signedQuery(doc: unknown, time?: Date): string {
  return signUplink(doc, { asId: AS_ID, asKey: AS_KEY, time }).queryString;
}

export async function post(
  base: string,
  doc: unknown,
  options: { query?: string; body?: string; contentType?: string; path?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const q = options.query ?? signedQuery(doc);
  const res = await fetch(`${base}${options.path ?? '/uplink'}?${q}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: options.body ?? JSON.stringify(doc),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tpx-bridge-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
