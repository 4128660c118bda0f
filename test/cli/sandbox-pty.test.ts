/**
 * `tpx sandbox` on a real pseudo-terminal (util-linux `script`): the live table is drawn and redrawn in place, and
 * Ctrl-C typed on the terminal stops it cleanly with its summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnOnPty, tempConfigHome } from '../helpers/cli.js';

let home: ReturnType<typeof tempConfigHome>;
beforeAll(() => {
  home = tempConfigHome();
});
afterAll(() => home.cleanup());

describe('tpx sandbox on a terminal', () => {
  it('draws the live table in place, and Ctrl-C stops it with a summary that lost nothing', async () => {
    const args = ['sandbox', '--devices', '2', '--rate', '20', '--downlink-every', '200ms'];
    const child = spawnOnPty(args, { ...home.env, COLUMNS: '160', LINES: '50' });
    let output = '';
    let typed = false;
    const result = await new Promise<{ code: number | null }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`timed out; output so far:\n${output}`));
      }, 30_000);
      const onData = (d: Buffer) => {
        output += d.toString('utf8');
        // Once a redraw shows both Things bound and a downlink confirmed, type Ctrl-C.
        const redraws = output.split(/\x1b\[\d+F\x1b\[0J/);
        const last = redraws.at(-1) ?? '';
        if (!typed && redraws.length > 2 && /70B3D57ED0000002 +\S*bound/.test(last) && /\bsent\b/.test(last)) {
          typed = true;
          child.stdin.write('\x03');
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code });
      });
    });
    expect(typed, output).toBe(true);
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/DevEUI +Thing +uplink +RSSI\/SNR +SF +ok\/sent +downlink:port +status/);
    expect(output).toMatch(/70B3D57ED0000001 +\S*bound/);
    expect(output).toMatch(/uplinks +\d+ sent, \d+ delivered to ThingWorx, 0 lost/);
    expect(output).toMatch(/downlinks +\d+ written in ThingWorx, \d+ confirmed, 0 lost/);
  });
});
