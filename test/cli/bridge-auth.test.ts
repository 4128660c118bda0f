/**
 * Issue 15.6: a bridge whose app key ThingWorx refuses does not retry forever looking alive: it says what failed and
 * what to do, and exits 1 (text and --json); it never claims "everything delivered".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess as runTpx } from '../helpers/run.js';
import { type World, world } from './bridge-helpers.js';

describe('tpx bridge with a refused application key', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  const args = (w: World, extra: string[]) => [
    'bridge',
    '--listen',
    '127.0.0.1:0',
    '--spool-dir',
    w.spoolDir,
    '--app-key',
    'b3f7c6a2-0000-4000-8000-000000000000',
    ...extra,
  ];

  it('exits 1 with what failed and what to do', async () => {
    w = await world();
    const r = await runTpx(args(w, []), { env: w.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/giving up on ThingWorx \(TPX_AUTH_FAILED\): .*key/);
    expect(r.stderr).toMatch(/stopped: never connected to ThingWorx; nothing left in the spool/);
    expect(r.stderr).toMatch(/error: .*refused the application key/);
    expect(r.stderr).not.toMatch(/everything delivered/);
  });

  it('--json: the events, then the error document', async () => {
    w = await world();
    const r = await runTpx(args(w, ['--json']), { env: w.env });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { event?: string; error?: { code: string } });
    expect(events.find((e) => e.event === 'bridge.failed')).toMatchObject({ code: 'TPX_AUTH_FAILED' });
    expect(events.find((e) => e.event === 'bridge.stopped')).toMatchObject({ connected: false });
    expect(JSON.stringify(events) + r.stderr).toMatch(/"code":"TPX_AUTH_FAILED"/);
  });
});
