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
// BENCH_SERVER=bare drives the bare Node HTTP server of bridge.bench.js instead (the yardstick of the CPU ratio), in
// the same harness, so `BENCH_SERVER=bare node bench/perf.js` profiles it.
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

const BARE = process.env.BENCH_SERVER === 'bare';

/** The bare Node HTTP server of bridge.bench.js (answers 202, no work): the yardstick, in the same harness. */
async function startBare() {
  const { createServer } = await import('node:http');
  let answered = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
      answered += 1;
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/uplink`,
    count: () => answered,
    reset: () => {
      answered = 0;
    },
    drained: async () => {},
    stop: () => new Promise((r) => server.close(r)),
  };
}

/** The bridge with 10,000 devices known at start; counts the uplinks ThingWorx acknowledged. */
async function startBenchBridge() {
  const platform = await startNullPlatform();
  const { AlwaysOnPool } = await import('../dist/alwayson/index.js');
  const { PoolSink, startBridge } = await import('../dist/bridge/index.js');
  const spoolDir = mkdtempSync(join(tmpdir(), 'tpx-bench-cpu-'));
  const names = Array.from({ length: DEVICES }, (_, i) => devEui(i));
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
  return {
    url: `${bridge.url}${bridge.path}`,
    count: () => acked,
    reset: () => {
      acked = 0;
    },
    drained: () => bridge.whenDrained(120_000),
    stop: async () => {
      await bridge.stop({ drainTimeoutMs: 1000 });
      platform.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

await import('node:fs/promises').then((fs) => fs.stat('.')); // libuv's pool started before the snapshot
const threads0 = threadTimes();
const target = BARE ? await startBare() : await startBenchBridge();
const callgrind = async (flag) => {
  if (!process.env.BENCH_CALLGRIND) return;
  const { spawn } = await import('node:child_process');
  await new Promise((resolve) =>
    spawn('callgrind_control', [flag, String(process.pid)], { stdio: 'ignore' }).on('exit', resolve),
  );
};
const load = (seconds, fcntBase) =>
  runLoadClient({
    url: target.url,
    rate: RATE,
    seconds,
    connections: Number(process.env.BENCH_CONNECTIONS ?? (RATE ? 16 : 256)),
    devices: DEVICES,
    fcntBase,
  });
if (WARMUP > 0 && !process.env.BENCH_CALLGRIND) {
  await load(WARMUP, 1_000_000);
  await target.drained();
  target.reset();
}
await callgrind('-z');
const mono0 = process.hrtime.bigint();
const t0 = performance.now();
const threads1 = threadTimes();
const cpu0 = process.cpuUsage();
const r = await load(SECONDS, 0);
await target.drained();
const acked = target.count();
const cpu = process.cpuUsage(cpu0);
const split = splitThreads(threads0, threads1, threadTimes());
await callgrind('-d');
const mono1 = process.hrtime.bigint();
const seconds = (performance.now() - t0) / 1000;
await target.stop();
const out = {
  server: BARE ? 'bare' : 'bridge',
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
// the measured phase on CLOCK_MONOTONIC (seconds), the clock of `perf record -k 1`: bench/perf.js keeps its samples
out.monotonic = [Number(mono0) / 1e9, Number(mono1) / 1e9];
process.stdout.write(`${JSON.stringify(out)}\n`);
