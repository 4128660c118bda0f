// The bridge under load, 10,000 simulated devices over loopback:
// - a bare Node HTTP server that answers 202 without work, driven by the same client: its rate is the reference;
// - the bridge (in this process: ingest -> SQLite spool -> AlwaysOn pushes) driven as fast as the client can:
//   sustained uplinks/s acknowledged by ThingWorx, and the ratio to the bare server;
// - the bridge paced at 1,000 uplinks/s: p50/p99 latency from ingest to ThingWorx acknowledgement;
// - RSS of a bridge process of its own with 10,000 Things bound, after the paced load (the figure with a target), and
//   of this process after the whole run (information: it also holds the benchmark and the max-rate peak).
// The ThingWorx side is a "null platform" in its own process that acknowledges every AlwaysOn request (the
// emulator stores every value and would be the bottleneck); the 10,000 Things are known at start (listed, then
// bound). The load client runs in its own process (this file with argument `client`) and signs every uplink.
// `node bench/bridge.bench.js` (or `npm run bench -- bridge`); BENCH_SECONDS (default 6) sets each phase's length,
// BENCH_CONNECTIONS (default 256) the client's connections, BENCH_DURABILITY=normal the spool's sync mode,
// BENCH_WARMUP (default 2) the seconds of load before each measured max-rate phase (bare server and bridge alike),
// so that both are measured warm (V8 has compiled the hot code) and the figures are the steady state's;
// BENCH_REPEAT (default 3) how many max-rate phases are measured: the one with the median CPU is reported (a 2-core
// machine's run-to-run spread is about ±10 %), every run's figures in a note.
// The bridge's CPU is also split by thread (Linux): its main thread, the threads started with it (the spool's
// writer thread) and V8's (garbage collector, compiler).
// The client, the platform and the bridge share the machine: on 2 cores the client's own CPU caps every rate, so
// the CPU per uplink (and its ratio to the bare server's) is printed as well.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runLoadClient } from './load-client.js';
import { startBenchBridge, startNullPlatform } from './null-platform.js';
import { createReport, pct } from './report.js';
import { splitThreads, threadTimes } from './threads.js';

const DEVICES = 10_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));

/** The run with the median CPU per request of `runs` (each {cpuUs, …}), and every run's figure for the notes. */
function medianRun(runs) {
  const sorted = [...runs].sort((a, b) => a.cpuUs - b.cpuUs);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], all: runs };
}
const here = fileURLToPath(import.meta.url);

/** The one load client (bench/load-client.js): round-robin over the devices, as fast as possible (rate 0) or paced. */
function runClient(url, mode, rate, seconds, connections, fcntBase) {
  return runLoadClient({ url, rate: mode === 'max' ? 0 : rate, seconds, connections, devices: DEVICES, fcntBase });
}

// ---------------- the bench ----------------
/** A bare Node HTTP server answering 202 without work: the reference. */
function bare() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  return measureServer(server);
}

/**
 * The floor of any ingest on this machine: a raw TCP server that finds each request's end (headers and
 * content-length) and answers a fixed 202, no HTTP library. Not a server to run (no limits, no chunked bodies): a
 * measure of what the kernel, libuv and the streams cost per request, which no HTTP server in Node goes below.
 */
function rawFloor() {
  const answer = Buffer.from(
    'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n{}',
  );
  const server = createNetServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(pending.toString('latin1', 0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        socket.write(answer);
      }
    });
  });
  return measureServer(server);
}

