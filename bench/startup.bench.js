// Start-up: `tpx --help` against `node -e 0`. Target: within 3x.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReport } from './report.js';

const report = createReport('startup', 'tpx --help time / node -e 0 time on the same machine');

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tpx.js');
function median(args, runs = 15) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
const base = median(['-e', '0']);
const help = median([bin, '--help']);
const version = median([bin, '--version']);
const ratio = help / base;
report.figure({ id: 'node_e_0', what: 'node -e 0 (median of 15)', value: base, unit: 'ms', digits: 1 });
report.figure({ id: 'help', what: 'tpx --help', value: help, unit: 'ms', digits: 1 });
report.figure({ id: 'version', what: 'tpx --version', value: version, unit: 'ms', digits: 1 });
report.figure({
  id: 'help_vs_node',
  what: 'ratio tpx --help / node -e 0',
  value: ratio,
  unit: 'x',
  target: '<= 3x',
  met: ratio <= 3,
  ratio: true,
  digits: 2,
});
report.finish();
