import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bodyElements,
  formatTunnelTime,
  parseRawQuery,
  reportToken,
  signDownlinkQuery,
  signUplink,
  uplinkToken,
  verifyDownlinkQuery,
  verifyUplink,
  verifyUplinkDetailed,
} from '../../src/thingpark/tunnel.js';

interface Vector {
  name: string;
  kind: 'uplink' | 'downlink';
  asKey: string;
  document?: unknown;
  bodyElements?: string;
  query?: Record<string, string>;
  hashedQuery?: string;
  token: string;
}
const vectors = (
  JSON.parse(readFileSync(new URL('../fixtures/thingpark/thingpark-tokens.json', import.meta.url), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;
const uplinks = vectors.filter((v) => v.kind === 'uplink');
const downlinks = vectors.filter((v) => v.kind === 'downlink');

describe('published token vectors', () => {
  it('has the vectors it claims to test', () => {
    expect(uplinks.length).toBe(2);
    expect(downlinks.length).toBe(2);
  });

  for (const v of uplinks) {
    it(`${v.name}: report token`, () => {
      expect(reportToken(v.bodyElements!, v.query!, v.asKey)).toBe(v.token);
      if (v.document) {
        expect(bodyElements(v.document)).toBe(v.bodyElements);
        expect(uplinkToken(v.document, v.query!, v.asKey)).toBe(v.token);
        expect(verifyUplink({ body: v.document, query: { ...v.query, Token: v.token }, asKey: v.asKey })).toBe(true);
      }
    });
  }

  for (const v of downlinks) {
    it(`${v.name}: downlink token`, () => {
      const q = parseRawQuery(v.hashedQuery!);
      const signed = signDownlinkQuery(
        { DevEUI: q.DevEUI!, FPort: q.FPort, Payload: q.Payload, AS_ID: q.AS_ID!, Time: q.Time },
        v.asKey,
      );
      expect(signed).toBe(
        `DevEUI=000000000F1D8693&FPort=1&Payload=00&AS_ID=app1.sample.com&Time=2016-01-11T14%3A28%3A00.333%2B02%3A00&Token=${v.token}`,
      );
      expect(verifyDownlinkQuery(signed, v.asKey).ok).toBe(true);
    });
  }
});

describe('uplink verification', () => {
  const u1 = uplinks.find((v) => v.name === 'uplink-U1')!;
  const good = { body: u1.document, query: { ...u1.query!, Token: u1.token }, asKey: u1.asKey };

  it('accepts the vector and rejects tampering with each signed field', () => {
    expect(verifyUplinkDetailed(good)).toEqual({ ok: true, keyCase: 'as-configured' });
    const doc = u1.document as { DevEUI_uplink: Record<string, unknown> };
    const bodyTampers: Record<string, unknown> = {
      CustomerID: '100000508',
      DevEUI: '000000000F1D8694',
      FPort: 3,
      FCntUp: 7012,
      payload_hex: '0027bd01',
    };
    for (const [field, value] of Object.entries(bodyTampers)) {
      const body = { DevEUI_uplink: { ...doc.DevEUI_uplink, [field]: value } };
      const query = field === 'DevEUI' ? { ...good.query, LrnDevEui: String(value) } : good.query;
      expect(verifyUplink({ ...good, body, query }), field).toBe(false);
    }
    const queryTampers: Record<string, string> = {
      LrnDevEui: '000000000f1d8693x',
      LrnFPort: '3',
      LrnInfos: 'UPHTTP_LAB_LORB',
      AS_ID: 'app2.sample.com',
      Time: '2016-01-11T14:11:11.334+02:00',
      Token: `${u1.token.slice(0, 63)}e`,
    };
    for (const [field, value] of Object.entries(queryTampers)) {
      expect(verifyUplink({ ...good, query: { ...good.query, [field]: value } }), field).toBe(false);
    }
    expect(verifyUplink({ ...good, asKey: '46ab678cd45df4a4e4b375Eacd096acd' })).toBe(false);
  });

  it('names why a report is refused', () => {
    const { Token: _t, ...noToken } = good.query;
    expect(verifyUplinkDetailed({ ...good, query: noToken })).toMatchObject({ ok: false, reason: 'missing-token' });
    expect(verifyUplinkDetailed({ ...good, query: { ...good.query, Token: 'abc' } })).toMatchObject({
      reason: 'malformed-token',
    });
    expect(verifyUplinkDetailed({ ...good, asId: 'other' })).toMatchObject({ reason: 'wrong-as-id' });
    expect(verifyUplinkDetailed({ ...good, body: { nope: {} } })).toMatchObject({ reason: 'not-a-report' });
    expect(verifyUplinkDetailed({ ...good, maxSkewMs: 60_000 })).toMatchObject({ reason: 'stale-time' });
    const t = Date.parse('2016-01-11T14:11:11.333+02:00');
    expect(verifyUplinkDetailed({ ...good, maxSkewMs: 60_000, now: () => t + 1000 }).ok).toBe(true);
    // a token of the right form that does not match: one digit off, first or last, or another key
    for (const at of [0, 63]) {
      const token = good.query.Token!;
      const off = `${token.slice(0, at)}${token[at] === '0' ? '1' : '0'}${token.slice(at + 1)}`;
      expect(verifyUplinkDetailed({ ...good, query: { ...good.query, Token: off } })).toMatchObject({
        ok: false,
        reason: 'bad-token',
      });
    }
    expect(verifyUplinkDetailed({ ...good, asKey: `${good.asKey}0` })).toMatchObject({ reason: 'bad-token' });
  });

  it('accepts a Time whose + became a space (form-decoded query) and a lower-cased key fallback', () => {
    const query = { ...good.query, Time: '2016-01-11T14:11:11.333 02:00' };
    expect(verifyUplink({ ...good, query })).toBe(true);
    // a token made with the lower-cased key verifies with the key as configured in upper case
    const signed = signUplink(u1.document, { asId: 'a.b', asKey: 'abcdef0123456789abcdef0123456789' });
    const r = verifyUplinkDetailed({
      body: u1.document,
      query: signed.query,
      asKey: 'ABCDEF0123456789abcdef0123456789',
    });
    expect(r).toEqual({ ok: true, keyCase: 'lower-case' });
  });

  it('takes the Token in either case, and a query value with or without percent escapes', () => {
    expect(verifyUplink({ ...good, query: { ...good.query, Token: good.query.Token!.toUpperCase() } })).toBe(true);
    const raw = parseRawQuery(
      'AS_ID=a.b&Time=2016-01-11T14%3A11%3A11.333%2B02%3A00&Plain=x+y&Empty=&Bad=%E0%A4%A&Flag',
    );
    expect(raw).toEqual({
      AS_ID: 'a.b',
      Time: '2016-01-11T14:11:11.333+02:00',
      Plain: 'x+y',
      Empty: '',
      Bad: '%E0%A4%A',
      Flag: '',
    });
  });

  it('signUplink reproduces U1 and round-trips for every report kind', () => {
    const s = signUplink(u1.document, {
      asId: 'app1.sample.com',
      asKey: u1.asKey,
      time: u1.query!.Time,
      lrnInfos: 'UPHTTP_LAB_LORA',
    });
    expect(s.token).toBe(u1.token);
    expect(s.queryString).toBe(
      `LrnDevEui=000000000F1D8693&LrnFPort=2&LrnInfos=UPHTTP_LAB_LORA&AS_ID=app1.sample.com&Time=2016-01-11T14%3A11%3A11.333%2B02%3A00&Token=${u1.token}`,
    );
    expect(verifyUplink({ body: u1.document, query: parseRawQuery(s.queryString), asKey: u1.asKey })).toBe(true);
    const docs = [
      { DevEUI_downlink_Sent: { CustomerID: '1', DevEUI: '000000000F1D8693', FPort: 2, FCntDn: 22 } },
      { DevEUI_location: { CustomerID: '1', DevEUI: '000000000F1D8693' } },
      { DevEUI_notification: { CustomerID: '1', DevEUI: '000000000F1D8693', Type: 'reset' } },
    ];
    for (const d of docs) {
      const signed = signUplink(d, { asId: 'x', asKey: 'k'.repeat(32) });
      expect(verifyUplink({ body: d, query: signed.query, asKey: 'k'.repeat(32) })).toBe(true);
      expect(signed.query.LrnFPort === undefined).toBe(!('DevEUI_downlink_Sent' in d));
    }
    expect(signUplink(docs[1], { asId: 'x', asKey: 'k' }).query.LrnDevEui).toBe('000000000f1d8693');
  });

  it('formats Time with milliseconds and an explicit offset', () => {
    expect(formatTunnelTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)))).toBe('2024-01-02T03:04:05.006+00:00');
  });
});

