// Start-up: `tpx --help` against `node -e 0`. Target: within 3x.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
console.log(`node -e 0        ${base.toFixed(1)} ms`);
console.log(`tpx --help       ${help.toFixed(1)} ms`);
console.log(`tpx --version    ${version.toFixed(1)} ms`);
console.log(`ratio --help / node: ${ratio.toFixed(2)}x (target <= 3x) ${ratio <= 3 ? 'OK' : 'MISSED'}`);
