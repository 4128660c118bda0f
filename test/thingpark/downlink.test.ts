import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { downlinkEndpoint, rejectionReason, sendDownlink } from '../../src/thingpark/downlink.js';
import { formatTunnelTime } from '../../src/thingpark/tunnel.js';

let emu: ThingParkEmulator;
beforeAll(async () => {
  emu = await startThingParkEmulator({ devices: ['70B3D5E75E00A1B2'] });
});
afterAll(async () => {
  await emu.close();
});

const base = () => ({ url: emu.downlinkUrl, asId: emu.asId, asKey: emu.asKey, devEui: '70b3d5e75e00a1b2', fPort: 10 });

describe('sendDownlink against the emulator LRC', () => {
  it('queues a signed v2 downlink and the emulator records exactly what it accepted', async () => {
    const seen = once(emu, 'downlink');
    const r = await sendDownlink({
      ...base(),
      payloadHex: '0a0b0c',
      confirmed: true,
      correlationId: '1122334455667788',
      validityTime: 60,
    });
    expect(r).toEqual({ status: 'queued', version: 2, correlationId: '1122334455667788' });
    const [d] = await seen;
    expect(d).toMatchObject({
      version: 2,
      devEui: '70B3D5E75E00A1B2',
      fPort: 10,
      payloadHex: '0A0B0C',
      confirmed: true,
      flushQueue: false,
      validityTime: '60',
      correlationId: '1122334455667788',
      asId: emu.asId,
    });
  });

  it('speaks v1 too (200 queued, 350 rejected)', async () => {
    const v1 = emu.downlinkUrl.replace('/v2/downlink', '/downlink');
    expect(downlinkEndpoint(v1).version).toBe(1);
    expect(await sendDownlink({ ...base(), url: v1, payloadHex: '01' })).toEqual({ status: 'queued', version: 1 });
    const bad = await sendDownlink({ ...base(), url: v1, payloadHex: '01', asKey: '0'.repeat(32) });
    expect(bad).toMatchObject({ status: 'rejected', version: 1, code: 111 });
    expect(emu.downlinks().at(-1)?.version).toBe(1);
  });

  it('maps each rejection to a plain sentence', async () => {
    const count = emu.downlinks().length;
    const cases: [Partial<Parameters<typeof sendDownlink>[0]>, number, RegExp][] = [
      [{ asKey: 'ffffffffffffffffffffffffffffffff' }, 111, /check the AS key/],
      [{ asId: 'TWA_other.AS' }, 107, /not allowed/],
      [{ time: '2016-01-11T14:28:00.333+02:00' }, 110, /clock/],
      [{ devEui: '0000000000000001' }, 100, /does not know this DevEUI/],
      [{ validityTime: '2016-01-11T14:28:00.333+02:00' }, 112, /validity/],
    ];
    for (const [change, code, reason] of cases) {
      const r = await sendDownlink({ ...base(), payloadHex: '01', ...change });
      expect(r.status, String(code)).toBe('rejected');
      if (r.status !== 'rejected') continue;
      expect(r.code).toBe(code);
      expect(r.reason).toMatch(reason);
    }
    expect(emu.downlinks().length).toBe(count);
  });

  it('refuses bad input locally, naming the field, before sending anything', async () => {
    const n = emu.requests.length;
    const cases: [Partial<Parameters<typeof sendDownlink>[0]>, string][] = [
      [{ devEui: '70B3D5E75E00A1B2</DevEUI' }, 'DevEUI'],
      [{ fPort: 0 }, 'FPort'],
      [{ fPort: 225 }, 'FPort'],
      [{ payloadHex: '0a0' }, 'Payload'],
      [{ payloadHex: '' }, 'Payload'],
      [{ payloadHex: 'ab'.repeat(251) }, 'Payload'],
      [{ payloadHex: '01', correlationId: 'xyz' }, 'CorrelationID'],
      [{ payloadHex: '01', asId: 'bad id' }, 'AS_ID'],
      [{ payloadHex: '01', url: 'not a url' }, 'url'],
    ];
    for (const [change, field] of cases) {
      await expect(sendDownlink({ ...base(), payloadHex: '01', ...change }), field).rejects.toMatchObject({
        code: 'TPX_DOWNLINK_INVALID',
        details: { field },
      });
    }
    expect(emu.requests.length).toBe(n);
  });

  it('a 5xx is an error, not a rejection, and is not retried', async () => {
    emu.injectFault({ status: 503, path: '/lrc/' });
    const n = emu.requests.length;
    await expect(sendDownlink({ ...base(), payloadHex: '01' })).rejects.toMatchObject({ code: 'TPX_DOWNLINK_HTTP' });
    expect(emu.requests.length).toBe(n + 1);
  });

  it('maps a v1 404 to "no base station"', async () => {
    const v1 = emu.downlinkUrl.replace('/v2/downlink', '/downlink');
    emu.injectFault({
      status: 404,
      path: '/lrc/rest/downlink',
      body: '<html><body>No Base Station Available</body></html>',
    });
    const r = await sendDownlink({ ...base(), url: v1, payloadHex: '01' });
    expect(r).toMatchObject({
      status: 'rejected',
      version: 1,
      code: 115,
      reason: 'No base station is available to send the downlink now.',
    });
  });

  it('a base URL gets the v2 path', () => {
    expect(downlinkEndpoint('https://api.thingpark.com').url.href).toBe(
      'https://api.thingpark.com/thingpark/lrc/rest/v2/downlink',
    );
    expect(rejectionReason(101, 'x', { expected: 12 })).toContain('expected 12');
    expect(rejectionReason(999, 'odd thing')).toContain('odd thing');
    expect(formatTunnelTime()).toMatch(/\+00:00$/);
  });
});
