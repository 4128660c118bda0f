import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bridge, RestDirectory, startConnectedBridge } from '../../src/bridge/index.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { TEMPLATE, templateState } from './emulated.js';
import { tempDir, uplinkDoc } from './helpers.js';

const DEV = '70B3D57ED0000001';

describe('bridge wired to the real pool, REST client and tunnel, against both emulators', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(
    known: string[] = [],
    pipeCount = 1,
    extra: { rebindRetryMs?: number; thingparkTls?: boolean } = {},
  ) {
    const twx = await startThingWorxEmulator({ state: templateState(known) });
    cleanups.push(() => twx.close());
    const { thingparkTls, ...bridgeExtra } = extra;
    const tp = await startThingParkEmulator({ tls: thingparkTls ?? false });
    cleanups.push(() => tp.close());
    const t = tempDir();
    cleanups.push(t.cleanup);
    const bridge = await startConnectedBridge({
      listen: '127.0.0.1:0',
      spoolDir: t.dir,
      thingworxUrl: twx.restUrl,
      appKey: twx.appKey,
      ca: readFileSync(twx.caFile, 'utf8'),
      template: TEMPLATE,
      asId: tp.asId,
      asKey: tp.asKey,
      downlinkUrl: tp.downlinkUrl,
      pipeCount,
      retryBaseMs: 50,
      retryMaxMs: 500,
      ...(thingparkTls ? { thingparkCa: readFileSync(tp.caFile, 'utf8') } : {}),
      ...bridgeExtra,
    });
    cleanups.push(() => bridge.stop({ drainTimeoutMs: 1000 }));
    return { twx, tp, bridge };
  }

  it("lists the template's Things page by page, and binds them all at start", async () => {
    const names = Array.from({ length: 2345 }, (_, i) => `70B3D57E${i.toString(16).toUpperCase().padStart(8, '0')}`);
    const twx = await startThingWorxEmulator({ state: templateState() });
    cleanups.push(() => twx.close());
    twx.addThings(names, TEMPLATE);
    twx.addThings(['NOT-A-DEVICE'], 'RemoteThing');
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    const dir = new RestDirectory(rest, 1000);
    cleanups.push(() => dir.close());
    const r = await dir.list(TEMPLATE);
    expect(r.pages).toBe(3);
    expect(new Set(r.names)).toEqual(new Set(names));
    expect(await dir.create(names[0]!, TEMPLATE)).toBe('exists');
  });

  it('reads the connection of named Things only (the baseline of Things just bound), leaving out unknown ones', async () => {
    const { twx, bridge } = await setup(['70B3D57ED0000098', '70B3D57ED0000099']);
    await bridge.whenReady();
    twx.addThings(['70B3D57ED00000AA'], TEMPLATE); // after the start: not bound
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    const dir = new RestDirectory(rest, 1000);
    cleanups.push(() => dir.close());
    const bound = await dir.connectionsOf(['70B3D57ED0000099', '70B3D57ED00000AA', 'NO-SUCH-THING']);
    expect(bound.get('70B3D57ED0000099')?.connected).toBe(true);
    expect([...bound.keys()].sort()).toEqual(['70B3D57ED0000099', '70B3D57ED00000AA']);
    expect(bound.get('70B3D57ED0000099')!.lastConnection).toBeGreaterThan(0);
    expect(bound.get('70B3D57ED00000AA')).toEqual({ connected: false, lastConnection: 0 });
  });

  const ingest = (tp: ThingParkEmulator, bridge: Bridge, doc: unknown) =>
    tp.postUplink(`${bridge.url}${bridge.path}`, doc);

  it('creates the Thing of a new DevEUI and pushes the uplink; known Things are bound at start', async () => {
    const { twx, tp, bridge } = await setup(['70B3D57ED0000099']);
    await bridge.whenReady();
    expect(twx.boundThings()).toContain('70B3D57ED0000099');
    const r = await ingest(tp, bridge, uplinkDoc(DEV, 42, 'cafe'));
    expect(r.status).toBe(202);
    expect(await bridge.whenDrained(10_000)).toBe(true);
    expect(twx.thing(DEV)?.template).toBe(TEMPLATE);
    expect(twx.propertyValue(DEV, 'FCntUp')).toBe(42);
    expect(twx.propertyValue(DEV, 'payloadHex')).toBe('cafe');
    expect(twx.boundThings()).toContain(DEV);
  });

  it('spreads Things over several pipes and delivers every device in order', async () => {
    const devs = Array.from({ length: 12 }, (_, i) => `70B3D57ED00001${i.toString(16).toUpperCase().padStart(2, '0')}`);
    const { twx, tp, bridge } = await setup(devs.slice(0, 6), 4);
    await bridge.whenReady();
    expect(twx.sessionCount()).toBe(4);
    for (let f = 1; f <= 3; f++) {
      for (const d of devs) expect((await ingest(tp, bridge, uplinkDoc(d, f, `0${f}`))).status).toBe(202);
    }
    expect(await bridge.whenDrained(10_000)).toBe(true);
    for (const d of devs) {
      const fcnts = twx.history(d, 'uplinkData').map((h) => {
        const v = typeof h.value === 'string' ? JSON.parse(h.value) : h.value;
        return (v as { DevEUI_uplink: { FCntUp: number } }).DevEUI_uplink.FCntUp;
      });
      expect(fcnts).toEqual([1, 2, 3]);
    }
  });

  it.each([
    ['HTTP', false],
    ['HTTPS with a private CA (thingparkCa)', true],
  ])('sends a downlink written on the Thing through the tunnel (%s) with a valid token', async (_, thingparkTls) => {
    const { twx, tp, bridge } = await setup([DEV], 1, { thingparkTls });
    await bridge.whenReady();
    const got = new Promise((resolve) => tp.once('downlink', resolve));
    const sent = bridge.events.waitFor('downlink.sent');
    const statusPushed = new Promise((resolve) =>
      twx.events.on('push', (e: { thing: string; values: unknown }) => {
        if (e.thing === DEV && JSON.stringify(e.values).includes('downlinkStatus')) resolve(e);
      }),
    );
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    cleanups.push(() => rest.close());
    await rest.setProperties(DEV, { downlink: { FPort: 5, payload_hex: 'beef' } });
    expect((await sent).result).toBe('queued');
    const d = (await got) as { devEui: string; fPort: number; payloadHex: string; asId: string; correlationId: string };
    expect(d).toMatchObject({ devEui: DEV, fPort: 5, payloadHex: 'BEEF', asId: tp.asId });
    await statusPushed;
    const status = twx.propertyValue(DEV, 'downlinkStatus') as Record<string, unknown>;
    expect(typeof status === 'string' ? JSON.parse(status) : status).toMatchObject({
      state: 'queued',
      correlationId: d.correlationId,
    });
  });

  it('Things refused when bound again after a reconnect (a ghost, First in wins) are bound again once it is gone', async () => {
    const { twx, tp, bridge } = await setup([DEV], 1, { rebindRetryMs: 50 });
    await bridge.whenReady();
    twx.setBindPolicy('first-in-wins');
    const ghost = twx.faults.ghostSession([DEV], 'admin'); // steals the binding, as a stale session would keep it
    const unbound = bridge.events.waitFor('things.unbound');
    twx.faults.dropAllSockets();
    expect(await unbound).toMatchObject({ count: 1, names: [DEV], reason: expect.stringMatching(/refused to bind/) });
    // Uplinks still get through while the Thing is unbound.
    expect((await ingest(tp, bridge, uplinkDoc(DEV, 7, '0102'))).status).toBe(202);
    expect(await bridge.whenDrained(10_000)).toBe(true);
    expect(twx.propertyValue(DEV, 'FCntUp')).toBe(7);
    const stillRefused = await bridge.events.waitFor('things.rebound');
    expect(stillRefused).toEqual({ count: 0, remaining: 1 });
    expect(bridge.stats().unbound).toBe(1);
    expect(await bridge.metrics.metrics()).toMatch(/^tpx_bridge_things_unbound 1$/m);
    const rebound = bridge.events.waitFor('things.rebound', (e) => e.remaining === 0);
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    cleanups.push(() => rest.close());
    await rest.service('Subsystems/WSCommunicationsSubsystem', 'CloseEndpointSessions', { endpointId: String(ghost) });
    expect(await rebound).toEqual({ count: 1, remaining: 0 });
    expect(bridge.stats().unbound).toBe(0);
    expect(twx.boundThings()).toContain(DEV);
  });
});
