/**
 * `tpx bridge` on a real pseudo-terminal: the live status line is drawn (and redrawn in place on stderr) with the
 * counts of what the bridge did, and Ctrl-C typed on the terminal drains and stops it with exit code 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runTpx, spawnOnPty } from '../helpers/cli.js';
import { type World, world } from './bridge-helpers.js';

const DEV = '70B3D57ED0000042';

describe('tpx bridge on a terminal', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('shows a live status line with the counts, and Ctrl-C drains and exits 0', async () => {
    w = await world([DEV]);
    const child = spawnOnPty(['bridge', '--listen', '127.0.0.1:0', '--spool-dir', w.spoolDir], {
      ...w.env,
      COLUMNS: '200',
    });
    let output = '';
    const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
    const check = () => {
      for (const x of [...waiters]) {
        const m = output.match(x.re);
        if (m) {
          waiters.splice(waiters.indexOf(x), 1);
          x.resolve(m);
        }
      }
    };
    const waitFor = (re: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        check();
      });
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      check();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      for (const x of waiters) x.reject(new Error(`timed out waiting for ${x.re}; output so far:\n${output}`));
    }, 30_000);
    try {
      const [, url] = await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/uplink)/);
      await waitFor(/ready: ThingWorx connected \(1 pipe\(s\)\), 1 Thing\(s\) bound/);
      const sent = await runTpx(['uplink', 'send', '--url', url!, '--dev-eui', DEV, '--payload', '01aa', '--json'], {
        env: w.env,
      });
      expect(sent.code, sent.stderr).toBe(0);
      // The status line: carriage return + erase line, then the counts (the dot is coloured when colour is on).
      const [line] = await waitFor(
        /\r\x1b\[2K\S*●(?:\x1b\[\d+m)? ThingWorx connected · 1 accepted · 1 pushed \(\d+\/s\) · 0 rejected · spool 0 · 1\/1 Things bound/,
      );
      expect(line).toBeTruthy();
      child.stdin.write('\x03');
      expect(await exited, output).toBe(0);
    } finally {
      clearTimeout(timer);
    }
    expect(output).toMatch(/stopping: intake closed/);
    expect(output).toMatch(/stopped: nothing left in the spool/);
    expect(w.twx.propertyValue(DEV, 'payloadHex')).toBe('01aa');
  });
});
