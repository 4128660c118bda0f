// Where the CPU of one uplink goes: each step the bridge takes for a DevEUI_uplink, timed alone on the same signed
// document as the load client sends (bench/load-client.js), in µs per uplink. The steps in order: the query parse,
// JSON.parse, the report parser (thingpark/messages.ts's fast path; for comparison, the full zod parser it saves),
// token verification (sha256), the dedup check, the property updates (uplinkData: the text as received) and the
// AlwaysOn push encoding (message + frames), the bridge events with the metrics listening, the 202 answer body.
// The ratio it stands by: each step's share of the sum (machine-independent). The whole-bridge figure (CPU per
// uplink including HTTP, sockets, TLS, SQLite and GC) is bridge.bench.js's; the difference is what the steps here do
// not cover (see bench/README.md). The spool (SQLite in its writer thread) is timed apart: process CPU (both threads)
// per report stored and deleted in group commits of 64.

import { AS_ID, AS_KEY } from './load-client.js';
import { createReport } from './report.js';

const { signUplink, parseRawQuery, verifyUplinkDetailed } = await import('../dist/thingpark/tunnel.js');
const { parseTunnelMessage } = await import('../dist/thingpark/messages.js');
const { tunnelReportCodec } = await import('../dist/bridge/report-parser.js');
const { DedupWindow } = await import('../dist/bridge/dedup.js');
const { reportUpdates } = await import('../dist/bridge/thing-properties.js');
const { requestMessage, pushParams } = await import('../dist/alwayson/message-builders.js');
const { framesOf } = await import('../dist/alwayson/wire.js');
const { BridgeEvents } = await import('../dist/bridge/events.js');
const { createMetrics } = await import('../dist/bridge/metrics.js');

const doc = {
  DevEUI_uplink: {
    Time: new Date().toISOString().replace('Z', '+00:00'),
    DevEUI: '70B3D57E00001234',
    FPort: 2,
    FCntUp: 4711,
    payload_hex: '0167010e0268640373275d04650064',
    LrrRSSI: -70,
    LrrSNR: 7.5,
    SpFact: 7,
    CustomerID: '100000507',
    Late: 0,
    Lrrs: { Lrr: [{ Lrrid: '08040059', LrrRSSI: -70, LrrSNR: 7.5, LrrESP: -71 }] },
  },
};
const text = JSON.stringify(doc);
const signed = signUplink(doc, { asId: AS_ID, asKey: AS_KEY });
const rawQuery = signed.queryString;
const query = parseRawQuery(rawQuery);
const body = JSON.parse(text);
const codec = tunnelReportCodec();
const report = codec.parse(body);
const updates = reportUpdates(report, text);
const dedup = new DedupWindow(600_000);
const devs = Array.from({ length: 10_000 }, (_, i) => `70B3D57E${i.toString(16).toUpperCase().padStart(8, '0')}`);
const events = new BridgeEvents();
createMetrics(events, { spoolDepth: () => 0, things: () => 0, connected: () => true });
let sink = 0;

/**
 * µs of CPU (this process, process.cpuUsage: not the time other processes of a shared machine took) per call of
 * fn, after a warm-up, over about `ms` milliseconds of CPU.
 */
function usPer(fn, ms = 700) {
  for (let i = 0; i < 5000; i++) fn(i);
  globalThis.gc?.();
  let n = 0;
  const c0 = process.cpuUsage();
  const limit = ms * 1000;
  let used = 0;
  while (used < limit) {
    for (let i = 0; i < 500; i++) fn(n + i);
    n += 500;
    const c = process.cpuUsage(c0);
    used = c.user + c.system;
  }
  return used / n;
}

/**
 * Heap bytes a call of fn allocates: the growth of heapUsed over 200 calls, the median of 40 such runs (a run during
 * which a garbage collection happened shrinks, and is left out). Allocation is what the collector pays for later
 * (bench/README.md: the bridge's V8 threads).
 */
function bytesPer(fn) {
  for (let i = 0; i < 2000; i++) fn(i);
  const runs = [];
  for (let r = 0; r < 40; r++) {
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) fn(i);
    const grew = process.memoryUsage().heapUsed - h0;
    if (grew > 0) runs.push(grew / 200);
  }
  runs.sort((a, b) => a - b);
  return runs.length ? runs[Math.floor(runs.length / 2)] : 0;
}

