// 100,000 Things in one bridge, against the ThingWorx emulator (REST listing, CreateThing, AlwaysOn binds and
// pushes all go to it; it runs in its own process):
// - listing: RestDirectory.list of 100,000 Things in pages (QueryImplementingThingsOptimized), ms and pages;
// - a bridge process of its own per fleet size (10,000 and 100,000 Things of a template): start -> ready (list and
//   bind every Thing), its RSS once bound, latency p99 at 1,000 uplinks/s over known devices, then the first
//   uplink of unknown devices (CreateThing, EnableThing, RestartThing, BIND, push) at 20 new devices/s, p99;
// - the machine-independent ratios: p99 at 1,000/s with 100K bound / with 10K bound, and bind ms per 1,000 Things.
// `node bench/things.bench.js` (or `npm run bench -- things`); BENCH_SECONDS (default 6) sets the paced phase,
// BENCH_THINGS (default 100000) the large fleet, BENCH_BIND_CHECK the bridge's bind-check period in ms (default the
// bridge's, 10 s; 0 turns the check off, to see what it costs). The bridge runs with --max-devices above the fleet:
// the default cap (10,000) stays a safety setting.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AS_ID, AS_KEY, devEui, runLoadClient } from './load-client.js';
import { startChild } from './null-platform.js';
import { createReport, pct } from './report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const BIG = Number(process.env.BENCH_THINGS ?? 100_000);
const SMALL = 10_000;
const NEW_DEVICES = 100;
const here = fileURLToPath(import.meta.url);
const dist = (p) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);
// Fleet k (0: small, 1: big) has DevEUIs from k * 0x1000000; new devices from 0x8000000.
const FIRST = [0, 0x1000000];
const NEW_FIRST = 0x8000000;
const template = (k) => `tpxBench${k === 0 ? SMALL : BIG}`;

const EMULATOR = `
import { startThingWorxEmulator } from ${dist('emulators/thingworx/index.js')};
import { TEMPLATE_PROPERTIES } from ${dist('thingworx/template.js')};
const devEui = ${devEui.toString()};
const properties = TEMPLATE_PROPERTIES.map((p) => ({ name: p.name, baseType: p.baseType }));
const fleets = [[${JSON.stringify(template(0))}, ${FIRST[0]}, ${SMALL}], [${JSON.stringify(template(1))}, ${FIRST[1]}, ${BIG}]];
const state = {
  templates: fleets.map(([name]) => ({ name, base: 'RemoteThing', properties })),
  things: fleets.flatMap(([name, first, n]) => Array.from({ length: n }, (_, i) => ({ name: devEui(first + i), template: name }))),
};
const t0 = performance.now();
const emu = await startThingWorxEmulator({ port: 0, state });
console.log(JSON.stringify({ url: emu.restUrl, appKey: emu.appKey, caFile: emu.caFile, loadMs: performance.now() - t0 }));
process.stdin.on('end', () => emu.close().then(() => process.exit(0)));
process.stdin.resume();
`;

function startEmulator() {
  return startChild(EMULATOR, 'emulator');
}

/** Child process `bridge`: one bridge with fleet k bound; prints its figures as one JSON line. */
async function bridgeChild([emuText, kText]) {
  const emu = JSON.parse(emuText);
  const k = Number(kText);
  const fleet = k === 0 ? SMALL : BIG;
  const { startConnectedBridge } = await import('../dist/bridge/index.js');
  const spoolDir = mkdtempSync(join(tmpdir(), 'tpx-bench-things-'));
  const t0 = performance.now();
  let listedMs = 0;
  let pages = 0;
  const bridge = await startConnectedBridge({
    thingworxUrl: emu.url,
    appKey: emu.appKey,
    ca: readFileSync(emu.caFile, 'utf8'),
    listen: '127.0.0.1:0',
    spoolDir,
    asId: AS_ID,
    asKey: AS_KEY,
    template: template(k),
    maxDevices: fleet + NEW_DEVICES * 2,
    requestTimeoutMs: 60_000,
    ...(process.env.BENCH_BIND_CHECK ? { bindCheckMs: Number(process.env.BENCH_BIND_CHECK) } : {}),
  });
  bridge.events.on('things.listed', (e) => {
    listedMs = performance.now() - t0;
    pages = e.pages;
  });
  await bridge.whenReady();
  const readyMs = performance.now() - t0;
  const bound = bridge.stats().bound;
  globalThis.gc?.();
  const rssBound = process.memoryUsage().rss;
  const url = `${bridge.url}${bridge.path}`;

  let latencies = [];
  bridge.events.on('push.acked', (e) => latencies.push(e.latencyMs));
  const paced = await runLoadClient({ url, rate: 1000, seconds: SECONDS, first: FIRST[k], devices: fleet });
  await bridge.whenDrained(60_000);
  const known = latencies.sort((a, b) => a - b);

  latencies = [];
  // where a new device's first uplink spends its time: ThingWorx REST (CreateThing, EnableThing, RestartThing: from
  // the report's acceptance to thing.created) and the rest (BIND, push, acknowledgement)
  const acceptedAt = new Map();
  const restMs = [];
  bridge.events.on('uplink.accepted', (e) => acceptedAt.set(e.devEui, performance.now()));
  bridge.events.on('thing.created', (e) => {
    const t = acceptedAt.get(e.thing);
    if (t !== undefined) restMs.push(performance.now() - t);
  });
  const fresh = await runLoadClient({
    url,
    rate: 20,
    seconds: NEW_DEVICES / 20,
    first: NEW_FIRST + k * NEW_DEVICES,
    devices: NEW_DEVICES,
  });
  await bridge.whenDrained(60_000);
  const created = latencies.sort((a, b) => a - b);
  restMs.sort((a, b) => a - b);
  globalThis.gc?.();
  const rssAfter = process.memoryUsage().rss;
  await bridge.stop({ drainTimeoutMs: 1000 });
  rmSync(spoolDir, { recursive: true, force: true });
  process.stdout.write(
    `${JSON.stringify({ fleet, bound, listedMs, pages, readyMs, rssBound, rssAfter, known, created, restMs, paced, fresh })}\n`,
  );
}

