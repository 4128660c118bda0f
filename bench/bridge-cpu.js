// A tool, not a benchmark (run.js does not run it): one bridge (ingest -> SQLite spool in its writer thread ->
// AlwaysOn pushes to the null platform), 10,000 devices known at start, driven by the load client in a process of
// its own; prints the bridge process's CPU (both threads, process.cpuUsage) per uplink acknowledged by ThingWorx.
// Only the bridge runs in this process, so a profile of it is the bridge's alone:
//   node --cpu-prof --cpu-prof-dir=prof bench/bridge-cpu.js          (main thread + writer thread profiles)
//   BENCH_CALLGRIND=1 BENCH_RATE=40 BENCH_SECONDS=25 valgrind --tool=callgrind node bench/bridge-cpu.js
//     (instructions: the counters are zeroed before the load and dumped after the drain through callgrind_control,
//     so the last dump, callgrind.out.<pid>.1, counts the load alone, both threads; divide by `acked`)
// BENCH_SECONDS (default 6), BENCH_RATE (default 0: as fast as possible; else uplinks/s, exactly rate x seconds),
// BENCH_DURABILITY (default full), BENCH_CONNECTIONS (default 256 at max rate, 16 paced), BENCH_WARMUP (default
// 2: seconds of the same load before the measured phase, not counted; 0 measures from cold).
// BENCH_SINK=none replaces the AlwaysOn pool with a sink that acknowledges every push at once (no socket, no
// encoding): the difference to the default is what the AlwaysOn side costs per uplink.
// Besides the total it prints the CPU per uplink of the main thread, of the threads started with the bridge (the
// spool's writer thread) and of the others (V8's garbage collector and compiler threads), on Linux.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AS_ID, AS_KEY, devEui, runLoadClient } from './load-client.js';
import { startNullPlatform } from './null-platform.js';
import { splitThreads, threadTimes } from './threads.js';

const DEVICES = 10_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RATE = Number(process.env.BENCH_RATE ?? 0);
const durability = process.env.BENCH_DURABILITY ?? 'full';
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);

const platform = await startNullPlatform();
const { AlwaysOnPool } = await import('../dist/alwayson/index.js');
const { PoolSink, startBridge } = await import('../dist/bridge/index.js');
const spoolDir = mkdtempSync(join(tmpdir(), 'tpx-bench-cpu-'));
const names = Array.from({ length: DEVICES }, (_, i) => devEui(i));
await import('node:fs/promises').then((fs) => fs.stat('.')); // libuv's pool started before the snapshot
const threads0 = threadTimes();
/** BENCH_SINK=none: every push acknowledged at once, nothing encoded or sent. */
const noSink = {
  pipeCount: 1,
  start: async () => {},
  bind: async () => ({ refused: [] }),
  unbind: async () => {},
  push: () => Promise.resolve(),
  onPropertyWrite() {},
  onStatus() {},
  isConnected: () => true,
  close: async () => {},
};
const poolSink = new PoolSink(
  () =>
    new AlwaysOnPool({
      url: platform.url,
      appKey: 'bench',
      ca: readFileSync(platform.caFile),
      requestTimeoutMs: 30_000,
      maxInFlight: 4096,
    }),
);
const bridge = await startBridge({
  listen: '127.0.0.1:0',
  spoolDir,
  asId: AS_ID,
  asKey: AS_KEY,
  template: 'actilityThingTemplateSF',
  sink: process.env.BENCH_SINK === 'none' ? noSink : poolSink,
  directory: { list: async () => ({ names, pages: DEVICES / 1000 }), create: async () => 'exists' },
  maxSpool: 1_000_000,
  durability,
});
await bridge.whenReady();
let acked = 0;
bridge.events.on('push.acked', () => acked++);
const callgrind = async (flag) => {
  if (!process.env.BENCH_CALLGRIND) return;
  const { spawn } = await import('node:child_process');
  await new Promise((resolve) =>
    spawn('callgrind_control', [flag, String(process.pid)], { stdio: 'ignore' }).on('exit', resolve),
  );
};
const load = (seconds, fcntBase) =>
  runLoadClient({
    url: `${bridge.url}${bridge.path}`,
    rate: RATE,
    seconds,
    connections: Number(process.env.BENCH_CONNECTIONS ?? (RATE ? 16 : 256)),
    devices: DEVICES,
    fcntBase,
  });
if (WARMUP > 0 && !process.env.BENCH_CALLGRIND) {
  await load(WARMUP, 1_000_000);
  await bridge.whenDrained(120_000);
  acked = 0;
}
await callgrind('-z');
const t0 = performance.now();
const threads1 = threadTimes();
const cpu0 = process.cpuUsage();
const r = await load(SECONDS, 0);
await bridge.whenDrained(120_000);
const cpu = process.cpuUsage(cpu0);
const split = splitThreads(threads0, threads1, threadTimes());
await callgrind('-d');
const seconds = (performance.now() - t0) / 1000;
await bridge.stop({ drainTimeoutMs: 1000 });
platform.stop();
rmSync(spoolDir, { recursive: true, force: true });
const out = {
  durability,
  sink: process.env.BENCH_SINK === 'none' ? 'none' : 'alwayson',
  acked,
  refused: r.bad,
  uplinksPerSecond: Math.round(acked / seconds),
  cpuUsPerUplink: Number(((cpu.user + cpu.system) / acked).toFixed(1)),
  userUs: Number((cpu.user / acked).toFixed(1)),
  systemUs: Number((cpu.system / acked).toFixed(1)),
};
if (split) {
  out.mainThreadUs = Number((split.main / acked).toFixed(1));
  out.writerThreadUs = Number((split.started / acked).toFixed(1));
  out.v8ThreadsUs = Number((split.others / acked).toFixed(1));
}
process.stdout.write(`${JSON.stringify(out)}\n`);
