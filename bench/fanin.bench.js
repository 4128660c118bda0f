// Uplink fan-in as LoRaWAN has it: 100,000 DevEUIs, most reporting once every 15 minutes, 1% hot ones every 5 s
// (about 110 + 200 = 310 uplinks/s), for 10 minutes, into one bridge (spool durability full, dedup window 10 min)
// pushing to a null platform. Sampled over the run: RSS, heap, dedup entries, spool file size (database + WAL),
// reports waiting, replay memory (its tables' bytes, read from the bridge). Figures: RSS growth over the second half of
// the run beyond the dedup entries and replay memory added (flat), dedup entries against their bound (rate x (window
// + the 60 s prune period)), the spool's largest size.
// The full run takes 10 minutes: `node bench/fanin.bench.js --full` (or `npm run bench -- fanin --full`). By default
// the same traffic is played in BENCH_FANIN_SECONDS (default 120) seconds: every rate times 600/seconds and the
// dedup window divided by the same factor, so every device reports as often relative to the run, and the dedup
// memory holds as many entries as in the full run.

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { devEui, runLoadClient } from './load-client.js';
import { startBenchBridge, startNullPlatform } from './null-platform.js';
import { createReport } from './report.js';

const FULL_SECONDS = 600;
const SECONDS = process.argv.includes('--full') ? FULL_SECONDS : Number(process.env.BENCH_FANIN_SECONDS ?? 120);
const SCALE = FULL_SECONDS / SECONDS;
const DEVICES = 100_000;
const HOT = 0.01;
const COLD_RATE = (DEVICES * (1 - HOT)) / 900; // each cold device every 15 minutes
const HOT_RATE = (DEVICES * HOT) / 5; // each hot device every 5 s
const RATE = (COLD_RATE + HOT_RATE) * SCALE;
const WINDOW_MS = Math.round((10 * 60_000) / SCALE);
const PRUNE_MS = 60_000; // the bridge's prune period (not scaled)

/** Heap bytes per entry of the dedup memory, measured alone: `entries` over `devices`. */
async function dedupBytesPerEntry(entries, devices) {
  const { DedupWindow } = await import('../dist/bridge/dedup.js');
  const names = Array.from({ length: devices }, (_, i) => devEui(i));
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const d = new DedupWindow(60_000);
  const now = Date.now();
  for (let i = 0; i < entries; i++) d.remember(names[i % devices], Math.floor(i / devices), 'abcd', now);
  globalThis.gc?.();
  const bytes = process.memoryUsage().heapUsed - before;
  if (d.size !== entries) throw new Error('dedup size');
  return bytes / entries;
}

/**
 * Bytes per key of the replay memory (heap and ArrayBuffers), measured alone: `entries` random keys (as the
 * digests of verified tokens are) over its 5-minute window, as a steady rate fills it.
 */