function runBridge(emu, k) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', here, 'bridge', JSON.stringify(emu), String(k)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bridge child exited ${code}`)),
    );
  });
}

async function listOnly(emu, pageSize, inFlight) {
  const { RestDirectory } = await import('../dist/bridge/index.js');
  const { ThingWorxRest } = await import('../dist/thingworx/rest.js');
  const dir = new RestDirectory(
    new ThingWorxRest({ url: emu.url, appKey: emu.appKey, ca: readFileSync(emu.caFile, 'utf8') }),
    pageSize,
    inFlight,
  );
  const t0 = performance.now();
  const r = await dir.list(template(1));
  const ms = performance.now() - t0;
  await dir.close();
  return { ms, pages: r.pages, count: r.names.length };
}

async function main() {
  const report = createReport(
    'things',
    'latency p99 at 1,000 uplinks/s with 100K Things bound / with 10K bound (1 = unchanged); bind ms per 1,000 Things',
  );
  const emu = await startEmulator();
  try {
    report.note(`ThingWorx emulator with ${SMALL + BIG} Things loaded in ${(emu.loadMs / 1000).toFixed(1)} s`);
    const one = await listOnly(emu, 1000, 1);
    const list = await listOnly(emu, 1000, 4);
    report.figure({
      id: 'list_100k_one_page_at_a_time',
      what: `list ${one.count} Things over REST, one page at a time`,
      value: one.ms,
      unit: 'ms',
    });
    report.figure({
      id: 'list_100k',
      what: `the same, 4 pages at a time (${list.pages} pages)`,
      value: list.ms,
      unit: 'ms',
    });
    report.figure({
      id: 'list_ms_per_page',
      what: 'listing per 1,000-Thing page (4 at a time)',
      value: list.ms / list.pages,
      unit: 'ms',
      digits: 1,
    });
    const small = await runBridge(emu, 0);
    const big = await runBridge(emu, 1);
    const mb = (b) => b / 1048576;
    for (const r of [small, big]) {
      const n = r.fleet.toLocaleString('en-US');
      const big = r.fleet === BIG;
      report.note(`-- ${n} Things (${r.pages} pages listed in ${r.listedMs.toFixed(0)} ms, ${r.bound} bound)`);
      report.figure({
        id: `start_${r.fleet}`,
        what: `start: list and bind ${n} Things`,
        value: r.readyMs,
        unit: 'ms',
        ...(big ? { target: '< 5000 ms', met: r.readyMs < 5000 && r.bound === r.fleet } : {}),
      });
      report.figure({
        id: `bind_ms_per_1000_${r.fleet}`,
        what: 'start per 1,000 Things',
        value: (r.readyMs / r.fleet) * 1000,
        unit: 'ms',
        ratio: true,
        digits: 1,
      });
      report.figure({
        id: `rss_bound_${r.fleet}`,
        what: `RSS of the bridge with ${n} bound`,
        value: mb(r.rssBound),
        unit: 'MB',
        ...(big ? { target: '< 600 MB', met: r.rssBound < 600 * 1048576 } : {}),
      });
      report.figure({ id: `rss_after_${r.fleet}`, what: 'RSS after the load', value: mb(r.rssAfter), unit: 'MB' });
      report.figure({
        id: `p99_${r.fleet}`,
        what: `latency p99 at 1,000/s (${r.known.length} acked, ${r.paced.bad} refused)`,
        value: pct(r.known, 99),
        unit: 'ms',
        digits: 1,
      });
      report.figure({
        id: `create_p99_${r.fleet}`,
        what: `first uplink of a new device, p99 (${r.created.length})`,
        value: pct(r.created, 99),
        unit: 'ms',
        digits: 1,
        ...(big ? { target: '< 200 ms', met: pct(r.created, 99) < 200 && r.created.length === NEW_DEVICES } : {}),
      });
      report.figure({
        id: `create_rest_p99_${r.fleet}`,
        what: '  of which ThingWorx REST (Create, Enable, Restart), p99',
        value: pct(r.restMs, 99),
        unit: 'ms',
        digits: 1,
      });
      report.figure({
        id: `create_rest_p50_${r.fleet}`,
        what: '  the same, p50 (first uplink p50: ' + pct(r.created, 50).toFixed(1) + ' ms)',
        value: pct(r.restMs, 50),
        unit: 'ms',
        digits: 1,
      });
    }
    const ratio = pct(big.known, 99) / pct(small.known, 99);
    report.figure({
      id: 'p99_big_vs_small',
      what: `p99 at 1,000/s: ${BIG / 1000}K bound / ${SMALL / 1000}K bound`,
      value: ratio,
      unit: 'x',
      target: '<= 1.5x',
      met: ratio <= 1.5,
      ratio: true,
      digits: 2,
    });
  } finally {
    emu.stop();
  }
  report.finish();
}

if (process.argv[2] === 'bridge') await bridgeChild(process.argv.slice(3));
else await main();
