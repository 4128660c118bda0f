// CPU time of this process by thread (Linux: /proc/self/task/<tid>/stat), so that a benchmark can say where a
// bridge's CPU goes: its main thread (the event loop: HTTP, parsing, token checks, AlwaysOn pushes), the threads
// started with it (the spool's writer thread: SQLite and its fsyncs) and the rest (V8's garbage-collector and
// compiler threads, libuv's pool). Elsewhere (no /proc) every figure is undefined and the caller prints none.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 10_000; // clock ticks are 1/100 s on Linux (USER_HZ)

/** CPU microseconds per thread id, or undefined where /proc is not there. */
export function threadTimes() {
  try {
    const out = new Map();
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * TICK_US);
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The CPU between two snapshots, split into main thread, `started` (threads absent from `before0`, the snapshot
 * taken before the bridge started) and the others; microseconds.
 */
export function splitThreads(before0, before, after) {
  if (!before0 || !before || !after) return undefined;
  const split = { main: 0, started: 0, others: 0 };
  for (const [tid, us] of after) {
    const d = us - (before.get(tid) ?? 0);
    if (tid === process.pid) split.main += d;
    else if (!before0.has(tid)) split.started += d;
    else split.others += d;
  }
  return split;
}
