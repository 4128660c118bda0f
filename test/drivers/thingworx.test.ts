/**
 * Against both emulators: the driver's template (typed, logged properties from uplink.schema.json) created by
 * `tpx thingworx import-template --driver`, the bridge creating the device's Thing from it and filling those
 * properties, and a JSON downlink written on the Thing encoded by the driver and sent through the tunnel.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startConnectedBridge } from '../../src/bridge/index.js';
import { runDriverAdd, runDriverTemplate } from '../../src/cli/commands/driver.js';
import { runThingShow } from '../../src/cli/commands/thing.js';
import { createTestContext } from '../../src/cli/context.js';
import { DriverDecoder } from '../../src/drivers/decoder.js';
import { profileSetups } from '../../src/drivers/registry.js';
import { startThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { TEMPLATE, templateState } from '../bridge/emulated.js';
import { tempDir, uplinkDoc } from '../bridge/helpers.js';
import { tempConfigHome } from '../helpers/cli.js';
import { CLIMATE } from './helpers.js';

const DEV = '70B3D50000000042';

describe('drivers in ThingWorx (emulators)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('import-template --driver creates typed, logged properties; the bridge fills them; a JSON downlink is encoded and sent', async () => {
    const twx = await startThingWorxEmulator({ state: templateState() });
    cleanups.push(() => twx.close());
    const tp = await startThingParkEmulator({ tls: false });
    cleanups.push(() => tp.close());
    const home = tempConfigHome();
    cleanups.push(home.cleanup);
    const env = {
      ...home.env,
      TPX_THINGWORX_URL: twx.restUrl,
      TPX_THINGWORX_APP_KEY: twx.appKey,
      TPX_THINGWORX_CA: twx.caFile,
    };
    await runDriverAdd(createTestContext({ env }).ctx, CLIMATE, {
      name: 'climate',
      prefix: ['70B3D5'],
    });

    const t = createTestContext({ env, json: true });
    await runDriverTemplate(t.ctx, { driver: 'climate' });
    const result = JSON.parse(t.stdout.text);
    expect(result).toMatchObject({ driver: 'climate', template: `${TEMPLATE}_climate`, base: TEMPLATE, created: true });
    expect(result.added).toEqual([
      { name: 'decodedPayload', baseType: 'JSON', logged: true },
      { name: 'decodeErrors', baseType: 'JSON', logged: false },
      { name: 'temperature', baseType: 'NUMBER', logged: true },
      { name: 'humidity', baseType: 'NUMBER', logged: true },
      { name: 'battery_voltage', baseType: 'NUMBER', logged: true },
      { name: 'battery_low', baseType: 'BOOLEAN', logged: true },
    ]);
    const tt = (twx.state().templates ?? []).find((x) => x.name === `${TEMPLATE}_climate`);
    expect(tt?.base).toBe(TEMPLATE);
    expect(tt?.properties?.find((p) => p.name === 'temperature')).toMatchObject({ baseType: 'NUMBER', isLogged: true });
    const again = createTestContext({ env, json: true });
    await runDriverTemplate(again.ctx, { driver: 'climate' });
    expect(JSON.parse(again.stdout.text)).toMatchObject({ created: false, added: [] });

    const setups = profileSetups(createTestContext({ env }).ctx.settings.profileName, env);
    expect(setups[0]?.template).toBe(`${TEMPLATE}_climate`);
    const decoder = await DriverDecoder.start(setups, { timeoutMs: 10_000 });
    cleanups.push(() => decoder.close());
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const bridge = await startConnectedBridge({
      listen: '127.0.0.1:0',
      spoolDir: dir.dir,
      thingworxUrl: twx.restUrl,
      appKey: twx.appKey,
      ca: readFileSync(twx.caFile, 'utf8'),
      template: TEMPLATE,
      asId: tp.asId,
      asKey: tp.asKey,
      downlinkUrl: tp.downlinkUrl,
      decoder,
    });
    cleanups.push(() => bridge.stop({ drainTimeoutMs: 1000 }));
    await bridge.whenReady();
    const doc = uplinkDoc(DEV, 1, '0866600e10');
    doc.DevEUI_uplink.FPort = 1;
    expect((await tp.postUplink(`${bridge.url}${bridge.path}`, doc)).status).toBe(202);
    expect(await bridge.whenDrained(10_000)).toBe(true);
    expect(twx.thing(DEV)?.template).toBe(`${TEMPLATE}_climate`);
    expect(twx.propertyValue(DEV, 'temperature')).toBe(21.5);
    expect(twx.propertyValue(DEV, 'humidity')).toBe(48);
    expect(twx.propertyValue(DEV, 'battery_low')).toBe(false);
    expect(twx.propertyValue(DEV, 'payloadHex')).toBe('0866600e10');
    const decoded = twx.propertyValue(DEV, 'decodedPayload');
    expect(typeof decoded === 'string' ? JSON.parse(decoded) : decoded).toMatchObject({ temperature: 21.5 });

    const show = createTestContext({ env, json: true });
    await runThingShow(show.ctx, DEV.toLowerCase(), {});
    expect(JSON.parse(show.stdout.text)).toMatchObject({
      name: DEV,
      template: `${TEMPLATE}_climate`,
      driver: { name: 'climate', assignedBy: 'prefix 70B3D5', template: `${TEMPLATE}_climate` },
      properties: { temperature: 21.5 },
    });
    const text = createTestContext({ env });
    await runThingShow(text.ctx, DEV, {});
    expect(text.stdout.text).toContain('payload driver: climate (prefix 70B3D5)');

    const got = new Promise((resolve) => tp.once('downlink', resolve));
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    cleanups.push(() => rest.close());
    await rest.setProperties(DEV, { downlink: { data: { interval: 15 } } });
    expect(await got).toMatchObject({ devEui: DEV, fPort: 10, payloadHex: '01000F' });
  });
});
