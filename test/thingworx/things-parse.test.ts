import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDevEui, parseInterval } from '../../src/cli/parsers.js';
import { TpxError } from '../../src/errors.js';
import { decodeMessage, spacedHex, summarizeUplink } from '../../src/thingworx/things-uplink.js';
import { normaliseDevEui } from '../../src/util/hex.js';

describe('DevEUI input', () => {
  it('accepts any case and common separators, returning 16 upper-case hex digits', () => {
    for (const s of [
      '0018b20000000fff',
      '0018B20000000FFF',
      '00:18:b2:00:00:00:0f:ff',
      '00-18-B2-00-00-00-0F-FF',
      ' 0018.b200.0000.0fff ',
      '00 18 b2 00 00 00 0f ff',
    ]) {
      expect(parseDevEui(s)).toBe('0018B20000000FFF');
    }
  });

  it('rejects other input with a usage error saying why', () => {
    expect(normaliseDevEui('0018B20000000FF')).toBeUndefined();
    const short = (() => {
      try {
        parseDevEui('0018B20000000FF');
      } catch (e) {
        return e as TpxError;
      }
    })();
    expect(short).toBeInstanceOf(TpxError);
    expect(short?.exitCode).toBe(2);
    expect(short?.message).toMatch(/15 hex digits, not 16/);
    expect(() => parseDevEui('0018B20000000FFG')).toThrow(/"G", which is not a hex digit/);
    expect(() => parseDevEui('')).toThrow(/0 hex digits/);
    expect(() => parseDevEui('0018B20000000FFF00')).toThrow(/18 hex digits/);
  });
});

describe('uplink decoding', () => {
  const vector = JSON.parse(
    readFileSync(new URL('../fixtures/thingpark/uplink-untyped.json', import.meta.url), 'utf8'),
  );

  it('decodes a DevEUI_uplink object or JSON text into a summary and flat fields', () => {
    for (const value of [vector, JSON.stringify(vector)]) {
      const d = decodeMessage(value)!;
      expect(d.kind).toBe('DevEUI_uplink');
      expect(summarizeUplink(d.body)).toEqual({
        time: '2024-03-05T09:12:44.21+01:00',
        devEui: '70b3d5e75e00a1b2',
        fPort: 5,
        fCntUp: 1204,
        payloadHex: '01A4ff02',
        rssi: -97,
        snr: 6.25,
        spreadingFactor: 9,
        lrrId: '1000a3f2',
      });
      const fields = Object.fromEntries(d.fields);
      expect(fields['Lrrs.Lrr[1].Lrrid']).toBe('1000b001');
      expect(fields['CustomerData.alr.pro']).toBe('TPX');
      expect(fields['-xmlns']).toBeUndefined();
    }
  });

  it('takes a raw (sendRawDecodedFormat) object as it is, and ignores empty values', () => {
    expect(decodeMessage({ temperature: 21.5 })).toEqual({
      kind: undefined,
      body: { temperature: 21.5 },
      fields: [['temperature', '21.5']],
    });
    expect(decodeMessage('')).toBeUndefined();
    expect(decodeMessage('{}')).toBeUndefined();
    expect(decodeMessage('not json')).toBeUndefined();
    expect(decodeMessage(null)).toBeUndefined();
  });

  it('spaces hex payloads by byte', () => {
    expect(spacedHex('0027bd00')).toBe('00 27 bd 00');
    expect(spacedHex('abc')).toBe('abc');
  });
});

describe('watch interval', () => {
  it('parses durations and refuses busy loops', () => {
    expect(parseInterval('2s')).toBe(2000);
    expect(parseInterval('500ms')).toBe(500);
    expect(parseInterval('1m')).toBe(60_000);
    expect(parseInterval('3')).toBe(3000);
    expect(() => parseInterval('0')).toThrow(/Invalid --interval "0"/);
    expect(() => parseInterval('10ms')).toThrow(/Invalid --interval/);
    expect(() => parseInterval('soon')).toThrow(/Invalid --interval/);
  });
});
