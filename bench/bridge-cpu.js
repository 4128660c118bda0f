import { performance } from 'node:perf_hooks';
import { runLoadClient } from './load-client.js';
import { startBenchBridge, startNullPlatform } from './null-platform.js';
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
async function startCpuBridge() {
  const platform = await startNullPlatform();
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
  const { bridge, stop } = await startBenchBridge({
    platform,
    devices: DEVICES,
    ...(process.env.BENCH_SINK === 'none' ? { sink: noSink } : {}),
    maxSpool: 1_000_000,
    durability,
  });
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
      await stop();
      platform.stop();
    },
  };
}

await import('node:fs/promises').then((fs) => fs.stat('.')); // libuv's pool started before the snapshot
const threads0 = threadTimes();
const target = BARE ? await startBare() : await startCpuBridge();
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