/** A server of this process driven as fast as the client can: warm-up, then BENCH_REPEAT runs, the median one. */
async function measureServer(server) {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/uplink`;
  if (WARMUP > 0) await runClient(url, 'max', 0, WARMUP, CONNECTIONS, 0);
  const runs = [];
  for (let k = 0; k < REPEAT; k++) {
    const cpu0 = process.cpuUsage();
    const r = await runClient(url, 'max', 0, SECONDS, CONNECTIONS, 0);
    const cpu = process.cpuUsage(cpu0);
    runs.push({ rate: r.ok / r.elapsed, cpuUs: (cpu.user + cpu.system) / r.ok, clientCpuUs: r.cpuUs });
  }
  await new Promise((res) => server.close(res));
  return medianRun(runs);
}

/** A bridge with the 10,000 Things known at start, pushing to the null platform. */
const benchBridge = (durability, platform) =>
  startBenchBridge({ platform, devices: DEVICES, maxSpool: 1_000_000, durability });

/**
 * Child process `rss`: a bridge alone in its process, 10,000 Things bound, driven at 1,000 uplinks/s for the phase
 * length; prints its RSS once bound and after the load (after a GC).
 */
async function rssChild([platformUrl, caFile, durability]) {
  const { bridge, stop } = await benchBridge(durability, { url: platformUrl, caFile });
  globalThis.gc?.();
  const bound = process.memoryUsage().rss;
  const r = await runClient(`${bridge.url}${bridge.path}`, 'rate', 1000, SECONDS, 16, 200_000);
  await bridge.whenDrained(60_000);
  globalThis.gc?.();
  const after = process.memoryUsage().rss;
  await stop();
  process.stdout.write(`${JSON.stringify({ bound, after, ok: r.ok })}\n`);
}

function measureRss(durability, platform) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', here, 'rss', platform.url, platform.caFile, durability], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`rss child exited ${code}`))));
  });
}

async function measure(durability, platform) {
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  await import('node:fs/promises').then((fs) => fs.stat('.')); // libuv's pool started before the snapshot
  const threads0 = threadTimes();
  const { bridge, bindMs, stop } = await benchBridge(durability, platform);
  const url = `${bridge.url}${bridge.path}`;
  let acked = 0;
  let latencies;
  bridge.events.on('push.acked', (e) => {
    acked++;
    latencies?.push(e.latencyMs);
  });

  // warm-up (not measured): the same load, so that the phase below measures compiled code, then drained
  if (WARMUP > 0) {
    await runClient(url, 'max', 0, WARMUP, CONNECTIONS, 1_000_000);
    await bridge.whenDrained(120_000);
  }
  // sustained: as fast as the client can, then until everything is acknowledged by ThingWorx; BENCH_REPEAT runs,
  // the one with the median CPU per uplink reported (its figures together), every run's in a note
  const runs = [];
  for (let k = 0; k < REPEAT; k++) {
    acked = 0;
    const t0 = performance.now();
    const threads1 = threadTimes();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const r1 = await runClient(url, 'max', 0, SECONDS, CONNECTIONS, 1 + k * 1000);
    const elu = performance.eventLoopUtilization(elu0).utilization;
    await bridge.whenDrained(120_000);
    const cpu1 = process.cpuUsage(cpu0);
    const split = splitThreads(threads0, threads1, threadTimes());
    runs.push({
      cpuUs: (cpu1.user + cpu1.system) / acked,
      split: split && Object.fromEntries(Object.entries(split).map(([key, us]) => [key, us / acked])),
      sustained: acked / ((performance.now() - t0) / 1000),
      ingest: r1.ok / r1.elapsed,
      elu,
    });
    if (r1.bad) console.log(`  (${r1.bad} refused: ${r1.firstBad})`);
  }
  const out = { bindMs, ...medianRun(runs) };

  // paced at 1,000/s: latency ingest -> ThingWorx acknowledgement
  // and the CPU per uplink at that rate (real deployments run paced, far below the maximum)
  acked = 0;
  latencies = [];
  const cpuPaced0 = process.cpuUsage();
  const r2 = await runClient(url, 'rate', 1000, SECONDS, 16, 100_000);
  await bridge.whenDrained(60_000);
  const cpuPaced = process.cpuUsage(cpuPaced0);
  out.cpuPacedUs = (cpuPaced.user + cpuPaced.system) / acked;
  out.latencies = latencies.slice().sort((a, b) => a - b);
  if (r2.bad) console.log(`  (${r2.bad} refused: ${r2.firstBad})`);
  globalThis.gc?.();
  out.rss = process.memoryUsage().rss;
  out.rss0 = rss0;
  await stop();
  out.own = await measureRss(durability, platform);
  return out;
}

async function main() {
  const bareFigures = await bare();
  const rawFigures = await rawFloor();
  const platform = await startNullPlatform();
  const modes = (process.env.BENCH_DURABILITY ?? 'full,normal').split(',');
  const results = [];
  for (const mode of modes) results.push([mode, await measure(mode, platform)]);
  platform.stop();

  const report = createReport(
    'bridge',
    'bare server CPU per request / bridge CPU per uplink (the load-independent ratio; sustained/bare depends on how much CPU the client leaves)',
  );
  report.note(
    `bridge: ${DEVICES} devices, Things bound at start; ${SECONDS} s per phase after ${WARMUP} s of warm-up, ${CONNECTIONS} connections`,
  );
  report.note(
    `bare server: ${REPEAT} runs, the median one below: CPU per request ${bareFigures.all.map((x) => x.cpuUs.toFixed(1)).join(' / ')} us`,
  );
  report.figure({
    id: 'bare_rate',
    what: 'bare Node HTTP server answering 202',
    value: bareFigures.rate,
    unit: 'req/s',
  });
  report.figure({ id: 'bare_cpu', what: 'CPU per request: bare server', value: bareFigures.cpuUs, unit: 'us' });
  report.figure({
    id: 'raw_cpu',
    what: 'CPU per request: raw TCP answer, no HTTP library (floor)',
    value: rawFigures.cpuUs,
    unit: 'us',
  });
  report.figure({
    id: 'client_cpu',
    what: 'CPU per request: the load client (signs each uplink)',
    value: bareFigures.clientCpuUs,
    unit: 'us',
  });
  for (const [mode, r] of results) {
    const p99 = pct(r.latencies, 99);
    const ratio = (100 * r.sustained) / bareFigures.rate;
    const cpuRatio = (100 * bareFigures.cpuUs) / r.cpuUs;
    const id = (k) => `${mode}.${k}`;
    report.note(`-- spool durability ${mode} (bind of ${DEVICES} Things: ${(r.bindMs / 1000).toFixed(1)} s)`);
    report.note(
      `   ${r.all.length} runs, the median one below: CPU per uplink ${r.all.map((x) => x.cpuUs.toFixed(1)).join(' / ')} us, sustained ${r.all.map((x) => Math.round(x.sustained)).join(' / ')}/s`,
    );
    report.figure({ id: id('bind'), what: `bind of ${DEVICES} Things at start`, value: r.bindMs, unit: 'ms' });
    report.figure({
      id: id('ingest'),
      what: 'bridge ingest (2xx, stored in the spool)',
      value: r.ingest,
      unit: 'uplinks/s',
    });
    // the targets are for durability full (every group commit synced); normal is shown beside it
    const full = mode === 'full';
    report.figure({
      id: id('sustained'),
      what: 'bridge sustained (acknowledged by ThingWorx)',
      value: r.sustained,
      unit: 'uplinks/s',
      ...(full ? { target: '>= 8000', met: r.sustained >= 8000 } : {}),
    });
    report.figure({
      id: id('sustained_vs_bare'),
      what: 'sustained / bare',
      value: ratio,
      unit: '%',
      target: '>= 40 %',
      met: ratio >= 40,
      ratio: true,
    });
    report.figure({
      id: id('cpu'),
      what: 'CPU per uplink: bridge (ingest+spool+push)',
      value: r.cpuUs,
      unit: 'us',
      ...(full ? { target: '<= 100', met: r.cpuUs <= 100 } : {}),
    });
    if (r.split) {
      report.figure({ id: id('cpu_main'), what: '  of which main thread', value: r.split.main, unit: 'us' });
      report.figure({
        id: id('cpu_writer'),
        what: '  of which spool writer thread',
        value: r.split.started,
        unit: 'us',
      });
      report.figure({
        id: id('cpu_v8'),
        what: '  of which V8 threads (GC, compiler)',
        value: r.split.others,
        unit: 'us',
      });
    }
    report.figure({
      id: id('cpu_vs_bare'),
      what: 'bare CPU / bridge CPU (load-independent ratio)',
      value: cpuRatio,
      unit: '%',
      ratio: true,
      ...(full ? { target: '>= 40 %', met: cpuRatio >= 40 } : {}),
    });
    report.figure({ id: id('elu'), what: 'bridge event-loop utilisation while driven', value: 100 * r.elu, unit: '%' });
    report.figure({
      id: id('cpu_paced'),
      what: 'CPU per uplink at a paced 1,000/s (16 connections)',
      value: r.cpuPacedUs,
      unit: 'us',
    });
    report.figure({
      id: id('p50'),
      what: `latency p50 at 1,000/s (${r.latencies.length} uplinks)`,
      value: pct(r.latencies, 50),
      unit: 'ms',
      digits: 1,
    });
    report.figure({
      id: id('p99'),
      what: 'latency p99 at 1,000/s',
      value: p99,
      unit: 'ms',
      target: '< 25 ms',
      met: p99 < 25,
      digits: 1,
    });
    const mb = (b) => b / 1048576;
    report.figure({
      id: id('rss_bound'),
      what: `RSS, bridge process, ${DEVICES} Things bound`,
      value: mb(r.own.bound),
      unit: 'MB',
    });
    report.figure({
      id: id('rss_after'),
      what: `RSS, same, after ${SECONDS} s at 1,000/s (${r.own.ok} ok)`,
      value: mb(r.own.after),
      unit: 'MB',
      target: '< 200 MB',
      met: r.own.after < 200 * 1048576,
    });
    report.figure({
      id: id('rss_this'),
      what: `RSS, this process after max rate (before ${mb(r.rss0).toFixed(0)})`,
      value: mb(r.rss),
      unit: 'MB',
    });
  }
  report.finish();
}

if (process.argv[2] === 'rss') await rssChild(process.argv.slice(3));
else await main();
