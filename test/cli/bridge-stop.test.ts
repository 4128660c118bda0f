/** End to end through bin/tpx.js: a second signal during the drain, and dead letters listed and replayed. */
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess as runTpx } from '../helpers/run.js';
import { startBridgeProcess, type World, world } from './bridge-helpers.js';

const DEV = '70B3D57ED0000003';

describe('tpx bridge stop, second signal and dead letters', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('a second signal exits at once; what was acknowledged is delivered by the next start', async () => {
    w = await world([DEV]);
    const b = await startBridgeProcess(w, ['--drain-timeout', '60s']);
    await b.event('bridge.ready');
    w.twx.faults.failResponses(503); // pushes fail: the drain cannot finish
    const sent = await runTpx(
      ['uplink', 'send', '--url', b.url, '--dev-eui', DEV, '--fcnt', '1', '--count', '5', '--json'],
      {
        env: w.env,
      },
    );
    expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 5 });
    await b.event('push.failed');
    b.proc.child.kill('SIGTERM');
    await b.event('bridge.stopping');
    const exited = await b.proc.kill('SIGTERM');
    expect(exited.code).toBe(130);
    w.twx.faults.failResponses(null);
    const again = await startBridgeProcess(w);
    await again.event('push.acked', (e) => e.seq === 5);
    const history = w.twx.history(DEV, 'uplinkData').map((h) => {
      const v = typeof h.value === 'string' ? JSON.parse(h.value) : h.value;
      return (v as { DevEUI_uplink: { FCntUp: number } }).DevEUI_uplink.FCntUp;
    });
    expect(history.filter((x, i) => i === 0 || history[i - 1] !== x)).toEqual([1, 2, 3, 4, 5]);
    expect((await again.proc.kill('SIGTERM')).code).toBe(0);
  });

  it('lists dead letters (device cap) and replays them into a later run', async () => {
    w = await world([DEV]);
    const b = await startBridgeProcess(w, ['--max-devices', '1']);
    await b.event('bridge.ready');
    const other = '70B3D57ED00000FF';
    const sent = await runTpx(['uplink', 'send', '--url', b.url, '--dev-eui', other, '--fcnt', '3', '--json'], {
      env: w.env,
    });
    expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 1 });
    const dead = await b.event('dead.letter');
    expect(String(dead.reason)).toMatch(/device limit reached/);
    expect((await b.proc.kill('SIGTERM')).code).toBe(0);

    const list = await runTpx(['bridge', 'dead-letters', '--spool-dir', w.spoolDir, '--json'], { env: w.env });
    expect(list.code).toBe(0);
    const doc = JSON.parse(list.stdout);
    expect(doc.total).toBe(1);
    expect(doc.deadLetters[0]).toMatchObject({ devEui: other, kind: 'uplink' });
    // ThingPark's shape: the document and the query as the tunnel sent them
    expect(doc.deadLetters[0].document.DevEUI_uplink).toMatchObject({ DevEUI: other, FCntUp: 3 });
    expect(doc.deadLetters[0].query).toMatch(/(^|&)Token=[0-9a-f]{64}(&|$)/);
    expect(doc.deadLetters[0]).not.toHaveProperty('body');
    const human = await runTpx(['bridge', 'dead-letters', '--spool-dir', w.spoolDir], { env: w.env });
    expect(human.stdout).toMatch(/device limit reached/);

    const bad = await runTpx(['bridge', 'dead-letters', 'replay', '--spool-dir', w.spoolDir], { env: w.env });
    expect(bad.code).toBe(2);
    const replay = await runTpx(
      ['bridge', 'dead-letters', 'replay', String(doc.deadLetters[0].id), '--spool-dir', w.spoolDir, '--json'],
      { env: w.env },
    );
    expect(JSON.parse(replay.stdout)).toEqual({ spool: expect.any(String), replayed: 1 });
    const again = await startBridgeProcess(w, ['--max-devices', '10']);
    await again.event('push.acked', (e) => e.thing === other);
    expect(w.twx.thing(other)).toBeDefined();
    expect((await again.proc.kill('SIGTERM')).code).toBe(0);
  });
});
