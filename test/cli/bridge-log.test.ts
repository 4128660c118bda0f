/**
 * The text log of `tpx bridge` through a ThingWorx outage: every failed push is a debug line (--verbose), the warning
 * is one line per cause and window (push.failing) whose counts add up to those failures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InProcess, runInProcess as runTpx } from '../helpers/run.js';
import { type World, world } from './bridge-helpers.js';

const DEVS = ['70B3D57ED00000C1', '70B3D57ED00000C2', '70B3D57ED00000C3'];

describe('tpx bridge text log during an outage', () => {
  let w: World | undefined;
  let p: InProcess | undefined;
  afterEach(async () => {
    await p?.interrupt();
    p = undefined;
    await w?.close();
    w = undefined;
  });

  it('says failing pushes in one warning per cause, not one per push and retry', async () => {
    w = await world(DEVS);
    // no drain at the stop: what failed stays in the spool, the stop ends the window at once
    const args = ['bridge', '--listen', '127.0.0.1:0', '--spool-dir', w.spoolDir, '--drain-timeout', '0', '--verbose'];
    p = new InProcess(args, { env: w.env });
    const url = (await p.waitFor(/listening on (\S+)/, { stream: 'stderr' }))[1]!;
    await p.waitFor(/ready: ThingWorx connected/, { stream: 'stderr' });
    w.twx.faults.failResponses(503); // every push answered SERVICE_UNAVAILABLE: retried, again and again
    for (const d of DEVS) {
      const sent = await runTpx(['uplink', 'send', '--url', url, '--dev-eui', d, '--fcnt', '1', '--json'], {
        env: w.env,
      });
      expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 1 });
    }
    // each failure and retry is a debug line: wait for a few rounds of them (each new line read once)
    const wanted = 3 * DEVS.length;
    let read = 0;
    let failed = 0;
    const deadline = Date.now() + 30_000;
    while (failed < wanted) {
      expect(Date.now(), `${failed} failed pushes logged\n${p.stderr}`).toBeLessThan(deadline);
      const text = p.stderr;
      const end = text.lastIndexOf('\n') + 1;
      failed += (text.slice(read, end).match(/ debug push to \S+ failed \(attempt/g) ?? []).length;
      read = end;
      if (failed < wanted) await p.nextOutput(1000);
    }
    w.twx.faults.failResponses(null);
    expect((await p.interrupt()).code).toBe(0);
    const lines = p.stderr.split('\n');
    const debug = lines.filter((l) => / debug push to \S+ failed \(attempt/.test(l));
    const warnings = lines.filter((l) => / warn {2}.*push/.test(l));
    // the first failure at once, the rest of the window when the stop ends it (one line per 10 s window)
    expect(warnings.length, warnings.join('\n')).toBeGreaterThanOrEqual(2);
    expect(warnings.length, warnings.join('\n')).toBeLessThanOrEqual(4);
    expect(warnings[0]).toMatch(/warn {2}pushes failing: push to 70B3D57ED00000C\d failed: .*SERVICE_UNAVAILABLE/);
    expect(warnings.at(-1)).toMatch(/pushes failing: [\d,]+ push\(es\) to [123] Thing\(s\) failed in the last 10s/);
    const counted = warnings
      .map((l) => l.match(/pushes failing: ([\d,]+) push\(es\)/)?.[1]?.replace(/,/g, '') ?? '1')
      .reduce((sum, n) => sum + Number(n), 0);
    expect(counted).toBe(debug.length);
  });
});
