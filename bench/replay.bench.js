// The replay memory alone (issue 17): what remembering every verified request for the replay window costs per
// uplink at the highest rate, in CPU and memory. A steady 8,000 uplinks/s (BENCH_REPLAY_RATE) in simulated time for
// the default window (5 minutes, the largest accepted time skew) plus two prune periods (60 s, as the bridge prunes),
// so that the memory is full and forgetting as fast as it remembers: per uplink a lookup of its key (replayKey of a
// 64-hex-digit token) and, as it is new, remembering it. Two memories: ReplayMemory (src/bridge/replay.ts: typed
// arrays, generations dropped whole) and, for comparison, the Map of 32-digit strings it replaced (intake.ts before,
// copied here). CPU is process.cpuUsage() (both the loop and the GC's threads) minus that of making the keys alone;
// memory is heap + ArrayBuffers after a GC, over the keys held.

import { createReport } from './report.js';

const { replayKey } = await import('../dist/bridge/intake.js');
const { ReplayMemory } = await import('../dist/bridge/replay.js');

const RATE = Number(process.env.BENCH_REPLAY_RATE ?? 8000);
const WINDOW_MS = 300_000;
const PRUNE_MS = 60_000;
const SECONDS = WINDOW_MS / 1000 + (2 * PRUNE_MS) / 1000;
const UPLINKS = RATE * SECONDS;

/** The replay memory before: a Map of key -> seen at (relative to a base), swept on prune. */
class MapMemory {
  tokens = new Map();
  base = Date.now();
  has(key, now) {
    const seen = this.tokens.get(key);
    return seen !== undefined && now - this.base - seen <= WINDOW_MS;
  }
  remember(key, now) {
    this.tokens.set(key, now - this.base);
  }
  prune(before) {
    for (const [k, at] of this.tokens) if (at < before - this.base) this.tokens.delete(k);
  }
  get size() {
    return this.tokens.size;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Every variant sees the same tokens (xorshift32 from the same seed). */
function run(memory) {
  let s = 0x2545f491;
  const byte = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return HEX[s & 255];
  };
  globalThis.gc?.();
  const m0 = process.memoryUsage();
  const start = Date.parse('2026-12-01T00:00:00Z');
  let nextPrune = start + PRUNE_MS;
  let longestPrune = 0;
  let duplicates = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < UPLINKS; i++) {
    const now = start + Math.floor((i * 1000) / RATE);
    let token = '';
    for (let b = 0; b < 32; b++) token += byte();
    const key = replayKey(token);
    if (!memory) {
      if (key.length !== 32) duplicates++;
      continue;
    }
    if (memory.has(key, now)) duplicates++;
    else memory.remember(key, now);
    if (now >= nextPrune) {
      nextPrune += PRUNE_MS;
      const p0 = performance.now();
      memory.prune(now - WINDOW_MS);
      longestPrune = Math.max(longestPrune, performance.now() - p0);
    }
  }
  const c = process.cpuUsage(c0);
  globalThis.gc?.();
  const m1 = process.memoryUsage();
  const bytes = m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
  if (duplicates !== 0) throw new Error(`${duplicates} duplicates`);
  return {
    cpuNs: ((c.user + c.system) * 1000) / UPLINKS,
    keys: memory?.size ?? 0,
    bytesPerKey: memory ? bytes / memory.size : 0,
    longestPrune,
  };
}

const report = createReport('replay', 'replay memory CPU per uplink and bytes per key, typed tables / Map (< 1)');
const keysOnly = run(undefined);
const typed = run(new ReplayMemory(WINDOW_MS));
const map = run(new MapMemory()); // last: its heap stays larger after
report.note(
  `${RATE.toLocaleString('en-US')} uplinks/s for ${SECONDS} s simulated (${UPLINKS.toLocaleString('en-US')} uplinks), ` +
    `window ${WINDOW_MS / 1000} s, pruned every ${PRUNE_MS / 1000} s; making the keys alone: ${keysOnly.cpuNs.toFixed(0)} ns/uplink`,
);
const ns = (r) => Math.max(1, r.cpuNs - keysOnly.cpuNs);
for (const [id, name, r] of [
  ['typed', 'ReplayMemory', typed],
  ['map', 'Map (before)', map],
]) {
  report.figure({ id: `${id}_cpu_ns`, what: `${name}: CPU per uplink (lookup + remember)`, value: ns(r), unit: 'ns' });
  report.figure({ id: `${id}_keys`, what: `${name}: keys held at the end`, value: r.keys, unit: 'keys' });
  report.figure({
    id: `${id}_bytes_per_key`,
    what: `${name}: memory per key held`,
    value: r.bytesPerKey,
    unit: 'bytes',
  });
  report.figure({
    id: `${id}_mb`,
    what: `${name}: memory at the end`,
    value: (r.bytesPerKey * r.keys) / 1048576,
    unit: 'MB',
    digits: 0,
  });
  report.figure({ id: `${id}_prune_ms`, what: `${name}: longest prune`, value: r.longestPrune, unit: 'ms', digits: 1 });
}
report.figure({
  id: 'cpu_ratio',
  what: 'CPU per uplink, ReplayMemory / Map',
  value: ns(typed) / ns(map),
  unit: 'x',
  target: '< 1',
  met: ns(typed) < ns(map),
  ratio: true,
  digits: 2,
});
report.figure({
  id: 'bytes_ratio',
  what: 'memory per key, ReplayMemory / Map',
  value: typed.bytesPerKey / map.bytesPerKey,
  unit: 'x',
  target: '< 0.5',
  met: typed.bytesPerKey < map.bytesPerKey / 2,
  ratio: true,
  digits: 2,
});
report.finish({ rate: RATE, seconds: SECONDS });
