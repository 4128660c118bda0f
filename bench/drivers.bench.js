// Payload drivers: what isolation costs, and what a driver on every uplink costs the bridge.
// 1. Per call: a small TS013 driver (5 bytes -> temperature, humidity, battery) called in this process directly
//    (no isolation) vs through the driver host (worker thread + vm context + time limit), one call at a time
//    (latency) and many in flight (throughput). The difference is the isolation overhead per call.
// 2. The bridge in this process (ingest -> spool -> delivery -> an in-memory ThingWorx that acks at once), driven
//    by a load client in its own process as fast as it can, side by side in one run: without drivers, then with the
//    driver on every device. Sustained rate (uplinks pushed/s) of each, and the ratio (target: >= 50%).
// `node bench/drivers.bench.js` (or `npm run bench -- drivers`); BENCH_SECONDS (default 5) sets each phase's length.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createReport } from './report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 64;
const DEVICES = 1000;
const AS_ID = 'bench.as';
const AS_KEY = '0123456789abcdef0123456789abcdef';
const here = fileURLToPath(import.meta.url);
const devEui = (i) => `70B3D57E${i.toString(16).toUpperCase().padStart(8, '0')}`;

const DRIVER = `function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 5) return { errors: ['too short'], warnings: [] };
  var t = (b[0] << 8) | b[1];
  if (t > 32767) t -= 65536;
  return { data: { temperature: t / 100, humidity: b[2] / 2, battery: ((b[3] << 8) | b[4]) / 1000 }, errors: [], warnings: [] };
}`;
const SCHEMA = {
  type: 'object',
  properties: { temperature: { type: 'number' }, humidity: { type: 'number' }, battery: { type: 'number' } },
};