describe('downlink verification', () => {
  const key = '46ab678cd45df4a4e4b375eacd096acc';
  const q = signDownlinkQuery(
    {
      DevEUI: '000000000F1D8693',
      FPort: 1,
      Payload: '00',
      Confirmed: 1,
      ValidityTime: 60,
      AS_ID: 'app1.sample.com',
      Time: '2016-01-11T14:28:00.333+02:00',
      CorrelationID: '0123456789ABCDEF',
    },
    key,
  );

  it("keeps Actility's parameter order with Token last", () => {
    expect(q).toMatch(
      /^DevEUI=.*&FPort=1&Payload=00&Confirmed=1&ValidityTime=60&AS_ID=.*&Time=.*&CorrelationID=0123456789ABCDEF&Token=[0-9a-f]{64}$/,
    );
    expect(verifyDownlinkQuery(q, key).ok).toBe(true);
  });

  it('fails when any signed parameter or the key changes', () => {
    const replacements: [RegExp, string][] = [
      [/DevEUI=000000000F1D8693/, 'DevEUI=000000000F1D8694'],
      [/FPort=1/, 'FPort=2'],
      [/Payload=00/, 'Payload=01'],
      [/Confirmed=1/, 'Confirmed=0'],
      [/ValidityTime=60/, 'ValidityTime=61'],
      [/AS_ID=app1/, 'AS_ID=app2'],
      [/Time=2016/, 'Time=2017'],
      [/CorrelationID=0/, 'CorrelationID=1'],
    ];
    for (const [re, by] of replacements) {
      expect(verifyDownlinkQuery(q.replace(re, by), key).ok, String(re)).toBe(false);
    }
    expect(verifyDownlinkQuery(q, key.toUpperCase()).ok).toBe(false);
    expect(verifyDownlinkQuery(q.replace(/&Token=.*/, ''), key)).toMatchObject({ reason: 'missing-token' });
    const moved = `${q.replace(/&Token=([0-9a-f]+)$/, '')}`;
    const token = q.match(/Token=([0-9a-f]+)$/)![1];
    expect(verifyDownlinkQuery(`Token=${token}&${moved}`, key)).toMatchObject({ reason: 'token-not-last' });
  });
});
