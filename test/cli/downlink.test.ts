import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlwaysOnPool } from '../../src/alwayson/index.js';
import { runDownlinkPush } from '../../src/cli/commands/downlink.js';
import { createTestContext } from '../../src/cli/context.js';
import { startThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { templateState } from '../bridge/emulated.js';

describe('tpx downlink push', () => {
  it('refuses bad input with usage errors', async () => {
    const t = createTestContext();
    await expect(runDownlinkPush(t.ctx, { via: 'mqtt', devEui: '70B3D57ED0000001' })).rejects.toThrow(/--via/);
    await expect(runDownlinkPush(t.ctx, { payload: '00' })).rejects.toThrow(/--dev-eui/);
    await expect(runDownlinkPush(t.ctx, { devEui: '70B3D57ED0000001' })).rejects.toThrow(/Missing --payload/);
    await expect(runDownlinkPush(t.ctx, { devEui: '70B3D57ED0000001', via: 'thingpark' })).rejects.toThrow(
      /Missing --payload/,
    );
    await expect(runDownlinkPush(t.ctx, { devEui: '70B3D57ED0000001', payload: 'zz' })).rejects.toThrow(/hexadecimal/);
    await expect(runDownlinkPush(t.ctx, { devEui: '70B3D57ED0000001', payload: '00', fport: '300' })).rejects.toThrow(
      /--fport/,
    );
    await expect(
      runDownlinkPush(t.ctx, { devEui: '70B3D57ED0000001', payload: '00', via: 'thingpark' }),
    ).rejects.toMatchObject({ code: 'TPX_USAGE', fix: expect.stringMatching(/TPX_THINGPARK_DOWNLINK_URL/) });
  });

  it('--via thingpark sends a signed downlink the LRC accepts, and reports a rejection as a failure', async () => {
    const tp = await startThingParkEmulator({ devices: ['70B3D57ED0000001'] });
    try {
      const env = { TPX_THINGPARK_DOWNLINK_URL: tp.downlinkUrl, TPX_AS_ID: tp.asId, TPX_AS_KEY: tp.asKey };
      const t = createTestContext({ env, json: true });
      await runDownlinkPush(t.ctx, {
        via: 'thingpark',
        devEui: '70B3D57ED0000001',
        fport: '3',
        payload: 'a0',
        confirmed: true,
      });
      expect(JSON.parse(t.stdout.text)).toMatchObject({ status: 'queued', devEui: '70B3D57ED0000001', fport: 3 });
      expect(tp.downlinks()[0]).toMatchObject({
        devEui: '70B3D57ED0000001',
        fPort: 3,
        payloadHex: 'A0',
        confirmed: true,
      });
      const unknown = createTestContext({ env });
      await expect(
        runDownlinkPush(unknown.ctx, { via: 'thingpark', devEui: '70B3D57ED0000009', payload: '00' }),
      ).rejects.toThrow(/rejected the downlink \(code 100\)/);
      // --json: one document, the result with the error in it, exit 1 (not the result and then an error document)
      const json = createTestContext({ env, json: true });
      const code = await runDownlinkPush(json.ctx, { via: 'thingpark', devEui: '70B3D57ED0000009', payload: '00' });
      expect(code).toBe(1);
      const lines = json.stdout.text.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        status: 'rejected',
        devEui: '70B3D57ED0000009',
        error: { code: 'TPX_DOWNLINK_REJECTED', message: expect.stringMatching(/code 100/) },
      });
      expect(json.stderr.text).toMatch(/error: ThingPark rejected the downlink/);
    } finally {
      await tp.close();
    }
  });

  it('--wait: a downlink the stopping bridge abandoned may be queued: it says so, and to look before writing again', async () => {
    const DEV = '70B3D57ED0000001';
    const twx = await startThingWorxEmulator({ state: templateState([DEV]) });
    let cleanup = async () => {};
    try {
      // the bridge's part: it holds the Thing, takes the write, and its ThingPark call is cut short by the stop
      const pool = new AlwaysOnPool({ url: twx.wsUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile) });
      await pool.start();
      await pool.bind([DEV]);
      pool.onPropertyWrite((thing, name) => {
        if (thing === DEV && name === 'downlink')
          setImmediate(
            () =>
              void pool.push(DEV, [
                {
                  name: 'downlinkStatus',
                  value: { baseType: 'JSON', value: JSON.stringify({ state: 'abandoned', correlationId: 'C0' }) },
                },
              ]),
          );
      });
      cleanup = () => pool.close();
      const env = { TPX_THINGWORX_URL: twx.restUrl, TPX_THINGWORX_APP_KEY: twx.appKey, TPX_THINGWORX_CA: twx.caFile };
      const t = createTestContext({ env, json: true });
      const code = await runDownlinkPush(t.ctx, { devEui: DEV, payload: '00', wait: '10s' });
      expect(code).toBe(1);
      expect(JSON.parse(t.stdout.text)).toMatchObject({
        downlinkStatus: { state: 'abandoned' },
        error: {
          code: 'TPX_DOWNLINK_REJECTED',
          message: expect.stringMatching(/may or may not be queued/),
          fix: expect.stringMatching(
            /Look at the device's downlink queue in ThingPark before writing the downlink again/,
          ),
        },
      });
    } finally {
      await cleanup();
      await twx.close();
    }
  });
});
