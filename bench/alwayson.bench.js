// AlwaysOn client and pool against the ThingWorx emulator (run in its own process, so the client's event loop is
// measured alone): for 10,000 Things, bind time over 1 and 4 pipes, sustained pushes/s over 4 pipes, push latency
// p50/p99 at a paced 5,000 pushes/s, and heap per bound Thing. Prints each figure against its target.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { AlwaysOnPool } from '../dist/alwayson/index.js';

const THINGS = 10_000;
const names = Array.from({ length: THINGS }, (_, i) => `bench-${String(i).padStart(5, '0')}`);

const EMULATOR = `
import { startThingWorxEmulator } from ${JSON.stringify(new URL('../dist/emulators/thingworx/index.js', import.meta.url).href)};
const names = Array.from({ length: ${THINGS} }, (_, i) => 'bench-' + String(i).padStart(5, '0'));
const state = {
  templates: [{ name: 'BenchTemplate', base: 'RemoteThing', properties: [{ name: 'temp', baseType: 'NUMBER' }] }],
  things: names.map((name) => ({ name, template: 'BenchTemplate' })),
  subsystem: { bindProtectionPolicy: 'last-in-wins' },
};
const emu = await startThingWorxEmulator({ port: 0, state });
console.log(JSON.stringify({ restUrl: emu.restUrl, wsUrl: emu.wsUrl, appKey: emu.appKey, caFile: emu.caFile }));
process.stdin.on('end', () => emu.close().then(() => process.exit(0)));
process.stdin.resume();
`;

async function startEmulator() {
  const child = spawn(process.execPath, ['--input-type=module', '-e', EMULATOR], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { ...JSON.parse(first), stop: () => child.stdin.end() };
}

function gcHeap() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const rows = [];
function report(what, value, unit, target, ok) {
  rows.push({ what, value, unit, target, ok });
  console.log(
    `${what.padEnd(34)} ${String(value).padStart(10)} ${unit.padEnd(9)} target ${target.padEnd(10)} ${ok ? 'ok' : 'MISSED'}`,
  );
}

const emu = await startEmulator();
const ca = readFileSync(emu.caFile);
const options = { url: emu.wsUrl, appKey: emu.appKey, ca, requestTimeoutMs: 30_000, unbindOnClose: false };
const value = (i) => [{ name: 'temp', value: { baseType: 'NUMBER', value: i } }];

try {
  // Bind over 1 pipe.
  let pool = new AlwaysOnPool({ ...options, pipeCount: 1 });
  await pool.start();
  let t0 = performance.now();
  await pool.bind(names);
  const bind1 = performance.now() - t0;
  report('bind 10,000 Things, 1 pipe', bind1.toFixed(0), 'ms', '< 2000 ms', bind1 < 2000);
  await pool.close();

  // Bind over 4 pipes, measuring the heap the bound Things take.
  const heapBefore = gcHeap();
  pool = new AlwaysOnPool({ ...options, pipeCount: 4 });
  await pool.start();
  t0 = performance.now();
  await pool.bind(names);
  const bind4 = performance.now() - t0;
  const perThing = (gcHeap() - heapBefore) / THINGS;
  report('bind 10,000 Things, 4 pipes', bind4.toFixed(0), 'ms', '< 2000 ms', bind4 < 2000);
  report('heap per bound Thing (4 pipes)', perThing.toFixed(0), 'bytes', '< 2048 B', perThing < 2048);

  // Sustained pushes over 4 pipes: keep a window of pushes outstanding.
  const TOTAL = 100_000;
  const WINDOW = 2000;
  let sent = 0;
  let acked = 0;
  t0 = performance.now();
  await new Promise((resolve, reject) => {
    const next = () => {
      while (sent < TOTAL && sent - acked < WINDOW) {
        const i = sent++;
        pool.push(names[i % THINGS], value(i)).then(() => {
          acked++;
          if (acked === TOTAL) resolve();
          else next();
        }, reject);
      }
    };
    next();
  });
  const rate = TOTAL / ((performance.now() - t0) / 1000);
  report('sustained pushes/s, 4 pipes', rate.toFixed(0), 'push/s', '>= 20000', rate >= 20_000);

  // Latency at a paced 5,000 pushes/s (50 every 10 ms) for 4 s.
  const latencies = [];
  const PACE_MS = 10;
  const PER_TICK = 50;
  const TICKS = 400;
  await new Promise((resolve, reject) => {
    let tick = 0;
    let done = 0;
    const start = performance.now();
    const fire = () => {
      for (let k = 0; k < PER_TICK; k++) {
        const i = tick * PER_TICK + k;
        const t = performance.now();
        pool.push(names[i % THINGS], value(i)).then(() => {
          latencies.push(performance.now() - t);
          if (++done === TICKS * PER_TICK) resolve();
        }, reject);
      }
      tick++;
      if (tick < TICKS) setTimeout(fire, Math.max(0, start + tick * PACE_MS - performance.now()));
    };
    fire();
  });
  latencies.sort((a, b) => a - b);
  report('push latency p50 @ 5,000/s', pct(latencies, 50).toFixed(2), 'ms', '-', true);
  report('push latency p99 @ 5,000/s', pct(latencies, 99).toFixed(2), 'ms', '< 20 ms', pct(latencies, 99) < 20);
  await pool.close();
} finally {
  emu.stop();
}
const missed = rows.filter((r) => !r.ok).length;
console.log(missed ? `${missed} target(s) missed` : 'all targets met');
