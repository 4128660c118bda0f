#!/usr/bin/env node
// Reads a V8 CPU profile (`node --cpu-prof`, e.g. of bench/bridge-cpu.js) and prints where the time went: self time
// by file and by function, and time including callees for the functions that hold the most. `--folded` prints
// folded stacks instead ("root;caller;callee <microseconds>" per line), the input of flame-graph tools
// (flamegraph.pl, speedscope, inferno).
//   node bench/profile.js prof/CPU.*.cpuprofile [--top 40] [--folded > stacks.txt]
// A CPU profile samples wall-clock time: on a machine where the thread is descheduled (a shared core), the calls
// that wake another thread or process (writev on a loopback socket, postMessage) take samples that are not CPU
// (bench/README.md, "Measuring here").
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
if (!file) {
  console.error('usage: node bench/profile.js <file.cpuprofile> [--top N] [--folded]');
  process.exit(2);
}
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 30;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  total += dt;
}
const where = (cf) => cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
const fn = (cf) =>
  `${cf.functionName || '(anonymous)'} ${where(cf)}${cf.lineNumber >= 0 ? `:${cf.lineNumber + 1}` : ''}`;

if (args.includes('--folded')) {
  for (const [id, us] of selfUs) {
    const stack = [];
    for (let q = id; q !== undefined; q = parent.get(q))
      stack.push((byId.get(q).callFrame.functionName || '(anonymous)').replaceAll(';', ':'));
    process.stdout.write(`${stack.reverse().join(';')} ${us}\n`);
  }
  process.exit(0);
}

const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const byFile = new Map();
const byFn = new Map();
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const cf = byId.get(id).callFrame;
  add(byFile, where(cf) || cf.functionName, us);
  add(byFn, fn(cf), us);
  const seen = new Set();
  for (let q = id; q !== undefined; q = parent.get(q)) {
    const k = fn(byId.get(q).callFrame);
    if (!seen.has(k)) add(inclusive, k, us);
    seen.add(k);
  }
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const show = (title, m, skip = /^$/) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m]
    .filter(([k]) => !skip.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)) {
    console.log(`${pct(us)}  ${k}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by file', byFile);
show('self time by function', byFn);
show('time including callees', inclusive, /^\((root|program|idle|garbage collector)\)/);