async function replayBytesPerEntry(entries) {
  const { ReplayMemory } = await import('../dist/bridge/replay.js');
  const keys = Array.from({ length: entries }, (_, i) =>
    createHash('sha256').update(String(i)).digest('hex').slice(0, 32),
  );
  globalThis.gc?.();
  const m0 = process.memoryUsage();
  const m = new ReplayMemory(300_000);
  const now = Date.now();
  for (let i = 0; i < entries; i++) m.remember(keys[i], now + Math.floor((i * 300_000) / entries));
  globalThis.gc?.();
  const m1 = process.memoryUsage();
  // the keys are used after the count: alive in both (a local not used later may be collected before)
  if (m.size !== entries || keys.length !== entries) throw new Error('replay size');
  return (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / entries;
}

async function main() {
  const report = createReport(
    'fanin',
    'RSS growth over the second half of the run (%, flat = about 0) and dedup entries / their bound (<= 1)',
  );
  const perEntry = await dedupBytesPerEntry(200_000, DEVICES);
  const perToken = await replayBytesPerEntry(200_000);
  const platform = await startNullPlatform();
  const { bridge, spoolDir, stop } = await startBenchBridge({
    platform,
    devices: DEVICES,
    maxDevices: DEVICES,
    dedupWindowMs: WINDOW_MS,
  });
  const spoolBytes = () => {
    let n = 0;
    for (const f of ['spool.sqlite', 'spool.sqlite-wal']) {
      try {
        n += statSync(join(spoolDir, f)).size;
      } catch {}
    }
    return n;
  };
  // the dedup memory is private to the bridge: read for measurement only
  const dedup = () => bridge.intake.dedup.size;
  const tokens = () => bridge.intake.tokens.size;
  const replayBytes = () => bridge.intake.tokens.bytes;
  const samples = [];
  const t0 = Date.now();
  const sample = () => {
    // RSS after a GC, as every RSS figure of the benchmarks (garbage not yet collected is not growth)
    globalThis.gc?.();
    const m = process.memoryUsage();
    samples.push({
      t: (Date.now() - t0) / 1000,
      rss: m.rss,
      heap: m.heapUsed,
      dedup: dedup(),
      tokens: tokens(),
      replay: replayBytes(),
      spool: spoolBytes(),
      depth: bridge.stats().spoolDepth,
    });
  };
  sample();
  const timer = setInterval(sample, (SECONDS * 1000) / 30);
  const r = await runLoadClient({
    url: `${bridge.url}${bridge.path}`,
    rate: RATE,
    seconds: SECONDS,
    connections: 256,
    devices: DEVICES,
    pick: 'longtail',
    hot: HOT,
    hotShare: HOT_RATE / (HOT_RATE + COLD_RATE),
  });
  await bridge.whenDrained(60_000);
  sample();
  clearInterval(timer);
  await stop();
  platform.stop();

  const mb = (b) => b / 1048576;
  report.note(
    `${DEVICES.toLocaleString('en-US')} DevEUIs, ${RATE.toFixed(0)} uplinks/s for ${SECONDS} s (the 10-minute run ` +
      `x${SCALE.toFixed(1)} faster; dedup window ${(WINDOW_MS / 1000).toFixed(0)} s); ${r.ok} accepted, ${r.bad} refused` +
      (r.firstBad ? ` (${r.firstBad})` : ''),
  );
  report.note('   t s    RSS MB   heap MB    dedup  replay MB   spool MB  waiting');
  for (const s of samples.filter((_, i) => i % 3 === 0 || i === samples.length - 1)) {
    report.note(
      `${s.t.toFixed(0).padStart(6)} ${mb(s.rss).toFixed(0).padStart(9)} ${mb(s.heap).toFixed(0).padStart(9)} ` +
        `${String(s.dedup).padStart(8)} ${mb(s.replay).toFixed(1).padStart(10)} ${mb(s.spool).toFixed(1).padStart(10)} ${String(s.depth).padStart(8)}`,
    );
  }
  // the client may need longer than asked on a busy machine (it sends every uplink): halves of the real run
  const end = samples.at(-1).t;
  const half = samples.filter((s) => s.t >= end / 2);
  const maxOf = (k, list = samples) => Math.max(...list.map((s) => s[k]));
  const growth = (100 * (half.at(-1).rss - half[0].rss)) / half[0].rss;
  const achieved = r.ok / r.elapsed;
  const bound = (achieved * (WINDOW_MS + PRUNE_MS)) / 1000;
  report.figure({
    id: 'rate',
    what: `uplinks/s achieved (${RATE.toFixed(0)} asked)`,
    value: achieved,
    unit: 'uplinks/s',
  });
  report.figure({ id: 'accepted', what: 'uplinks accepted', value: r.ok, unit: 'uplinks' });
  report.figure({
    id: 'rss_max',
    what: 'RSS, largest',
    value: mb(maxOf('rss')),
    unit: 'MB',
    target: '< 600 MB',
    met: maxOf('rss') < 600 * 1048576,
  });
  report.figure({
    id: 'rss_growth_second_half',
    what: 'RSS growth over the second half',
    value: growth,
    unit: '%',
    digits: 1,
  });
  // While the windows are not yet full the dedup and replay memories grow (bounded, below); RSS is flat when what is
  // left of its growth, once the entries added meanwhile are taken out, is about nothing. (The replay window is the
  // largest accepted time skew, 5 minutes by default: longer than the default run, so its memory only grows here.
  // Its bytes are read from the bridge: typed arrays, outside the heap.)
  const dedupGrowth = (half.at(-1).dedup - half[0].dedup) * perEntry + (half.at(-1).replay - half[0].replay);
  const unexplained = (100 * (half.at(-1).rss - half[0].rss - dedupGrowth)) / half[0].rss;
  report.figure({
    id: 'rss_growth_beyond_dedup',
    what: 'RSS growth over the second half, beyond dedup + replay',
    value: unexplained,
    unit: '%',
    target: '< 10 %',
    met: unexplained < 10,
    ratio: true,
    digits: 1,
  });
  report.figure({ id: 'dedup_max', what: 'dedup entries, largest', value: maxOf('dedup'), unit: 'entries' });
  report.figure({
    id: 'dedup_vs_bound',
    what: 'dedup entries / rate x (window + prune period)',
    value: maxOf('dedup') / bound,
    unit: 'x',
    target: '<= 1',
    met: maxOf('dedup') <= bound,
    ratio: true,
    digits: 2,
  });
  const fullEntries = (COLD_RATE + HOT_RATE) * (600 + PRUNE_MS / 1000);
  report.figure({
    id: 'dedup_bytes_per_entry',
    what: 'dedup heap per entry (measured alone)',
    value: perEntry,
    unit: 'bytes',
  });
  report.figure({ id: 'replay_max', what: 'replay memory entries, largest', value: maxOf('tokens'), unit: 'entries' });
  report.figure({ id: 'replay_mb', what: 'replay memory, largest', value: mb(maxOf('replay')), unit: 'MB', digits: 1 });
  report.figure({
    id: 'replay_bytes_per_entry',
    what: 'replay memory per entry (measured alone)',
    value: perToken,
    unit: 'bytes',
  });
  report.figure({
    id: 'dedup_mb_full',
    what: `dedup heap at the bound of the real rates (${Math.round(fullEntries)} entries)`,
    value: mb(perEntry * fullEntries),
    unit: 'MB',
    digits: 1,
  });
  // The spool holds the waiting reports and the dedup rows of the window: its size follows the dedup bound.
  const perRow = maxOf('spool') / Math.max(1, maxOf('dedup'));
  report.figure({
    id: 'spool_max',
    what: 'spool file + WAL, largest',
    value: mb(maxOf('spool')),
    unit: 'MB',
    digits: 1,
  });
  report.figure({ id: 'spool_bytes_per_dedup_row', what: 'spool bytes per dedup entry', value: perRow, unit: 'bytes' });
  report.figure({
    id: 'spool_mb_full',
    what: 'spool size at the dedup bound of the real rates',
    value: mb(perRow * fullEntries),
    unit: 'MB',
    target: '< 100 MB',
    met: perRow * fullEntries < 100 * 1048576,
    digits: 1,
  });
  report.figure({ id: 'waiting_max', what: 'reports waiting, largest', value: maxOf('depth'), unit: 'reports' });
  report.finish({ seconds: SECONDS, scale: SCALE, samples });
}

await main();
