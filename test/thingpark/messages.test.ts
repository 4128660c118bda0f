import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseDownlinkDocument,
  parseTunnelMessage,
  safeParseTunnelMessage,
  TunnelMessageError,
} from '../../src/thingpark/messages.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/thingpark/${name}`, import.meta.url), 'utf8'));

function refusal(input: unknown): TunnelMessageError {
  try {
    parseTunnelMessage(input);
  } catch (err) {
    expect(err).toBeInstanceOf(TunnelMessageError);
    return err as TunnelMessageError;
  }
  throw new Error('expected the document to be refused');
}

describe('tunnel message model', () => {
  it('parses an untyped uplink (every value a string) into numbers and a normalised DevEUI', () => {
    const m = parseTunnelMessage(fixture('uplink-untyped.json'));
    expect(m).toMatchObject({
      kind: 'uplink',
      devEui: '70B3D5E75E00A1B2',
      time: '2024-03-05T09:12:44.21+01:00',
      timestamp: Date.parse('2024-03-05T08:12:44.210Z'),
      fPort: 5,
      fCntUp: 1204,
      fCntDn: 37,
      payloadHex: '01a4ff02',
      rssi: -97,
      snr: 6.25,
      spFact: 9,
      late: false,
      lrrCount: 2,
      customerId: '100001234',
      customerData: { tags: ['plant-a'] },
    });
    if (m.kind !== 'uplink') throw new Error('kind');
    expect(m.lrrs).toEqual([
      { lrrId: '1000a3f2', rssi: -97, snr: 6.25, esp: -98 },
      { lrrId: '1000b001', rssi: -110, snr: -2.5, esp: -113.5 },
    ]);
  });

  it('parses the typed form of the same report to the same shape', () => {
    const m = parseTunnelMessage(JSON.stringify(fixture('uplink-typed.json')));
    expect(m).toMatchObject({ kind: 'uplink', devEui: '70B3D5E75E00A1B2', fPort: 5, fCntUp: 1205, frequency: 868.1 });
    expect(m.raw.payload).toEqual({ temperature: 21.5 });
  });

  it('parses downlink-sent, notification and location reports', () => {
    expect(parseTunnelMessage(fixture('downlink-sent-untyped.json'))).toMatchObject({
      kind: 'downlinkSent',
      fCntDn: 37,
      deliveryStatus: 1,
      deliveryFailedCauses: ['00'],
      transmissionSlot: 1,
      correlationId: '00A1B2C3D4E5F607',
      customerData: { alr: { pro: 'TPX', ver: '1' } },
    });
    expect(parseTunnelMessage(fixture('notification-typed.json'))).toMatchObject({
      kind: 'notification',
      type: 'join',
      vars: { Var1: 'otaa' },
      fCntDn: 0,
    });
    expect(parseTunnelMessage(fixture('location-untyped.json'))).toMatchObject({
      kind: 'location',
      latitude: 45.18821,
      longitude: 5.72436,
      altitude: 212,
      radius: 150.5,
      locationTime: '2024-03-05T09:19:58.400+01:00',
    });
  });

  it('refuses a DevEUI with trailing markup, naming the field', () => {
    const e = refusal(fixture('downlink-sent-bad-deveui.json'));
    expect(e.field).toBe('DevEUI_downlink_Sent.DevEUI');
    expect(e.code).toBe('TPX_TUNNEL_MESSAGE_INVALID');
    expect(e.message).toContain('is not 16 hexadecimal digits');
  });

  it('refuses a malformed ISO time, naming the field', () => {
    const e = refusal(fixture('location-bad-time.json'));
    expect(e.field).toBe('DevEUI_location.Time');
    expect(e.message).toMatch(/not an ISO 8601 time/);
  });

  it('refuses bad hex, bad numbers, missing fields and non-documents', () => {
    const base = (fixture('uplink-untyped.json') as { DevEUI_uplink: Record<string, unknown> }).DevEUI_uplink;
    const cases: [Record<string, unknown>, string][] = [
      [{ payload_hex: '01a' }, 'DevEUI_uplink.payload_hex'],
      [{ payload_hex: 'zz' }, 'DevEUI_uplink.payload_hex'],
      [{ FCntUp: 'seven' }, 'DevEUI_uplink.FCntUp'],
      [{ FCntUp: undefined }, 'DevEUI_uplink.FCntUp'],
      [{ FPort: 300 }, 'DevEUI_uplink.FPort'],
      [{ LrrRSSI: 'NaN' }, 'DevEUI_uplink.LrrRSSI'],
      [{ DevEUI: 1234 }, 'DevEUI_uplink.DevEUI'],
      [{ Lrrs: { Lrr: [{ LrrRSSI: '-1' }] } }, 'DevEUI_uplink.Lrrs.Lrr.0.Lrrid'],
    ];
    for (const [change, field] of cases) {
      expect(refusal({ DevEUI_uplink: { ...base, ...change } }).field).toBe(field);
    }
    expect(refusal('{not json').field).toBe('(body)');
    expect(refusal([1, 2]).field).toBe('(body)');
    expect(refusal({ hello: {} }).field).toBe('(body)');
    expect(refusal({ DevEUI_uplink: 'x' }).field).toBe('DevEUI_uplink');
    expect(refusal({ DevEUI_multicast_summary: {} }).field).toBe('DevEUI_multicast_summary');
  });

  it('never throws anything but TunnelMessageError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()), (v, inner) => {
        const r1 = safeParseTunnelMessage(v);
        const r2 = safeParseTunnelMessage({ DevEUI_uplink: inner });
        for (const r of [r1, r2]) if (!r.ok) expect(r.error).toBeInstanceOf(TunnelMessageError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('DevEUI_downlink documents', () => {
  it('parses the untyped form', () => {
    expect(parseDownlinkDocument(fixture('downlink-untyped.json'))).toEqual({
      devEui: '70B3D5E75E00A1B2',
      fPort: 10,
      payloadHex: '0a0b0c',
      time: '2024-03-05T09:30:00.000+01:00',
      confirmed: true,
      flushQueue: false,
      validityTime: '2024-03-05T10:30:00.000+01:00',
      correlationId: '1122334455667788',
    });
  });

  it('refuses a bad port, a missing payload and both payload forms', () => {
    const d = (fixture('downlink-untyped.json') as { DevEUI_downlink: Record<string, unknown> }).DevEUI_downlink;
    const field = (doc: unknown) => {
      try {
        parseDownlinkDocument(doc);
      } catch (err) {
        return (err as TunnelMessageError).field;
      }
      return 'accepted';
    };
    expect(field({ DevEUI_downlink: { ...d, FPort: '0' } })).toBe('DevEUI_downlink.FPort');
    expect(field({ DevEUI_downlink: { ...d, payload_hex: undefined } })).toBe('DevEUI_downlink.payload_hex');
    expect(field({ DevEUI_downlink: { ...d, payload: { a: 1 } } })).toBe('DevEUI_downlink.payload_hex');
    expect(field({ DevEUI_downlink: { ...d, payload_hex: undefined, FlushDownlinkQueue: '1' } })).toBe('accepted');
    expect(field(fixture('uplink-typed.json'))).toBe('DevEUI_uplink');
  });
});
