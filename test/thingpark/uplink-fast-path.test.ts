import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTunnelMessage, uplinkReadsFast } from '../../src/thingpark/messages.js';

/** Per field: values the full parser accepts, then values it refuses. */
const FIELDS: Record<string, [unknown[], unknown[]]> = {
  Time: [
    ['2026-11-25T10:00:00.123+01:00', '2026-11-25T10:00:00Z'],
    ['2015-01-27T10:00.123:46+01:00', 'yesterday', 7],
  ],
  DevEUI: [
    ['70b3d57ed0000001', '70B3D57ED0000001'],
    ['000000000F1D8693</DevEUI', '70B3', null],
  ],
  FCntUp: [
    [0, 7011, '7011', 4294967295],
    [4294967296, -1, 1.5, 'x', null],
  ],
  FPort: [
    [1, '2', 0, 255],
    [256, 'two', null],
  ],
  FCntDn: [[3, '3'], [-2]],
  payload_hex: [
    ['0027bd00', 'CAFE', ''],
    ['0g', 'abc', 12],
  ],
  mic_hex: [['38e7a3b9'], ['zz']],
  MType: [[2, '4'], [8]],
  LrrRSSI: [
    [-60, '-60.000000'],
    ['loud', null],
  ],
  LrrSNR: [[9.75, '9.750000'], ['9,75']],
  SpFact: [
    [7, '12'],
    [4, 13],
  ],
  Late: [
    [0, 1, '1', true],
    [2, 'no'],
  ],
  CustomerID: [['100000507', 100000507], [{ id: 1 }]],
  CustomerData: [
    [{ loc: {} }, '{"a":1}'],
    [[1], 3],
  ],
  Lrrs: [
    [{ Lrr: [{ Lrrid: '08040059', LrrRSSI: '-60.0', LrrSNR: 9 }] }, { Lrr: { Lrrid: '1', Chain: 0 } }],
    [{ Lrr: [{ LrrRSSI: 1 }] }, { Lrr: [{ Lrrid: 'a', LrrESP: 'x' }] }, []],
  ],
  Frequency: [[868.1, '868.5'], ['f']],
  DevLrrCnt: [[2], [1001]],
  SubBand: [['G1', 1], [{ a: 1 }]],
};

const docArb = fc
  .record(
    Object.fromEntries(
      Object.entries(FIELDS).map(([k, [good, bad]]) => [
        k,
        fc.oneof(
          { arbitrary: fc.constantFrom(...good), weight: 15 },
          { arbitrary: fc.constantFrom(...bad), weight: 1 },
        ),
      ]),
    ),
    { requiredKeys: ['Time', 'DevEUI', 'FCntUp'] },
  )
  .map((fields) => ({ DevEUI_uplink: fields as Record<string, unknown> }));

function attempt(doc: unknown, options?: { schemaOnly?: boolean }) {
  try {
    return parseTunnelMessage(doc, options);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('the uplink fast path (one field table: the schema and the reader come from it)', () => {
  it('accepts exactly what the schema accepts, with the same values', () => {
    let taken = 0;
    fc.assert(
      fc.property(docArb, (doc) => {
        const fast = uplinkReadsFast(doc.DevEUI_uplink);
        const schema = attempt(doc, { schemaOnly: true });
        // the reader never accepts what the schema refuses
        if (fast) {
          taken += 1;
          expect(schema).not.toHaveProperty('error');
        }
        // and the parser gives the same model (or the same error) either way
        expect(attempt(doc)).toEqual(schema);
      }),
      { numRuns: 3000 },
    );
    expect(taken).toBeGreaterThan(30);
  });

  it('takes the fast path for typed and untyped realistic uplinks', () => {
    const typed = {
      DevEUI_uplink: {
        Time: '2026-11-25T10:00:00.123+00:00',
        DevEUI: '70b3d57ed0000001',
        FPort: 2,
        FCntUp: 7,
        payload_hex: 'CAFE',
        LrrRSSI: -60,
        Lrrs: { Lrr: [{ Lrrid: '1', LrrRSSI: -60 }] },
      },
    };
    const untyped = { DevEUI_uplink: { ...typed.DevEUI_uplink, FPort: '2', FCntUp: '7', LrrRSSI: '-60.000000' } };
    expect(uplinkReadsFast(typed.DevEUI_uplink)).toBe(true);
    expect(uplinkReadsFast(untyped.DevEUI_uplink)).toBe(true);
    expect(parseTunnelMessage(typed)).toMatchObject({
      devEui: '70B3D57ED0000001',
      fCntUp: 7,
      payloadHex: 'cafe',
      rssi: -60,
    });
    expect(parseTunnelMessage(untyped)).toMatchObject({ fPort: 2, fCntUp: 7, rssi: -60 });
    expect(uplinkReadsFast({ ...typed.DevEUI_uplink, FPort: 256 })).toBe(false);
  });
});