async function client([url, secondsText]) {
  const { Pool } = await import('undici');
  const { signUplink } = await import('../dist/thingpark/tunnel.js');
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: CONNECTIONS, pipelining: 1 });
  const end = performance.now() + Number(secondsText) * 1000;
  let n = 0;
  let ok = 0;
  const one = async (i) => {
    const doc = {
      DevEUI_uplink: {
        Time: new Date().toISOString().replace('Z', '+00:00'),
        DevEUI: devEui(i % DEVICES),
        FPort: 1,
        FCntUp: Math.floor(i / DEVICES),
        payload_hex: `08${(i & 0xff).toString(16).padStart(2, '0')}600e10`,
        LrrRSSI: -70,
        LrrSNR: 7.5,
        SpFact: 7,
        CustomerID: '100000507',
      },
    };
    const q = signUplink(doc, { asId: AS_ID, asKey: AS_KEY }).queryString;
    const r = await pool.request({
      method: 'POST',
      path: `${target.pathname}?${q}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    await r.body.text();
    if (r.statusCode < 300) ok++;
  };
  await Promise.all(
    Array.from({ length: CONNECTIONS * 2 }, async () => {
      while (performance.now() < end) await one(n++);
    }),
  );
  await pool.close();
  process.stdout.write(`${JSON.stringify({ sent: n, ok })}\n`);
}

function runClient(url) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here, 'client', url, String(SECONDS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
  });
}

/** A ThingWorx that acknowledges every push at once; counts the uplinks pushed (not the decoded-values pushes). */
function memorySink() {
  let pushes = 0;
  return {
    pipeCount: 1,
    get pushes() {
      return pushes;
    },
    async start() {},
    async bind() {
      return { refused: [] };
    },
    async unbind() {},
    async push(_thing, values) {
      if (values.some((v) => v.name === 'uplinkData')) pushes++;
    },
    onPropertyWrite() {},
    onStatus() {},
    isConnected: () => true,
    async close() {},
  };
}

async function bridgeRate(decoder) {
  const { startBridge } = await import('../dist/bridge/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tpx-bench-drivers-'));
  const sink = memorySink();
  const things = Array.from({ length: DEVICES }, (_, i) => devEui(i));
  const bridge = await startBridge({
    listen: '127.0.0.1:0',
    spoolDir: dir,
    asId: AS_ID,
    asKey: AS_KEY,
    template: 'actilityThingTemplateSF',
    durability: 'normal',
    maxTimeSkewMs: 0,
    dedupWindowMs: 0,
    sink,
    directory: { list: async () => ({ names: things, pages: 1 }), create: async () => 'exists' },
    ...(decoder ? { decoder } : {}),
  });
  await bridge.whenReady();
  const t0 = performance.now();
  const load = await runClient(`${bridge.url}/uplink`);
  await bridge.whenDrained(60_000);
  const seconds = (performance.now() - t0) / 1000;
  const pushed = sink.pushes;
  await bridge.stop({ drainTimeoutMs: 1000 });
  rmSync(dir, { recursive: true, force: true });
  return { accepted: load.ok, pushed, rate: pushed / seconds };
}

async function main() {
  const { DriverDecoder } = await import('../dist/drivers/decoder.js');
  const pkg = {
    name: 'bench',
    useContext: false,
    code: DRIVER,
    main: 'index.js',
    examples: [],
    files: [],
    uplinkSchema: SCHEMA,
  };
  const decoder = await DriverDecoder.start([{ name: 'bench', pkg, assign: [{ type: 'prefix', prefix: '70B3D57E' }] }]);

  // 1. Per call.
  const direct = new Function(`${DRIVER}; return decodeUplink;`)();
  const input = { bytes: [8, 102, 96, 14, 16], fPort: 1, recvTime: new Date().toISOString() };
  const N = 20_000;
  let t = performance.now();
  for (let i = 0; i < N; i++) JSON.parse(JSON.stringify(direct({ ...input, recvTime: new Date(input.recvTime) })));
  const directUs = ((performance.now() - t) * 1000) / N;
  for (let i = 0; i < 2000; i++) await decoder.decode('bench', input);
  t = performance.now();
  for (let i = 0; i < N; i++) await decoder.decode('bench', input);
  const serialUs = ((performance.now() - t) * 1000) / N;
  t = performance.now();
  const batch = 256;
  for (let i = 0; i < N; i += batch) {
    await Promise.all(Array.from({ length: batch }, () => decoder.decode('bench', input)));
  }
  const pipelinedUs = ((performance.now() - t) * 1000) / N;
  const report = createReport(
    'drivers',
    'bridge rate with a driver on every uplink / without drivers, same run; isolation overhead per call (µs)',
  );
  report.figure({ id: 'direct_call', what: 'driver call, in process without isolation', value: directUs, unit: 'us' });
  report.figure({
    id: 'isolated_call',
    what: 'driver call, isolated, one at a time (latency)',
    value: serialUs,
    unit: 'us',
  });
  report.figure({
    id: 'isolated_pipelined',
    what: `driver call, isolated, ${batch} in flight`,
    value: pipelinedUs,
    unit: 'us',
  });
  report.figure({
    id: 'isolation_overhead',
    what: 'isolation overhead per call (pipelined)',
    value: pipelinedUs - directUs,
    unit: 'us',
    ratio: true,
  });

  // 2. The bridge, side by side (after a warm-up run that is not counted; then each twice, alternating, best kept).
  await bridgeRate(undefined);
  const runs = { none: [], driver: [] };
  for (let i = 0; i < 2; i++) {
    runs.none.push(await bridgeRate(undefined));
    runs.driver.push(await bridgeRate(decoder));
  }
  const best = (list) => list.reduce((a, b) => (b.rate > a.rate ? b : a));
  const none = best(runs.none);
  const withDriver = best(runs.driver);
  report.figure({
    id: 'bridge_without',
    what: `bridge without drivers (${none.pushed} pushed in ${SECONDS} s)`,
    value: none.rate,
    unit: 'uplinks/s',
  });
  report.figure({
    id: 'bridge_with',
    what: `bridge with a driver on every uplink (${decoder.counts.failed} decodes failed)`,
    value: withDriver.rate,
    unit: 'uplinks/s',
  });
  const ratio = (100 * withDriver.rate) / none.rate;
  report.figure({
    id: 'with_vs_without',
    what: 'rate with drivers / without',
    value: ratio,
    unit: '%',
    target: '>= 50 %',
    met: ratio >= 50,
    ratio: true,
  });
  report.finish();
  await decoder.close();
}

if (process.argv[2] === 'client') await client(process.argv.slice(3));
else await main();
