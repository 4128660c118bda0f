#!/usr/bin/env node
// Runs the benchmarks: every bench/*.bench.js (or those named on the command line, e.g. `npm run bench -- codec`),
// each in its own process with --expose-gc so that one benchmark's heap does not skew another's.
// Benchmarks import the compiled code from dist/ (npm run bench builds first) and print their figures and ratios.
//
// --json: one JSON document on stdout with every figure (value, unit, target, met) of every benchmark, the ratio
// each benchmark stands by, and the machine; the benchmarks' tables go to stderr. (`npm run bench --json` works too:
// npm passes its own --json on as npm_config_json and then prints its banner on stderr; with
// `npm run bench -- --json` npm prints its two-line banner on stdout before the document, so scripts use
// `npm run -s bench -- --json` or `node bench/run.js --json`.)
// Other flags are passed on to every benchmark (e.g. --full for the 10-minute fan-in run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json') || process.env.npm_config_json === 'true';
const flags = args.filter((a) => a.startsWith('--') && a !== '--json');
const wanted = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(' ')}`);
  process.exit(2);
}
const dir = json ? mkdtempSync(join(tmpdir(), 'tpx-bench-json-')) : undefined;
const benchmarks = [];
let failed = 0;
const started = new Date();
for (const f of files) {
  const name = f.replace('.bench.js', '');
  const out = dir ? join(dir, `${name}.json`) : undefined;
  (json ? process.stderr : process.stdout).write(`\n== ${name}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, f), ...flags], {
    // with --json the tables go to stderr, so stdout carries only the document
    stdio: json ? ['ignore', 2, 2] : 'inherit',
    env: out ? { ...process.env, BENCH_JSON_OUT: out } : process.env,
  });
  if (r.status !== 0) failed += 1;
  if (out) {
    let result;
    try {
      result = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      result = { name, figures: [], missed: 0, error: `exited ${r.status ?? r.signal} without figures` };
    }
    benchmarks.push({ ...result, exitCode: r.status });
  }
}
if (dir) {
  rmSync(dir, { recursive: true, force: true });
  const all = benchmarks.flatMap((b) => b.figures);
  const withTarget = all.filter((f) => f.met !== undefined);
  const doc = {
    time: started.toISOString(),
    seconds: Number(((Date.now() - started.getTime()) / 1000).toFixed(1)),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      memoryMB: Math.round(totalmem() / 1048576),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    ok: failed === 0,
    targets: { total: withTarget.length, met: withTarget.filter((f) => f.met).length },
    benchmarks,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
process.exit(failed ? 1 : 0);
