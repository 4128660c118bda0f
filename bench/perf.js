// A tool, not a benchmark (run.js does not run it): where the bridge's CPU goes, sampled by Linux `perf` on CPU time
// (not wall-clock time, as `--cpu-prof` samples: on a shared core that counts a descheduled thread's waits).
// It runs bench/bridge-cpu.js (the bridge alone in its process, driven by the load client) under
// `perf record -k 1 -g` with V8's jitdump (`node --perf-prof`), so JavaScript frames keep their names even when V8
// moves or reuses code (`--perf-basic-prof` maps go stale under load and name the wrong functions), keeps the samples
// of the measured phase only (bridge-cpu.js prints it on the monotonic clock), and prints for the chosen threads:
// - the CPU by kind: JavaScript, V8 and Node in C++ (builtins, runtime, HTTP parser), garbage collection, libc, and
//   the kernel by system call;
// - self time by function (JavaScript, C++ or kernel); each JavaScript function's time with the builtins, runtime
//   and system calls it calls (not its JavaScript callees); time including callees for the JavaScript functions.
//   node bench/perf.js [--thread main|writer|v8|all] [--top 40] [--folded > stacks.txt] [--keep DIR]
// `--folded` prints "root;caller;callee <samples>" lines (flame-graph tools: flamegraph.pl, speedscope, inferno).
// BENCH_* variables pass through to bridge-cpu.js (BENCH_SECONDS, BENCH_SINK, BENCH_DURABILITY, BENCH_RATE…).
// Needs `perf` (Debian: linux-perf) and the right to use it (root, or kernel.perf_event_paranoid <= 1).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const TOP = Number(opt('--top', 30));
const THREAD = opt('--thread', 'main');
const keep = opt('--keep', undefined);
const dir = keep ?? mkdtempSync(join(tmpdir(), 'tpx-perf-'));
mkdirSync(dir, { recursive: true });
const cpuBench = fileURLToPath(new URL('./bridge-cpu.js', import.meta.url));

const run = (cmd, argv, o = {}) => {
  const r = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30, ...o });
  if (r.error || r.status !== 0) {
    console.error(`${cmd} ${argv.join(' ')} failed: ${r.error?.message ?? r.stderr.slice(-2000)}`);
    process.exit(1);
  }
  return r.stdout;
};

const out = run('perf', [
  'record',
  '-k',
  '1',
  '-F',
  '999',
  '-g',
  '-q',
  '-o',
  'perf.data',
  '--',
  process.execPath,
  '--perf-prof',
  '--interpreted-frames-native-stack',
  cpuBench,
]);
const result = JSON.parse(out.trim().split('\n').pop());
const dump = readdirSync(dir).find((f) => /^jit-\d+\.dump$/.test(f));
const pid = Number(dump?.match(/\d+/)?.[0]);
if (!pid) {
  console.error('no jitdump written: does this node support --perf-prof?');
  process.exit(1);
}
run('perf', ['inject', '--jit', '-i', 'perf.data', '-o', 'jit.data']);
const [from, to] = result.monotonic;
const script = run('perf', [
  'script',
  '-i',
  'jit.data',
  '--pid',
  String(pid),
  '--time',
  `${from.toFixed(6)},${to.toFixed(6)}`,
  '-F',
  'tid,ip,sym,dso',
]);
if (!keep) rmSync(dir, { recursive: true, force: true });

/** Samples as {tid, frames: [{sym, dso}] leaf first}. */
const samples = [];
let cur;
for (const line of script.split('\n')) {
  if (!line.trim()) {
    if (cur) samples.push(cur);
    cur = undefined;
    continue;
  }
  const head = /^\s*(\d+)\s*$/.exec(line);
  if (head) {
    cur = { tid: Number(head[1]), frames: [] };
    continue;
  }
  const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
  if (cur && m) cur.frames.push({ sym: m[1], dso: m[2] });
}
if (cur) samples.push(cur);

const has = (s, re) => s.frames.some((f) => re.test(f.sym));
const threadOf = (s) =>
  s.tid === pid
    ? 'main'
    : has(s, /node::worker::Worker::Run/)
      ? 'writer'
      : has(s, /uv__thread_start|uv_thread/) && has(s, /^worker$/)
        ? 'libuv'
        : 'v8';
