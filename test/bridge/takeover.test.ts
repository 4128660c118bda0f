/**
 * A bridge (in process, real pool and REST) whose Thing another connector takes while the platform refuses pushes
 * of the session that lost it (an emulator knob: UNCONFIRMED on a real platform): the report waits, is neither
 * dead-lettered nor the reason for a BIND that would take the Thing back, and is delivered once the other lets go.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AlwaysOnPool } from '../../src/alwayson/index.js';
import { startConnectedBridge } from '../../src/bridge/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { holdersOfKey, holdersText, keyNameOf } from '../../src/thingworx/check-sessions.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { TEMPLATE, templateState } from './emulated.js';
import { AS_ID, AS_KEY, post, tempDir, uplinkDoc } from './helpers.js';

const DEV = '70B3D57ED0000C01';

describe('a Thing taken while the platform refuses the old session its pushes', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A connected bridge on the emulator (checking its bindings every 100 ms), stopped after the test. */
  async function start(
    twx: Awaited<ReturnType<typeof startThingWorxEmulator>>,
    ca: string,
    extra: Partial<Parameters<typeof startConnectedBridge>[0]> = {},
  ) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const bridge = await startConnectedBridge({
      listen: '127.0.0.1:0',
      spoolDir: t.dir,
      thingworxUrl: twx.restUrl,
      appKey: twx.appKey,
      ca,
      template: TEMPLATE,
      asId: AS_ID,
      asKey: AS_KEY,
      bindCheckMs: 100,
      ...extra,
    });
    cleanups.push(() => bridge.stop({ drainTimeoutMs: 1000 }));
    await bridge.whenReady();
    return bridge;
  }

  it('keeps the report until the other lets go, without binding the Thing back, then delivers it', async () => {
    const twx = await startThingWorxEmulator({ state: templateState([DEV]), lostBinds: { pushes: 'refuse' } });
    cleanups.push(() => twx.close());
    twx.setBindPolicy('last-in-wins');
    const ca = readFileSync(twx.caFile, 'utf8');
    const bridge = await start(twx, ca, { retryBaseMs: 20, retryMaxMs: 100 });
    const mine = twx.thing(DEV)!.boundTo!.sessionId;

    const other = new AlwaysOnPool({ url: twx.restUrl, appKey: twx.appKey, ca });
    cleanups.push(() => other.close());
    await other.start();
    const taken = bridge.events.waitFor('things.taken');
    await other.bind([DEV]);
    expect(await taken).toEqual({ count: 1, sample: [DEV] });
    const metrics = await bridge.metrics.metrics();
    expect(metrics).toMatch(/^tpx_bridge_things_taken 1$/m);
    expect(metrics).toMatch(/^tpx_bridge_things_bound 0$/m);
    expect(metrics).toMatch(/^tpx_bridge_things_unbound 1$/m);
    expect(metrics).toMatch(/^tpx_bridge_binding_changes_total\{change="taken"\} 1$/m);

    const binds: number[] = [];
    twx.events.on('bind', (e: { sessionId: number }) => binds.push(e.sessionId));
    const dead: unknown[] = [];
    bridge.events.on('dead.letter', (e) => dead.push(e));
    const failures = bridge.events.waitFor('push.failed', (e) => e.attempt >= 8);
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    expect((await failures).error).toMatch(/bound to another session/);
    expect(dead).toEqual([]);
    expect(binds).not.toContain(mine);
    expect(bridge.readiness()).toMatchObject({ ready: false, reasons: ['things_taken'] });

    const acked = bridge.events.waitFor('push.acked');
    const recovered = bridge.events.waitFor('things.recovered');
    await other.close();
    expect(await recovered).toEqual({ count: 1, sample: [DEV] });
    expect((await acked).thing).toBe(DEV);
    expect(dead).toEqual([]);
    expect(bridge.readiness()).toMatchObject({ ready: true, bound: 1 });
  });

  it("names the other session in things.taken when it can ask who holds the Things (an administrator's key)", async () => {
    const twx = await startThingWorxEmulator({ state: templateState([DEV]) });
    cleanups.push(() => twx.close());
    twx.setBindPolicy('last-in-wins');
    const ca = readFileSync(twx.caFile, 'utf8');
    // the emulator's key is an administrator's: it lists the sessions (as `tpx bridge --admin-key` does)
    const admin = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca });
    cleanups.push(() => admin.close());
    const keyName = await keyNameOf(admin, twx.appKey);
    expect(keyName).toBeTruthy();
    const asked: string[][] = [];
    const lookup = holdersOfKey({ own: admin, appKey: twx.appKey, admin, pipeCount: 1 });
    const bridge = await start(twx, ca, {
      holderOf: async (names) => {
        asked.push(names);
        return holdersText(await lookup(names, { askBound: false }));
      },
    });

    const other = new AlwaysOnPool({ url: twx.restUrl, appKey: twx.appKey, ca });
    cleanups.push(() => other.close());
    await other.start();
    const taken = bridge.events.waitFor('things.taken');
    await other.bind([DEV]);
    const e = await taken;
    const theirs = twx.thing(DEV)!.boundTo as unknown as { endpoint: string; remoteAddress: string };
    expect(asked).toEqual([[DEV]]);
    expect(e).toEqual({
      count: 1,
      sample: [DEV],
      holder: `another connector of this key (key ${keyName}): session ${theirs.endpoint} from ${theirs.remoteAddress}`,
    });
    expect(e.holder).toMatch(/ from 127\.0\.0\.1:\d+$/);
    expect(bridge.readiness()).toMatchObject({ ready: false, reasons: ['things_taken'] });
  });
});
