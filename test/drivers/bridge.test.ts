/** The bridge with payload drivers: decoded values pushed with the raw uplink, failures recorded, JSON downlinks. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverDecoder, type DriverSetup } from '../../src/drivers/decoder.js';
import { readDriver } from '../../src/drivers/package.js';
import { FakeDirectory, FakeSender, FakeSink } from '../bridge/fakes.js';
import { post, startTestBridge, uplinkDoc } from '../bridge/helpers.js';
import { CLIMATE as CLIMATE_DRIVER, FIXTURES } from './helpers.js';

const CLIMATE = '70B3D50000000001';
const OTHER = '0018B20000000FFF';

describe('bridge with payload drivers', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(setups: DriverSetup[], timeoutMs = 10_000, sink = new FakeSink()) {
    const decoder = await DriverDecoder.start(setups, { timeoutMs });
    cleanups.push(() => decoder.close()); // after the bridge stopped (cleanups run in reverse)
    const sender = new FakeSender();
    const { bridge } = await startTestBridge(cleanups, {
      downlinks: sender,
      sink,
      directory: new FakeDirectory(),
      decoder,
    });
    await bridge.whenReady();
    return { bridge, sink, sender, decoder };
  }

  const climate = (template?: string): DriverSetup => ({
    name: 'climate',
    pkg: readDriver(CLIMATE_DRIVER),
    assign: [{ type: 'prefix', prefix: '70B3D5' }],
    ...(template ? { template } : {}),
  });

  const port1 = (devEui: string, fcnt: number, hex: string) => {
    const doc = uplinkDoc(devEui, fcnt, hex);
    doc.DevEUI_uplink.FPort = 1;
    return doc;
  };

  const pushed = (sink: FakeSink, thing: string) =>
    Object.fromEntries(
      sink.pushes.filter((p) => p.thing === thing).flatMap((p) => p.values.map((v) => [v.name, v.value])),
    );

  it('pushes decodedPayload, decodeErrors and the typed fields with the uplink; other devices get none', async () => {
    const { bridge, sink } = await start([climate('climateTemplate')]);
    const created: { thing: string; template: string }[] = [];
    bridge.events.on('thing.created', (e) => created.push(e));
    expect((await post(bridge.url, port1(CLIMATE, 1, '0866600e10'))).status).toBe(202);
    expect((await post(bridge.url, uplinkDoc(OTHER, 1, '0866600e10'))).status).toBe(202);
    await bridge.whenDrained();
    const v = pushed(sink, CLIMATE);
    expect(JSON.parse((v.decodedPayload as { value: string }).value)).toEqual({
      temperature: 21.5,
      humidity: 48,
      battery: { voltage: 3.6, low: false },
    });
    expect(JSON.parse((v.decodeErrors as { value: string }).value)).toEqual({
      driver: 'climate',
      errors: [],
      warnings: [],
    });
    expect(v.temperature).toEqual({ baseType: 'NUMBER', value: 21.5 });
    expect(v.battery_voltage).toEqual({ baseType: 'NUMBER', value: 3.6 });
    expect(v.battery_low).toEqual({ baseType: 'BOOLEAN', value: false });
    expect(v.payloadHex).toEqual({ baseType: 'STRING', value: '0866600e10' });
    const o = pushed(sink, OTHER);
    expect(o.payloadHex).toBeDefined();
    expect(o.decodedPayload).toBeUndefined();
    // two devices are delivered independently: their Things may be created in either order
    expect(created.sort((a, b) => a.thing.localeCompare(b.thing))).toEqual(
      [
        { thing: CLIMATE, template: 'climateTemplate' },
        { thing: OTHER, template: 'actilityThingTemplateSF' },
      ].sort((a, b) => a.thing.localeCompare(b.thing)),
    );
  });

  it('a Thing that refuses the decoded properties still gets the raw uplink (they go in a push of their own)', async () => {
    class NoDecodedSink extends FakeSink {
      override async push(thing: string, values: Parameters<FakeSink['push']>[1]): Promise<void> {
        if (values.some((v) => v.name === 'decodedPayload'))
          throw new Error(`Property [decodedPayload] not found on ${thing}`);
        return super.push(thing, values);
      }
    }
    const { bridge, sink } = await start([climate()], 10_000, new NoDecodedSink());
    const errors: { where: string; error: string }[] = [];
    bridge.events.on('error', (e) => errors.push(e));
    const acked = bridge.events.waitFor('push.acked');
    expect((await post(bridge.url, port1(CLIMATE, 1, '0866600e10'))).status).toBe(202);
    await acked;
    await bridge.whenDrained();
    const v = pushed(sink, CLIMATE);
    expect(v.payloadHex).toEqual({ baseType: 'STRING', value: '0866600e10' });
    expect(v.decodedPayload).toBeUndefined();
    // (The fake directory lists no isConnected/lastConnection: the bind check says so once, apart.)
    expect(errors.filter((e) => e.where !== 'bind check')).toEqual([
      { where: `decoded values of ${CLIMATE}`, error: `Property [decodedPayload] not found on ${CLIMATE}` },
    ]);
  });

  it('picks a driver by a field of the uplink document (DriverCfg.id)', async () => {
    const { bridge, sink } = await start([
      { ...climate(), assign: [{ type: 'field', path: 'DriverCfg.id', value: 'tpx:climate:1' }] },
    ]);
    const doc = port1(OTHER, 1, '0866600e10');
    (doc.DevEUI_uplink as Record<string, unknown>).DriverCfg = {
      mod: { pId: 'tpx', mId: 'climate', ver: '1' },
      id: 'tpx:climate:1',
    };
    expect((await post(bridge.url, doc)).status).toBe(202);
    await bridge.whenDrained();
    expect(pushed(sink, OTHER).temperature).toEqual({ baseType: 'NUMBER', value: 21.5 });
  });

  for (const [kind, file, reason] of [
    ['throws', 'throws.js', /cannot read property of undefined/],
    ['loops', 'loops.js', /took longer than 50ms/],
    ['allocates without end', 'hungry.js', /ran out of memory/],
  ] as const) {
    it(`a driver that ${kind}: the raw uplink is still delivered, with decodeErrors and a count; the next decodes`, async () => {
      const { bridge, sink, decoder } = await start(
        [{ name: 'bad', pkg: readDriver(join(FIXTURES, 'bad', file)), assign: [{ type: 'deveui', devEui: CLIMATE }] }],
        file === 'hungry.js' ? 20_000 : file === 'loops.js' ? 50 : 10_000,
      );
      const failed = new Promise((r) => decoder.once('decode.failed', r));
      expect((await post(bridge.url, uplinkDoc(CLIMATE, 1, '01'))).status).toBe(202);
      await bridge.whenDrained();
      expect(await failed).toMatchObject({ devEui: CLIMATE, driver: 'bad', errors: [expect.stringMatching(reason)] });
      const v = pushed(sink, CLIMATE);
      expect(v.payloadHex).toEqual({ baseType: 'STRING', value: '01' });
      expect(v.uplinkData).toBeDefined();
      expect(JSON.parse((v.decodeErrors as { value: string }).value)).toMatchObject({
        driver: 'bad',
        errors: [expect.stringMatching(reason)],
      });
      expect(JSON.parse((v.decodedPayload as { value: string }).value)).toEqual({});
      expect(decoder.counts.failed).toBe(1);
      expect((await post(bridge.url, uplinkDoc(CLIMATE, 2, '00'))).status).toBe(202);
      await bridge.whenDrained();
      expect(JSON.parse((pushed(sink, CLIMATE).decodedPayload as { value: string }).value)).toEqual({ ok: true });
      expect(bridge.stats().ready).toBe(true);
    });
  }

  it('encodes a {"data": …} downlink write through the driver before signing; an encode error answers the write', async () => {
    const { bridge, sink, sender } = await start([climate()]);
    const sent = bridge.events.waitFor('downlink.sent');
    await sink.write(CLIMATE, 'downlink', {
      baseType: 'JSON',
      value: JSON.stringify({ data: { interval: 15 }, Confirmed: 1 }),
    });
    await sent;
    expect(sender.sent[0]).toMatchObject({ devEui: CLIMATE, fPort: 10, payloadHex: '01000f', confirmed: true });
    const sent2 = bridge.events.waitFor('downlink.sent');
    await sink.write(CLIMATE, 'downlink', {
      baseType: 'JSON',
      value: JSON.stringify({ DevEUI_downlink: { DevEUI: CLIMATE, payload: { led: true } } }),
    });
    await sent2;
    expect(sender.sent[1]).toMatchObject({ fPort: 10, payloadHex: '0201' });
    await expect(
      sink.write(CLIMATE, 'downlink', { baseType: 'JSON', value: JSON.stringify({ data: { interval: 0 } }) }),
    ).rejects.toThrow(/driver climate could not encode the downlink: interval must be 1..1440 minutes/);
    await expect(
      sink.write(OTHER, 'downlink', { baseType: 'JSON', value: JSON.stringify({ data: { interval: 5 } }) }),
    ).rejects.toThrow(/no driver is assigned to 0018B20000000FFF/);
    expect(sender.sent).toHaveLength(2);
  });
});