const picked = samples.filter((s) => THREAD === 'all' || threadOf(s) === THREAD);
const total = picked.length;
if (total === 0) {
  console.error(`no samples of thread "${THREAD}" in the measured phase`);
  process.exit(1);
}
const isJs = (f) => /^(JS|Builtin|Eval):/.test(f.sym) || /jitted-/.test(f.dso);
const SYSCALLS = [
  'writev',
  'epoll_wait',
  'epoll_ctl',
  'read',
  'write',
  'futex',
  'recvmsg',
  'sendmsg',
  'fsync',
  'pwrite',
  'mmap',
  'munmap',
  'madvise',
  'mprotect',
  'brk',
];
const kind = (s) => {
  if (has(s, /Scavenge|CollectGarbage|MarkCompact|MinorGC|Sweeper|ConcurrentMarking/)) return 'garbage collection';
  const leaf = s.frames[0];
  if (!leaf) return '?';
  if (leaf.dso.includes('kernel')) {
    if (has(s, /page_fault/)) return 'kernel: page faults';
    for (const f of s.frames) {
      const call = /^__(?:x64_)?sys_(\w+)$/.exec(f.sym)?.[1] ?? /^(?:ksys|do|__do_sys)_(\w+)$/.exec(f.sym)?.[1];
      if (call && SYSCALLS.some((c) => call.startsWith(c))) return `kernel: ${call}`;
    }
    return 'kernel: other (interrupts, scheduling)';
  }
  if (isJs(leaf)) return 'JavaScript (optimised or interpreted)';
  if (/libc\.so|libstdc\+\+/.test(leaf.dso)) return 'libc (malloc, memcpy)';
  if (/sqlite/.test(leaf.dso)) return 'SQLite';
  if (/libcrypto|libssl/.test(leaf.dso) || /^(aes|_aesni|gcm|sha)/i.test(leaf.sym)) return 'OpenSSL (TLS, hashes)';
  if (/llhttp/.test(leaf.sym)) return 'HTTP parser (llhttp)';
  return 'V8 and Node in C++ (builtins, runtime, bindings)';
};
const tidy = (sym) =>
  sym.replace(/file:\/\/\/\S*?\/(dist|node_modules)\//, '$1/').replace(/\/\S*?\/(node_modules)\//, '$1/');

if (args.includes('--folded')) {
  const folded = new Map();
  for (const s of picked) {
    const k = s.frames
      .map((f) => tidy(f.sym).replaceAll(';', ':'))
      .reverse()
      .join(';');
    folded.set(k, (folded.get(k) ?? 0) + 1);
  }
  for (const [k, n] of folded) process.stdout.write(`${k} ${n}\n`);
  process.exit(0);
}

const add = (m, k, v = 1) => m.set(k, (m.get(k) ?? 0) + v);
const kinds = new Map();
const self = new Map();
const inclusive = new Map();
const nearest = new Map();
for (const s of picked) {
  add(kinds, kind(s));
  add(self, tidy(s.frames[0]?.sym ?? '?'));
  const js = s.frames.find((f) => /^JS:/.test(f.sym));
  add(nearest, js ? tidy(js.sym) : '(no JavaScript on the stack: event loop, native callbacks, GC)');
  const seen = new Set();
  for (const f of s.frames) {
    if (!/^JS:/.test(f.sym)) continue;
    const k = tidy(f.sym);
    if (!seen.has(k)) add(inclusive, k);
    seen.add(k);
  }
}
const us =
  THREAD === 'main'
    ? result.mainThreadUs
    : THREAD === 'writer'
      ? result.writerThreadUs
      : THREAD === 'v8'
        ? result.v8ThreadsUs
        : result.cpuUsPerUplink;
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    const share = n / total;
    const per = us !== undefined ? `${(share * us).toFixed(2).padStart(6)} us` : '';
    console.log(`${(100 * share).toFixed(1).padStart(5)} % ${per}  ${k}`);
  }
};
console.log(
  `bridge-cpu: ${result.cpuUsPerUplink} us per uplink (main ${result.mainThreadUs}, writer ${result.writerThreadUs}, ` +
    `V8 ${result.v8ThreadsUs}) at ${result.uplinksPerSecond}/s under perf; thread "${THREAD}": ${total} samples ` +
    `of the measured phase (${us ?? '?'} us per uplink; the per-uplink column is each share of it)`,
);
show('by kind', kinds);
show('self time by function', self);
show('self time of JavaScript functions, with the builtins, runtime and system calls they call', nearest);
show('JavaScript time including callees', inclusive);
