/**
 * What `tpx uplink send` does: builds realistic DevEUI_uplink documents, signs them as ThingPark does, and posts
 * them to a bridge (with a count and a rate); or, with `direct`, acts as the connector for one message.
 */
import { signUplink } from '../thingpark/tunnel.js';
import type { ThingDirectory, ThingWorxSink } from './ports.js';
import { tunnelReportCodec } from './report-parser.js';
import { reportUpdates } from './thing-properties.js';

export interface UplinkSpec {
  devEui: string;
  fport: number;
  fcnt: number;
  payloadHex: string;
  time?: Date;
  customerId?: string;
}

/** A DevEUI_uplink as ThingPark's typed JSON sends it, with plausible radio metadata. */
export function realisticUplink(s: UplinkSpec): { DevEUI_uplink: Record<string, unknown> } {
  const time = (s.time ?? new Date()).toISOString().replace('Z', '+00:00');
  const rssi = -(60 + (s.fcnt % 50));
  const snr = Math.round((10 - (s.fcnt % 15)) * 4) / 4;
  return {
    DevEUI_uplink: {
      Time: time,
      DevEUI: s.devEui.toUpperCase(),
      FPort: s.fport,
      FCntUp: s.fcnt,
      ADRbit: 1,
      MType: 2,
      FCntDn: 0,
      payload_hex: s.payloadHex.toLowerCase(),
      mic_hex: '38e7a3b9',
      Lrcid: '00000065',
      LrrRSSI: rssi,
      LrrSNR: snr,
      LrrESP: rssi - 1,
      SpFact: 7 + (s.fcnt % 6),
      SubBand: 'G1',
      Channel: 'LC2',
      DevLrrCnt: 1,
      Lrrid: '08040059',
      Late: 0,
      Lrrs: { Lrr: [{ Lrrid: '08040059', Chain: 0, LrrRSSI: rssi, LrrSNR: snr, LrrESP: rssi - 1 }] },
      CustomerID: s.customerId ?? '100000507',
      CustomerData: { alr: { pro: 'LORA/Generic', ver: '1' }, name: 'tpx uplink send' },
      ModelCfg: '0',
      DevAddr: s.devEui.slice(-8).toUpperCase(),
      TxPower: 14,
      NbTrans: 1,
      Frequency: 868.1,
      DynamicClass: 'A',
    },
  };
}

export interface SendOptions {
  /** Bridge ingest URL (…/uplink). */
  url: string;
  asId?: string;
  /** Without it the report goes unsigned (for a bridge run with --no-verify-tokens). */
  asKey?: string;
  devEui: string;
  fport: number;
  payloadHex: string;
  fcntStart: number;
  count: number;
  /** Uplinks per second; 0 = as fast as possible. */
  rate: number;
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** Longest wait for the answer of one post (default 30 s): a bridge that never answers counts as status 0. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each answer. */
  onResult?: (r: { fcnt: number; status: number; body: string }) => void;
}

export interface SendSummary {
  sent: number;
  accepted: number;
  duplicates: number;
  /** Non-2xx answers by status (0 = no answer). */
  rejected: Record<string, number>;
  firstError?: string;
  elapsedMs: number;
}

export async function sendUplinks(o: SendOptions): Promise<SendSummary> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections: o.concurrency ?? 32, keepAliveTimeout: 30_000 });
  const summary: SendSummary = { sent: 0, accepted: 0, duplicates: 0, rejected: {}, elapsedMs: 0 };
  const start = performance.now();
  let next = 0;
  const one = async (i: number) => {
    const fcnt = o.fcntStart + i;
    const doc = realisticUplink({ devEui: o.devEui, fport: o.fport, fcnt, payloadHex: o.payloadHex });
    let url = o.url;
    if (o.asKey && o.asId) {
      const q = signUplink(doc, { asId: o.asId, asKey: o.asKey }).queryString;
      url = `${o.url}${o.url.includes('?') ? '&' : '?'}${q}`;
    }
    let status = 0;
    let body = '';
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'ACTILITY-LRCLRN-DEVICE-AGENT/1.0 (tpx)' },
        body: JSON.stringify(doc),
        dispatcher: agent,
        signal: o.signal,
        headersTimeout: o.timeoutMs ?? 30_000,
        bodyTimeout: o.timeoutMs ?? 30_000,
      });
      status = res.statusCode;
      body = await res.body.text();
    } catch (err) {
      body = (err as Error).message;
    }
    summary.sent += 1;
    if (status === 202) summary.accepted += 1;
    else if (status === 200 && body.includes('duplicate')) summary.duplicates += 1;
    else if (status >= 200 && status < 300) summary.accepted += 1;
    else {
      summary.rejected[String(status)] = (summary.rejected[String(status)] ?? 0) + 1;
      summary.firstError ??= status ? `HTTP ${status}: ${body.slice(0, 300)}` : body;
    }
    o.onResult?.({ fcnt, status, body });
  };
  const worker = async () => {
    while (next < o.count && !o.signal?.aborted) {
      const i = next++;
      if (o.rate > 0) {
        const due = start + (i * 1000) / o.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await one(i);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.count, o.concurrency ?? 32) }, worker));
  } finally {
    await agent.close();
  }
  summary.elapsedMs = performance.now() - start;
  return summary;
}

/** Acts as the connector for one report: makes sure the Thing exists and is bound, pushes, unbinds. */
export async function deliverDirect(
  document: unknown,
  sink: ThingWorxSink,
  directory: ThingDirectory,
  template: string,
): Promise<{ thing: string; created: boolean; properties: string[] }> {
  const report = tunnelReportCodec().parse(document);
  const thing = report.devEui;
  const created = (await directory.create(thing, template)) === 'created';
  await sink.start();
  try {
    const r = await sink.bind([thing]);
    if (r.refused.length) throw new Error(`ThingWorx refused to bind ${thing}: ${r.reason ?? 'bind refused'}`);
    const updates = reportUpdates(report);
    await sink.push(thing, updates);
    await sink.unbind([thing]);
    return { thing, created, properties: updates.map((u) => u.name) };
  } finally {
    await sink.close();
    await directory.close?.();
  }
}
