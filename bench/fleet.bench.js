// A fleet of bridges on RabbitMQ (issue 18): `tpx bridge --queue` processes sharing the uplinks of DEVICES devices
// through a consistent-hash exchange and BENCH_QUEUES quorum queues with single active consumer, in front of the
// ThingWorx emulator (its own process, "Last in wins").
// - throughput with 1, 2 and 3 bridges: signed uplinks driven as fast as one load client per ingest allows for
//   BENCH_SECONDS, after the fleet settled (three heartbeats after the last bridge started); the rate is those
//   uplinks over the time until ThingWorx acknowledged the last of them (the bridges' push.acked events);
// - failover: uplinks of 64 devices paced at 200/s through the first bridge's ingest while the last bridge is
//   killed (-9): the time from the kill to the first push, by another bridge, of a device the killed one had pushed
//   in that phase; and to the last of them.
// The machine-independent figures: the throughput of 2 and 3 bridges over that of 1 (on a 2-core machine the
// bridges, the broker, the emulator and the clients share the same CPUs: expect well under 2x and 3x), and the
// failover time over the heartbeat period (the broker notices a killed process at once: it closes the TCP
// connection; the next consumer of each queue takes over).
// Needs a broker: BENCH_AMQP (default amqp://guest:guest@127.0.0.1:5672) with rabbitmq_consistent_hash_exchange;
// without one it says so and reports nothing. The fleet's exchanges and queues (random prefix) are deleted after.
// `node bench/fleet.bench.js` (or `npm run bench -- fleet`); BENCH_DEVICES (default 2000), BENCH_SECONDS (default 6).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AS_ID, AS_KEY, devEui, runLoadClient } from './load-client.js';
import { startChild } from './null-platform.js';
import { createReport, pct } from './report.js';

const AMQP = process.env.BENCH_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
const DEVICES = Number(process.env.BENCH_DEVICES ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const QUEUES = Number(process.env.BENCH_QUEUES ?? 16);
const FAILOVER_DEVICES = 64;
const HEARTBEAT_MS = 2000; // the bridges' default heartbeat period (fleet/types.ts FLEET_DEFAULTS)
const TEMPLATE = 'tpxBenchFleet';
const PREFIX = `tpxbench-${randomBytes(4).toString('hex')}`;
const TPX = new URL('../bin/tpx.js', import.meta.url).pathname;
const dist = (p) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);

const report = createReport(
  'fleet',
  'throughput of 2 and 3 bridges / 1 bridge (same run); failover time / heartbeat period',
);

const EMULATOR = `
import { startThingWorxEmulator } from ${dist('emulators/thingworx/index.js')};
import { TEMPLATE_PROPERTIES } from ${dist('thingworx/template.js')};
const devEui = ${devEui.toString()};
const properties = TEMPLATE_PROPERTIES.map((p) => ({ name: p.name, baseType: p.baseType }));
const state = {
  templates: [{ name: ${JSON.stringify(TEMPLATE)}, base: 'RemoteThing', properties }],
  things: Array.from({ length: ${DEVICES} }, (_, i) => ({ name: devEui(i), template: ${JSON.stringify(TEMPLATE)} })),
};
const emu = await startThingWorxEmulator({ port: 0, state });
emu.setBindPolicy?.('last-in-wins');
console.log(JSON.stringify({ url: emu.restUrl, appKey: emu.appKey, caFile: emu.caFile }));
process.stdin.on('end', () => emu.close().then(() => process.exit(0)));
process.stdin.resume();
`;

async function brokerProblem() {
  try {
    const amqp = await import('amqplib');
    const c = await amqp.connect(AMQP, { timeout: 2000 });
    await c.close();
    return undefined;
  } catch (err) {
    return `no RabbitMQ answers at ${AMQP.replace(/\/\/[^@/]*@/, '//')} (${err.message})`;
  }
}

function startEmulator() {
  return startChild(EMULATOR, 'emulator');
}

/** Every uplink ThingWorx acknowledged, from every bridge's events: {bridge, devEui, at (ms)}. */
const delivered = [];
const waiters = [];

