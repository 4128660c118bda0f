import { describe, expect, it } from 'vitest';
import {
  codeName,
  decodeMessage,
  EncodeError,
  encodeInfoTable,
  encodeMessage,
  formatMessage,
  infoTableFromValues,
  messageFromJson,
  toJsonDocument,
  toJsonText,
  valuesFromInfoTable,
} from '../../../src/alwayson/codec/index.js';
import { hex, vector } from './vectors.js';

describe('conveniences', () => {
  it('infoTableFromValues wraps values as the C SDK does (one row, empty descriptions, no aspects)', () => {
    const t = infoTableFromValues({ temp: { baseType: 'NUMBER', value: 21.5 } });
    expect(encodeInfoTable(t).toString('hex')).toBe(vector('infotable-temp-21.5').hex);
    expect(valuesFromInfoTable(t)).toEqual({ temp: { baseType: 'NUMBER', value: 21.5 } });
    expect(valuesFromInfoTable(t, 1)).toEqual({});
  });

  it('valuesFromInfoTable keeps a field named __proto__ as data', () => {
    const t = infoTableFromValues({ ['__proto__']: { baseType: 'STRING', value: 'x' } } as never);
    const v = valuesFromInfoTable({
      dataShape: [{ name: '__proto__', description: '', baseType: 'STRING', aspects: {} }],
      rows: t.rows,
    });
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it('codeName names every code of §4 and nothing else', () => {
    expect(codeName(0x14)).toBe('AUTH');
    expect(codeName(0x84)).toBe('NOT_FOUND');
    expect(codeName(0xa4)).toBe('GATEWAY_TIMEOUT');
    expect(codeName(0x41)).toBeUndefined();
    expect(codeName(-1)).toBeUndefined();
  });
});

describe('JSON form', () => {
  it('numbers JSON cannot hold travel as strings and come back exactly', () => {
    const m = decodeMessage(hex(vector('put-property-temp-21.5').hex));
    if (m.body.kind !== 'request') throw new Error('not a request');
    m.body.params!.rows[0]![0] = { baseType: 'NUMBER', value: -0 };
    const doc = toJsonDocument(m) as { body: { params: { rows: { value: unknown }[][] } } };
    expect(doc.body.params.rows[0]![0]!.value).toBe('-0');
    expect(encodeMessage(messageFromJson(doc)).equals(encodeMessage(m))).toBe(true);
    expect(toJsonText({ baseType: 'NUMBER', value: Number.NaN })).toBe('{"baseType":"NUMBER","value":"NaN"}');
  });

  it('fills defaults a hand-written message may leave out', () => {
    const m = messageFromJson({
      header: { code: 'PUT', requestId: 3, sessionId: 42 },
      body: {
        kind: 'request',
        entityName: 'Dev1',
        characteristic: 'PROPERTIES',
        name: 'temp',
        params: { dataShape: [{ name: 'temp', baseType: 'NUMBER' }], rows: [[{ baseType: 'NUMBER', value: 21.5 }]] },
      },
    });
    expect(encodeMessage(m).toString('hex')).toBe(vector('put-property-temp-21.5').hex);
  });

  it('names the path of the first problem', () => {
    const bad = (doc: unknown, path: string) => {
      try {
        messageFromJson(doc);
      } catch (err) {
        expect(err).toBeInstanceOf(EncodeError);
        expect((err as EncodeError).path).toBe(path);
        expect((err as EncodeError).code).toBe('TPX_ENCODE');
        return;
      }
      throw new Error('expected an EncodeError');
    };
    bad({ header: { code: 'NOPE' }, body: {} }, 'header.code');
    bad({ header: { code: 'SUCCESS', codeValue: 0x41 }, body: {} }, 'header.codeValue');
    bad(
      {
        header: { code: 'SUCCESS' },
        body: { kind: 'response', content: { dataShape: [{ name: 'a', baseType: 'X' }] } },
      },
      'body.content.dataShape[0].baseType',
    );
    bad(
      {
        header: { code: 'SUCCESS' },
        body: { kind: 'response', content: { dataShape: [], rows: [[]], x: 1 }, reason: 5 },
      },
      'body.reason',
    );
    bad(
      {
        header: { code: 'SUCCESS' },
        body: { kind: 'response', content: { dataShape: [], rows: [[{ baseType: 'NOTHING' }]] } },
      },
      'body.content.rows[0]',
    );
    bad({ header: { code: 'AUTH' }, body: { kind: 'auth', claims: { appKey: 1 } } }, 'body.claims.appKey');
    bad({ header: { code: 'AUTH' }, body: { kind: 'auth' }, trailing: 'zz' }, 'trailing');
  });
});

describe('readable tree', () => {
  it('shows header, body, nested infotables and trailing bytes', () => {
    const text = formatMessage(decodeMessage(hex(`${vector('push-properties-temp-21.5').hex}0000`)));
    expect(text.split('\n')[0]).toBe('POST (0x03)  version 1  requestId 4  endpointId 0  sessionId 42');
    expect(text).toContain('time = DATETIME 1700000000000 (2023-11-14T22:13:20.000Z)');
    expect(text).toContain('quality = STRING "GOOD"');
    expect(text).toContain('trailing: 2 byte(s) after the body: 0000');
  });
});
