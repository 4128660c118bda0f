/**
 * `tpx sandbox` with its device kinds: climate sensors and valves decoded by tpx's own drivers (assigned by
 * DriverCfg.id as ThingPark sends it), typed values in ThingWorx, and a valve command written as JSON that the
 * valve's driver encodes and the valve obeys.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RunResult, runTpx, TpxProcess, tempConfigHome } from '../helpers/cli.js';

type Event = Record<string, unknown> & { event: string };

const homes: ReturnType<typeof tempConfigHome>[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

describe('tpx sandbox with payload drivers', () => {
  it('decodes both kinds, and a JSON valve command reaches the valve', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const p = new TpxProcess(
      ['sandbox', '--json', '--devices', '3', '--rate', '15', '--downlink-every', '200ms'],
      // A generous time limit: this test shares a loaded machine, and is not about the limit.
      { env: { ...h.env, TPX_DRIVER_TIMEOUT: '10s' } },
    );
    let r: RunResult;
    try {
      // Waits for what the test looks at (a climate reading decoded, the valve reporting "open" after the command),
      // then stops the sandbox with Ctrl-C, which drains and prints the summary as --duration does.
      await p.waitFor(/"event":"uplink\.decoded"[^\n]*"devEui":"70B3D57ED0000001"/);
      await p.waitFor(/"event":"uplink\.decoded"[^\n]*"devEui":"70B3D57ED0000002"[^\n]*"valve":"open"/);
      r = await p.kill('SIGINT');
    } finally {
      await p.kill('SIGKILL');
    }
    expect(r.code, r.stderr).toBe(0);
    const all = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Event);
    const decoded = all.filter((e) => e.event === 'uplink.decoded');
    const climate = decoded.find((e) => e.devEui === '70B3D57ED0000001');
    expect(climate).toMatchObject({ driver: 'sandbox-climate', data: { temperature: expect.any(Number) } });
    const valve = decoded.filter((e) => e.devEui === '70B3D57ED0000002');
    expect(valve[0]).toMatchObject({ driver: 'sandbox-valve', data: { valve: 'closed', flow: 0 } });
    // The first command opens the valve: written as {"data": {"valve": "open"}}, encoded 2001 by the driver.
    const command = all.find((e) => e.event === 'downlink.status' && e.devEui === '70B3D57ED0000002');
    expect(command).toMatchObject({ payloadHex: '2001', fport: 3 });
    expect(valve.some((e) => (e.data as { valve: string }).valve === 'open')).toBe(true);
    expect(all.filter((e) => e.event === 'uplink.decode_failed')).toEqual([]);

    const list = await runTpx(['--profile', 'sandbox', 'driver', 'list', '--json'], { env: h.env });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { drivers: { name: string; template: string }[] }).drivers).toMatchObject([
      { name: 'sandbox-climate', template: 'actilityThingTemplateSF_sandbox-climate' },
      { name: 'sandbox-valve', template: 'actilityThingTemplateSF_sandbox-valve' },
    ]);
    const test = await runTpx(['--profile', 'sandbox', 'driver', 'test', 'sandbox-valve'], { env: h.env });
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain('2 passed, 0 failed (2 examples).');
  });
});
