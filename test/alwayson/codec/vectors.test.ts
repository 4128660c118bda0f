import { describe, expect, it } from 'vitest';
import {
  decodeBody,
  decodeInfoTable,
  decodeMessage,
  decodePrimitive,
  encodeBody,
  encodeInfoTable,
  encodeMessage,
  encodePrimitive,
  Reassembler,
  splitMessage,
} from '../../../src/alwayson/codec/index.js';
import { hex, VECTORS, vector } from './vectors.js';

const byKind = (k: string) => VECTORS.filter((v) => v.kind === k);

describe('C SDK 2.2.1 vectors: decode and re-encode byte for byte', () => {
  it('covers every vector kind in the file', () => {
    expect(new Set(VECTORS.map((v) => v.kind))).toEqual(
      new Set(['message', 'message-chunk', 'response-body', 'primitive', 'infotable']),
    );
  });

  describe('message', () => {
    for (const v of byKind('message')) {
      it(v.name, () => {
        const bytes = hex(v.hex);
        const m = decodeMessage(bytes);
        expect(m.trailing).toBeNull();
        expect(m.header.multipart).toBeNull();
        expect(encodeMessage(m).toString('hex')).toBe(v.hex);
      });
    }
  });

  describe('response-body', () => {
    for (const v of byKind('response-body')) {
      it(v.name, () => {
        const { body, trailing } = decodeBody(hex(v.hex), 'NOT_FOUND');
        expect(body.kind).toBe('response');
        expect(trailing).toBeNull();
        expect(encodeBody(body, 'NOT_FOUND').toString('hex')).toBe(v.hex);
      });
    }
  });

  describe('primitive', () => {
    for (const v of byKind('primitive')) {
      it(v.name, () => {
        const p = decodePrimitive(hex(v.hex));
        expect(encodePrimitive(p).toString('hex')).toBe(v.hex);
      });
    }
  });

  describe('infotable', () => {
    for (const v of byKind('infotable')) {
      it(v.name, () => {
        const t = decodeInfoTable(hex(v.hex));
        expect(encodeInfoTable(t).toString('hex')).toBe(v.hex);
      });
    }
  });

  describe('message-chunk', () => {
    const sets = new Map<string, typeof VECTORS>();
    for (const v of byKind('message-chunk')) {
      const set = v.name.replace(/\/chunk\d+$/, '');
      sets.set(set, [...(sets.get(set) ?? []), v]);
    }
    for (const [name, chunks] of sets) {
      it(`${name}: each chunk re-encodes, the set reassembles in any order and splits back identically`, () => {
        for (const c of chunks) {
          const d = decodeMessage(hex(c.hex));
          expect(d.body.kind).toBe('chunk');
        }
        const ordered = chunks.map((c) => hex(c.hex));
        for (const order of [ordered, [...ordered].reverse()]) {
          const r = new Reassembler();
          let whole = null;
          for (let i = 0; i < order.length; i++) {
            whole = r.push(order[i]!);
            if (i < order.length - 1) expect(whole).toBeNull();
          }
          expect(whole).not.toBeNull();
          expect(r.pending).toBe(0);
          const mp = whole!.header.multipart!;
          expect(mp).toEqual({ chunkCount: chunks.length, chunkSize: mp.chunkSize });
          const again = splitMessage(whole!, mp.chunkSize);
          expect(again.map((b) => b.toString('hex'))).toEqual(chunks.map((c) => c.hex));
        }
      });
    }
  });
});

describe('vector contents (what the bytes mean)', () => {
  it('AUTH carries the appKey claim with session 0xFFFFFFFF', () => {
    const m = decodeMessage(hex(vector('auth-appkey-abc').hex));
    expect(m).toEqual({
      header: {
        version: 1,
        code: 'AUTH',
        codeValue: 0x14,
        requestId: 1,
        endpointId: 0,
        sessionId: 0xffffffff,
        multipart: null,
      },
      body: { kind: 'auth', claims: { appKey: 'abc' } },
      trailing: null,
    });
  });

  it('BIND with a gateway', () => {
    const m = decodeMessage(hex(vector('bind-gateway-A-B').hex));
    expect(m.body).toEqual({ kind: 'bind', gateway: { name: 'GW', type: 'EMS' }, names: ['A', 'B'] });
  });

  it('the property push is a NamedVTQ infotable inside a values infotable', () => {
    const m = decodeMessage(hex(vector('push-properties-temp-21.5').hex));
    expect(m.body).toMatchObject({
      kind: 'request',
      entityType: 'THING',
      entityName: 'Dev1',
      characteristic: 'SERVICES',
      name: 'UpdateSubscribedPropertyValues',
      headers: {},
    });
    if (m.body.kind !== 'request') throw new Error('not a request');
    const values = m.body.params!.rows[0]![0]!;
    expect(values.baseType).toBe('INFOTABLE');
    if (values.baseType !== 'INFOTABLE') throw new Error('not an infotable');
    expect(values.value.dataShape.map((f) => [f.name, f.baseType])).toEqual([
      ['name', 'STRING'],
      ['value', 'VARIANT'],
      ['time', 'DATETIME'],
      ['quality', 'STRING'],
    ]);
    expect(values.value.rows).toEqual([
      [
        { baseType: 'STRING', value: 'temp' },
        { baseType: 'VARIANT', value: { baseType: 'NUMBER', value: 21.5 } },
        { baseType: 'DATETIME', value: 1700000000000 },
        { baseType: 'STRING', value: 'GOOD' },
      ],
    ]);
  });

  it('the error response with a reason', () => {
    const m = decodeMessage(hex(vector('response-0x84-reason-not-found').hex));
    expect(m.header.code).toBe('NOT_FOUND');
    expect(m.body).toEqual({ kind: 'response', reason: 'not found', content: null });
  });

  it('aspects keep their types', () => {
    const t = decodeInfoTable(hex(vector('infotable-with-aspects').hex));
    expect(t.dataShape[0]).toEqual({
      name: 'temp',
      description: 'Temperature',
      baseType: 'NUMBER',
      aspects: { isPersistent: { baseType: 'BOOLEAN', value: true }, pushType: { baseType: 'STRING', value: 'VALUE' } },
    });
  });

  it('primitives: location order, blob hex, 4-byte string length', () => {
    expect(decodePrimitive(hex(vector('prim-location').hex))).toEqual({
      baseType: 'LOCATION',
      value: { longitude: 2.35, latitude: 48.85, elevation: 35 },
    });
    expect(decodePrimitive(hex(vector('prim-blob-3').hex))).toEqual({ baseType: 'BLOB', value: '010203' });
    expect(decodePrimitive(hex(vector('prim-string-200').hex))).toEqual({ baseType: 'STRING', value: 'A'.repeat(200) });
    expect(decodePrimitive(hex(vector('prim-integer-minus2').hex))).toEqual({ baseType: 'INTEGER', value: -2 });
  });
});