const steps = [
  ['query', 'parse the query string (parseRawQuery)', () => (sink += parseRawQuery(rawQuery).Token.length)],
  ['json_parse', 'JSON.parse of the body', () => (sink += JSON.parse(text).DevEUI_uplink.FPort)],
  ['fast_parse', 'report parser, fast path (report-parser.ts)', () => (sink += codec.parse(body).fcntUp)],
  [
    'token',
    'token verification (sha256, verifyUplinkDetailed)',
    () => (sink += verifyUplinkDetailed({ body, query, asKey: AS_KEY, asId: AS_ID }).ok ? 1 : 0),
  ],
  [
    'dedup',
    'dedup check + remember (10,000 devices)',
    (i) => {
      const d = devs[i % 10_000];
      if (!dedup.isDuplicate(d, i, 'abcd', 0)) dedup.remember(d, i, 'abcd', 0);
      if ((i & 0xffff) === 0) dedup.prune(600_001);
    },
  ],
  [
    'updates',
    'property updates of the report (thing-properties.ts)',
    () => (sink += reportUpdates(report, text).length),
  ],
  [
    'push_encode',
    'AlwaysOn push: message + binary frames',
    (i) =>
      (sink += framesOf(
        requestMessage(
          'POST',
          i & 0xffff,
          42,
          'THING',
          report.devEui,
          'SERVICES',
          'UpdateSubscribedPropertyValues',
          pushParams(updates),
        ),
        8192,
      ).length),
  ],
  [
    'events',
    'bridge events (received, accepted, acked) + metrics',
    (i) => {
      events.emit('uplink.received', { kind: 'uplink', devEui: report.devEui });
      events.emit('uplink.accepted', { seq: i, kind: 'uplink', devEui: report.devEui, fcnt: 1, spoolDepth: 0 });
      events.emit('push.acked', { seq: i, thing: report.devEui, kind: 'uplink', latencyMs: 3 });
    },
  ],
  [
    'answer',
    'the 202 answer body (its text, as ingest writes it)',
    (i) => (sink += `{"status":"accepted","seq":${i}}`.length),
  ],
];
const zod = usPer(() => (sink += parseTunnelMessage(body, { schemaOnly: true }).fCntUp));

/**
 * The spool (SQLite in its writer thread): CPU of the whole process (both threads) per report stored and then
 * deleted, in group commits of `group` reports as the bridge makes them under load.
 */
async function spoolUs(durability, group, total = 20_000) {
  const { Spool } = await import('../dist/bridge/spool.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tpx-bench-stages-'));
  const spool = new Spool(dir, { durability, writer: 'worker' });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < total; i += group) {
    const seqs = await Promise.all(
      Array.from({ length: group }, (_, k) =>
        spool.append(
          { devEui: devs[(i + k) % 10_000], kind: 'uplink', receivedAt: Date.now(), document: text, query: rawQuery },
          { dedup: { fcnt: i + k, payload: 'abcd' }, token: `${(i + k).toString(16).padStart(32, '0')}` },
        ),
      ),
    );
    for (const s of seqs) spool.ack(s);
  }
  await spool.settle();
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  return { us: (c.user + c.system) / total, perSecond: total / (ms / 1000) };
}
const spoolFull = await spoolUs('full', 64);
const spoolNormal = await spoolUs('normal', 64);

const r = createReport('stages', "each step's share of the sum of the steps (%), the same on any machine within noise");
const times = steps.map(([id, what, fn]) => [id, what, usPer(fn), bytesPer(fn)]);
const sum = times.reduce((a, t) => a + t[2], 0);
for (const [id, what, us, bytes] of times) {
  r.figure({ id, what, value: us, unit: 'us', digits: 2 });
  r.figure({ id: `${id}_bytes`, what: '  heap bytes allocated per call', value: bytes, unit: 'B' });
  r.figure({
    id: `${id}_share`,
    what: '  share of the steps',
    value: (100 * us) / sum,
    unit: '%',
    ratio: true,
    digits: 1,
  });
}
r.figure({ id: 'sum', what: 'sum of the steps', value: sum, unit: 'us', digits: 1 });
r.figure({
  id: 'sum_bytes',
  what: '  heap bytes allocated by the steps',
  value: times.reduce((a, t) => a + t[3], 0),
  unit: 'B',
});
r.figure({
  id: 'spool_full',
  what: 'spool: store + delete one report, full (both threads)',
  value: spoolFull.us,
  unit: 'us',
  digits: 1,
});
r.figure({ id: 'spool_full_rate', what: '  reports/s, groups of 64, full', value: spoolFull.perSecond, unit: '/s' });
r.figure({ id: 'spool_normal', what: 'spool: the same, normal', value: spoolNormal.us, unit: 'us', digits: 1 });
r.figure({ id: 'zod_parse', what: 'full zod parser (the fast parser saves it)', value: zod, unit: 'us', digits: 2 });
r.finish();
if (sink === -1) console.log('');
