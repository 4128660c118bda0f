/** The emulator's LRC downlink endpoint, driven with raw signed queries (not through tpx's sendDownlink). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../../src/emulators/thingpark/index.js';
import {
  type DownlinkQueryParams,
  downlinkToken,
  formatTunnelTime,
  signDownlinkQuery,
} from '../../../src/thingpark/tunnel.js';

let emu: ThingParkEmulator;
beforeAll(async () => {
  emu = await startThingParkEmulator({ devices: ['70B3D5E75E00A1B2'], maxTimestampDeviation: 60 });
});
afterAll(async () => {
  await emu.close();
});

const params = (p: Partial<DownlinkQueryParams> = {}): DownlinkQueryParams => ({
  DevEUI: '70B3D5E75E00A1B2',
  FPort: 2,
  Payload: 'AB',
  AS_ID: emu.asId,
  Time: formatTunnelTime(),
  ...p,
});

async function post(query: string, version: 1 | 2 = 2): Promise<{ status: number; body: string }> {
  const path = version === 2 ? '/thingpark/lrc/rest/v2/downlink' : '/thingpark/lrc/rest/downlink';
  const r = await fetch(`${emu.url}${path}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return { status: r.status, body: await r.text() };
}

/** A query signed over exactly the parameters given, in that order (lets tests send what tpx never would). */
function rawSigned(pairs: [string, string][]): string {
  const hashed = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  return `${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}&Token=${downlinkToken(hashed, emu.asKey)}`;
}

describe('emulator LRC downlink', () => {
  it('answers 202 to a good v2 request and 200 to v1, recording both', async () => {
    const before = emu.downlinks().length;
    expect(await post(signDownlinkQuery(params(), emu.asKey))).toEqual({ status: 202, body: '' });
    const v1 = await post(signDownlinkQuery(params(), emu.asKey), 1);
    expect(v1.status).toBe(200);
    expect(v1.body).toContain('Request queued by LRC');
    expect(
      emu
        .downlinks()
        .slice(before)
        .map((d) => d.version),
    ).toEqual([2, 1]);
  });

  const t = () => formatTunnelTime();
  const cases: [string, () => string, number][] = [
    ['unknown DevEUI', () => signDownlinkQuery(params({ DevEUI: '0000000000000001' }), emu.asKey), 100],
    [
      'lower-case DevEUI',
      () =>
        rawSigned([
          ['DevEUI', '70b3d5e75e00a1b2'],
          ['FPort', '2'],
          ['Payload', 'AB'],
          ['AS_ID', emu.asId],
          ['Time', t()],
        ]),
      100,
    ],
    ['bad Confirmed', () => signDownlinkQuery(params({ Confirmed: '2' as '1' }), emu.asKey), 103],
    ['port 0', () => signDownlinkQuery(params({ FPort: 0 }), emu.asKey), 104],
    ['port 225', () => signDownlinkQuery(params({ FPort: 225 }), emu.asKey), 104],
    [
      'no AS_ID',
      () =>
        rawSigned([
          ['DevEUI', '70B3D5E75E00A1B2'],
          ['FPort', '2'],
          ['Payload', 'AB'],
          ['Time', t()],
        ]),
      105,
    ],
    [
      'no Time',
      () =>
        rawSigned([
          ['DevEUI', '70B3D5E75E00A1B2'],
          ['FPort', '2'],
          ['Payload', 'AB'],
          ['AS_ID', emu.asId],
        ]),
      106,
    ],
    ['other AS_ID', () => signDownlinkQuery(params({ AS_ID: 'TWA_9.9.AS' }), emu.asKey), 107],
    ['no Token', () => signDownlinkQuery(params(), emu.asKey).replace(/&Token=.*$/, ''), 108],
    ['malformed Token', () => signDownlinkQuery(params(), emu.asKey).replace(/Token=.*$/, 'Token=xyz'), 108],
    ['malformed Time', () => signDownlinkQuery(params({ Time: '2024-03-05T10:00.123:46+01:00' }), emu.asKey), 109],
    ['stale Time', () => signDownlinkQuery(params({ Time: '2016-01-11T14:28:00.333+02:00' }), emu.asKey), 110],
    ['wrong key', () => signDownlinkQuery(params(), 'f'.repeat(32)), 111],
    ['tampered payload', () => signDownlinkQuery(params(), emu.asKey).replace('Payload=AB', 'Payload=AC'), 111],
    [
      'expired ValidityTime',
      () => signDownlinkQuery(params({ ValidityTime: '2016-01-11T14:28:00.333+02:00' }), emu.asKey),
      112,
    ],
    ['odd payload', () => signDownlinkQuery(params({ Payload: 'ABC' }), emu.asKey), 113],
    ['payload over 250 bytes', () => signDownlinkQuery(params({ Payload: 'AB'.repeat(251) }), emu.asKey), 113],
    ['bad CorrelationID', () => signDownlinkQuery(params({ CorrelationID: '12' }), emu.asKey), 117],
    ['empty payload', () => signDownlinkQuery(params({ Payload: undefined }), emu.asKey), 118],
  ];
  for (const [what, query, code] of cases) {
    it(`409 code ${code}: ${what}`, async () => {
      const before = emu.downlinks().length;
      const r = await post(query());
      expect(r.status).toBe(409);
      expect(JSON.parse(r.body)).toMatchObject({ code, message: expect.any(String) });
      expect(emu.downlinks().length).toBe(before);
    });
  }

  it('v1 rejects with HTTP 350 and an HTML message', async () => {
    const r = await post(signDownlinkQuery(params(), 'f'.repeat(32)), 1);
    expect(r.status).toBe(350);
    expect(r.body).toContain('Security Check. bad token');
  });

  it('accepts a queue flush without payload', async () => {
    expect(
      (await post(signDownlinkQuery(params({ Payload: undefined, FlushDownlinkQueue: 1 }), emu.asKey))).status,
    ).toBe(202);
    expect(emu.downlinks().at(-1)).toMatchObject({ flushQueue: true });
    expect(emu.downlinks().at(-1)?.payloadHex).toBeUndefined();
  });
});
