// AlwaysOn client and pool, for 10,000 Things: bind time over 1 and 4 pipes, heap per bound Thing, sustained
// pushes/s over 4 pipes, and push latency p50/p99 at a paced 5,000 pushes/s. Each platform runs in its own process
// so that the client's event loop is measured alone:
// - the ThingWorx emulator (binds, and pushes for information: it stores every value, so it is the bottleneck);
// - a "null platform" that acknowledges every request without decoding it, so the push figures are the client's.
// Prints each figure against its target.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { AlwaysOnPool } from '../dist/alwayson/index.js';
import { NULL_PLATFORM } from './null-platform.js';
import { createReport, pct } from './report.js';

const report = createReport(
  'alwayson',
  'client CPU per push (µs of CPU, independent of the load); bind ms per 1,000 Things',
);

const THINGS = 10_000;
const names = Array.from({ length: THINGS }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
const dist = (p) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);

const EMULATOR = `
import { startThingWorxEmulator } from ${dist('emulators/thingworx/index.js')};
const names = Array.from({ length: ${THINGS} }, (_, i) => 'bench-' + String(i).padStart(5, '0'));
const state = {
  templates: [{ name: 'BenchTemplate', base: 'RemoteThing', properties: [{ name: 'temp', baseType: 'NUMBER' }] }],
  things: names.map((name) => ({ name, template: 'BenchTemplate' })),
};
const emu = await startThingWorxEmulator({ port: 0, state });
console.log(JSON.stringify({ wsUrl: emu.wsUrl, appKey: emu.appKey, caFile: emu.caFile }));
process.stdin.on('end', () => emu.close().then(() => process.exit(0)));
process.stdin.resume();
`;

async function startPlatform(script) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: new URL('..', import.meta.url).pathname,
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`platform exited with ${code}`)));
  });
  const info = JSON.parse(first);
  return {
    options: { url: info.wsUrl, appKey: info.appKey, ca: readFileSync(info.caFile), requestTimeoutMs: 30_000 },
    stop: () => child.stdin.end(),
  };
}

function gcHeap() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

const value = (i) => [{ name: 'temp', value: { baseType: 'NUMBER', value: i } }];

async function bindTime(options, pipeCount) {
  const heapBefore = gcHeap();
  const pool = new AlwaysOnPool({ ...options, pipeCount, unbindOnClose: false });
  await pool.start();
  const t0 = performance.now();
  await pool.bind(names);
  const ms = performance.now() - t0;
  const perThing = (gcHeap() - heapBefore) / THINGS;
  return { pool, ms, perThing };
}

async function sustained(pool, total, window) {
  let sent = 0;
  let acked = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const next = () => {
      while (sent < total && sent - acked < window) {
        const i = sent++;
        pool.push(names[i % THINGS], value(i)).then(() => {
          acked++;
          if (acked === total) resolve();
          else next();
        }, reject);
      }
    };
    next();
  });
  const cpu = process.cpuUsage(cpu0);
  return { rate: total / ((performance.now() - t0) / 1000), cpuPerPushUs: (cpu.user + cpu.system) / total };
}

async function paced(pool, perSecond, seconds) {
  const PACE_MS = 10;
  const perTick = Math.round((perSecond * PACE_MS) / 1000);
  const ticks = Math.round((seconds * 1000) / PACE_MS);
  const latencies = [];
  await new Promise((resolve, reject) => {
    let tick = 0;
    let done = 0;
    const start = performance.now();
    const fire = () => {
      for (let k = 0; k < perTick; k++) {
        const i = tick * perTick + k;
        const t = performance.now();
        pool.push(names[i % THINGS], value(i)).then(() => {
          latencies.push(performance.now() - t);
          if (++done === ticks * perTick) resolve();
        }, reject);
      }
      tick++;
      if (tick < ticks) setTimeout(fire, Math.max(0, start + tick * PACE_MS - performance.now()));
    };
    fire();
  });
  return latencies.sort((a, b) => a - b);
}

const emulator = await startPlatform(EMULATOR);
try {
  const one = await bindTime(emulator.options, 1);
  report.figure({
    id: 'bind_1_pipe',
    what: 'bind 10,000 Things, 1 pipe (emulator)',
    value: one.ms,
    unit: 'ms',
    target: '< 2000 ms',
    met: one.ms < 2000,
  });
  await one.pool.close();
  const four = await bindTime(emulator.options, 4);
  report.figure({
    id: 'bind_4_pipes',
    what: 'bind 10,000 Things, 4 pipes (emulator)',
    value: four.ms,
    unit: 'ms',
    target: '< 2000 ms',
    met: four.ms < 2000,
  });
  report.figure({
    id: 'bind_ms_per_1000',
    what: 'bind per 1,000 Things, 4 pipes',
    value: four.ms / 10,
    unit: 'ms',
    ratio: true,
    digits: 1,
  });
  report.figure({
    id: 'heap_per_thing',
    what: 'heap per bound Thing, 4 pipes',
    value: four.perThing,
    unit: 'bytes',
    target: '< 2048 B',
    met: four.perThing < 2048,
    ratio: true,
  });
  const s = await sustained(four.pool, 50_000, 2000);
  report.figure({
    id: 'emulator_pushes',
    what: 'pushes/s, 4 pipes (emulator stores each)',
    value: s.rate,
    unit: 'push/s',
  });
  const lat = await paced(four.pool, 5000, 3);
  report.figure({
    id: 'emulator_p99',
    what: 'push latency p99 @ 5,000/s (emulator)',
    value: pct(lat, 99),
    unit: 'ms',
    digits: 2,
  });
  await four.pool.close();
} finally {
  emulator.stop();
}

const nullPlatform = await startPlatform(NULL_PLATFORM);
try {
  const pool = new AlwaysOnPool({ ...nullPlatform.options, pipeCount: 4, unbindOnClose: false });
  await pool.start();
  await pool.bind(names);
  await sustained(pool, 20_000, 2000); // warm-up
  const s = await sustained(pool, 200_000, 4000);
  report.figure({
    id: 'pushes',
    what: 'sustained pushes/s, 4 pipes',
    value: s.rate,
    unit: 'push/s',
    target: '>= 20000',
    met: s.rate >= 20_000,
  });
  report.figure({
    id: 'cpu_per_push',
    what: 'client CPU per push',
    value: s.cpuPerPushUs,
    unit: 'us',
    ratio: true,
    digits: 1,
  });
  const lat = await paced(pool, 5000, 4);
  report.figure({ id: 'push_p50', what: 'push latency p50 @ 5,000/s', value: pct(lat, 50), unit: 'ms', digits: 2 });
  report.figure({
    id: 'push_p99',
    what: 'push latency p99 @ 5,000/s',
    value: pct(lat, 99),
    unit: 'ms',
    target: '< 20 ms',
    met: pct(lat, 99) < 20,
    digits: 2,
  });
  await pool.close();
} finally {
  nullPlatform.stop();
}
report.finish();