/** One `tpx bridge --queue` process; resolves once it listens and is ready. */
async function startBridge(emu, id, home) {
  const spoolDir = mkdtempSync(join(tmpdir(), `tpx-bench-fleet-${id}-`));
  const args = [
    TPX,
    'bridge',
    '--queue',
    AMQP,
    '--fleet-queues',
    String(QUEUES),
    '--fleet-prefix',
    PREFIX,
    '--bridge-id',
    id,
    '--listen',
    '127.0.0.1:0',
    '--thingworx-url',
    emu.url,
    '--app-key',
    emu.appKey,
    '--as-id',
    AS_ID,
    '--as-key',
    AS_KEY,
    '--spool-dir',
    spoolDir,
    '--template',
    TEMPLATE,
    '--max-devices',
    String(DEVICES * 2),
    '--json',
    '--verbose',
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, XDG_CONFIG_HOME: home, XDG_STATE_HOME: home, TPX_THINGWORX_CA: emu.caFile },
  });
  let url;
  await new Promise((resolve, reject) => {
    let ready = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      if (e.event === 'bridge.listening') url = `${e.url}${e.path}`;
      if (e.event === 'bridge.ready') ready = true;
      if (process.env.BENCH_DEBUG && e.event !== 'push.acked') console.error(id, line.slice(0, 300));
      // ThingWorx acknowledged an uplink: push.acked of kind uplink (its Thing is the DevEUI)
      if (e.event === 'push.acked' && e.kind === 'uplink') {
        const d = { bridge: id, devEui: e.thing, at: Date.parse(e.time) };
        delivered.push(d);
        for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].test(d)) waiters.splice(i, 1)[0].resolve(d);
      }
      if (ready && url) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bridge ${id} exited with ${code} before it was ready`)));
  });
  return { id, child, url, spoolDir };
}

const settle = (ms) => new Promise((r) => setTimeout(r, ms));
const firstDelivery = (test, timeoutMs) =>
  new Promise((resolve) => {
    const found = delivered.find(test);
    if (found) return resolve(found);
    const w = { test, resolve };
    waiters.push(w);
    setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) waiters.splice(i, 1);
      resolve(undefined);
    }, timeoutMs);
  });

/**
 * Every ingest driven as fast as it goes for SECONDS (one load client each, its own devices); the rate is the uplinks
 * the ingests acknowledged over the time until ThingWorx acknowledged the last of them (so no backlog is left for the
 * next phase).
 */
async function throughput(bridges, fcntBase) {
  const t0 = Date.now();
  const from = delivered.length;
  const per = Math.floor(DEVICES / bridges.length);
  const runs = await Promise.all(
    bridges.map((b, k) =>
      runLoadClient({
        url: b.url,
        rate: 0,
        seconds: SECONDS,
        connections: 32,
        first: k * per,
        devices: per,
        fcntBase,
      }),
    ),
  );
  const ok = runs.reduce((s, r) => s + r.ok, 0);
  const bad = runs.reduce((s, r) => s + r.bad, 0);
  if (bad) report.note(`${bridges.length} bridge(s): ${bad} uplink(s) refused (${runs.find((r) => r.bad)?.firstBad})`);
  const all = await untilDelivered(from + ok, 180_000);
  const last = delivered[delivered.length - 1]?.at ?? Date.now();
  if (!all)
    report.note(
      `${bridges.length} bridge(s): ${delivered.length - from} of ${ok} acknowledged uplinks pushed within 180 s`,
    );
  return { rate: (delivered.length - from) / ((last - t0) / 1000), ok, seconds: (last - t0) / 1000 };
}

/** Resolves true once `n` uplinks were pushed in all, false after `timeoutMs`. */
function untilDelivered(n, timeoutMs) {
  if (delivered.length >= n) return Promise.resolve(true);
  return new Promise((resolve) => {
    const w = { test: () => delivered.length >= n, resolve: () => resolve(true) };
    waiters.push(w);
    setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) waiters.splice(i, 1);
      resolve(false);
    }, timeoutMs);
  });
}

async function cleanup() {
  try {
    const amqp = await import('amqplib');
    const c = await amqp.connect(AMQP, { timeout: 2000 });
    const ch = await c.createChannel();
    for (let i = 0; i < QUEUES; i++) await ch.deleteQueue(`${PREFIX}.q.${String(i).padStart(3, '0')}`).catch(() => {});
    await ch.deleteQueue(`${PREFIX}.dead`).catch(() => {});
    await ch.deleteExchange(`${PREFIX}.uplinks`).catch(() => {});
    await ch.deleteExchange(`${PREFIX}.status`).catch(() => {});
    await c.close();
  } catch (err) {
    report.note(`cleanup of ${PREFIX}.* failed: ${err.message}`);
  }
}

async function main() {
  const problem = await brokerProblem();
  if (problem) {
    report.note(`skipped: ${problem}`);
    report.finish({ skipped: problem });
    return;
  }
  const emu = await startEmulator();
  const home = mkdtempSync(join(tmpdir(), 'tpx-bench-fleet-home-'));
  const bridges = [];
  const spools = [];
  try {
    const rates = [];
    for (let n = 1; n <= 3; n++) {
      bridges.push(await startBridge(emu, `bench-${n}`, home));
      spools.push(bridges[n - 1].spoolDir);
      await settle(3 * HEARTBEAT_MS); // the fleet spreads its queues over the members it heard
      const t = await throughput(bridges, n * 1_000_000);
      rates.push(t.rate);
      report.note(
        `${n} bridge(s): ${t.ok} uplinks acknowledged by the ingests, all pushed in ${t.seconds.toFixed(1)} s`,
      );
      report.figure({
        id: `throughput_${n}`,
        what: `uplinks/s pushed, ${n} bridge(s)`,
        value: t.rate,
        unit: '/s',
        target: '(info)',
      });
    }
    report.figure({
      id: 'scaling_2',
      what: 'throughput 2 bridges / 1 bridge',
      value: rates[1] / rates[0],
      unit: 'x',
      target: '(info)',
      ratio: true,
    });
    report.figure({
      id: 'scaling_3',
      what: 'throughput 3 bridges / 1 bridge',
      value: rates[2] / rates[0],
      unit: 'x',
      target: '(info)',
      ratio: true,
    });

    // ---- failover: paced load through the first ingest, the last bridge killed -9 mid-way ----
    // FAILOVER_DEVICES devices at 200/s: each sends every FAILOVER_DEVICES / 200 s, so a device of the killed
    // bridge sends again soon after the kill.
    const victim = bridges[2];
    const since = Date.now();
    const load = runLoadClient({
      url: bridges[0].url,
      rate: 200,
      seconds: 4 + (3 * HEARTBEAT_MS) / 1000,
      connections: 16,
      devices: FAILOVER_DEVICES,
      fcntBase: 9_000_000,
    });
    await settle(2000);
    const owned = new Set(delivered.filter((d) => d.bridge === victim.id && d.at >= since).map((d) => d.devEui));
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    bridges.pop();
    const first = await firstDelivery((d) => d.at >= killedAt && d.bridge !== victim.id && owned.has(d.devEui), 30_000);
    await load;
    const resumed = new Map();
    for (const d of delivered) {
      if (d.at >= killedAt && d.bridge !== victim.id && owned.has(d.devEui) && !resumed.has(d.devEui))
        resumed.set(d.devEui, d.at - killedAt);
    }
    const times = [...resumed.values()].sort((a, b) => a - b);
    report.note(
      `failover: ${owned.size} device(s) were pushed by ${victim.id}; ${resumed.size} were pushed by another bridge after the kill`,
    );
    if (first) {
      const ms = first.at - killedAt;
      report.figure({
        id: 'failover_first_ms',
        what: 'kill -9 -> first push by the new owner',
        value: ms,
        unit: 'ms',
        target: `< ${2 * HEARTBEAT_MS}`,
        met: ms < 2 * HEARTBEAT_MS,
      });
      report.figure({
        id: 'failover_all_ms',
        what: 'kill -9 -> the last of its devices pushed again',
        value: times[times.length - 1] ?? Number.NaN,
        unit: 'ms',
        target: '(info)',
      });
      report.figure({
        id: 'failover_p50_ms',
        what: 'kill -9 -> a device pushed again, p50',
        value: pct(times, 50) ?? Number.NaN,
        unit: 'ms',
        target: '(info)',
      });
      report.figure({
        id: 'failover_per_heartbeat',
        what: 'failover (first push) / heartbeat period',
        value: ms / HEARTBEAT_MS,
        unit: 'x',
        target: '< 2',
        met: ms < 2 * HEARTBEAT_MS,
        ratio: true,
      });
    } else {
      report.figure({
        id: 'failover_first_ms',
        what: 'kill -9 -> first push by the new owner',
        value: Number.NaN,
        unit: 'ms',
        target: `< ${2 * HEARTBEAT_MS}`,
        met: false,
      });
      report.note('no device of the killed bridge was pushed by another within 30 s');
    }
  } finally {
    for (const b of bridges) b.child.kill('SIGTERM');
    await Promise.all(
      bridges.map((b) => new Promise((r) => (b.child.exitCode !== null ? r() : b.child.once('exit', r)))),
    );
    for (const dir of spools) rmSync(dir, { recursive: true, force: true });
    emu.stop();
    rmSync(home, { recursive: true, force: true });
    await cleanup();
  }
  report.finish({ devices: DEVICES, queues: QUEUES, seconds: SECONDS, prefix: PREFIX });
}

await main();
