/** Round-trip properties over random messages (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeInfoTable,
  decodeMessage,
  decodePrimitive,
  encodeInfoTable,
  encodeMessage,
  encodePrimitive,
  messageFromJson,
  Reassembler,
  splitMessage,
  toJsonDocument,
} from '../../../src/alwayson/codec/index.js';
import { infoTable, message, requestMessage, responseMessage, value } from './arbitraries.js';

describe('round trips over random input', () => {
  it('primitives: decode(encode(v)) = v and the bytes are stable', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodePrimitive(v);
        const back = decodePrimitive(bytes);
        expect(back).toEqual(v);
        expect(encodePrimitive(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('infotables (nested, with aspects)', () => {
    fc.assert(
      fc.property(infoTable, (t) => {
        const bytes = encodeInfoTable(t);
        expect(decodeInfoTable(bytes)).toEqual(t);
      }),
      { numRuns: 200 },
    );
  });

  it('messages of every kind: decode(encode(m)) = m, encode(decode(b)) = b, and through the JSON form', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeMessage(m);
        const back = decodeMessage(bytes);
        expect(back).toEqual({ ...m, trailing: null });
        expect(encodeMessage(back).equals(bytes)).toBe(true);
        const viaJson = messageFromJson(JSON.parse(JSON.stringify(toJsonDocument(back))));
        expect(encodeMessage(viaJson).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('multipart: random chunk sizes, chunks in random order, reassemble to the message and split back identically', () => {
    const splittable = fc.oneof(requestMessage, responseMessage);
    fc.assert(
      fc.property(splittable, fc.integer({ min: 1, max: 200 }), fc.infiniteStream(fc.nat()), (m, extra, randoms) => {
        const single = encodeMessage(m);
        // The smallest workable chunk size: headers, the entity prefix twice (repeated, and at the start of the
        // body in chunk 1) for requests, one data byte.
        let prefix = 0;
        if (m.body.kind === 'request')
          prefix = 1 + (single[16]! & 0x80 ? 4 + single.readUInt32BE(16) - 0x80000000 : 1 + single[16]!);
        const chunkSize = 21 + 2 * prefix + extra;
        const frames = splitMessage(m, chunkSize);
        const order = frames.map((_, i) => i);
        const it = randoms[Symbol.iterator]();
        for (let i = order.length - 1; i > 0; i--) {
          const j = it.next().value! % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const r = new Reassembler();
        let whole = null;
        for (const [n, i] of order.entries()) {
          whole = r.push(frames[i]!);
          if (n < order.length - 1) expect(whole).toBeNull();
        }
        const expected = frames.length === 1 ? null : { chunkCount: frames.length, chunkSize };
        expect(whole).toEqual({ header: { ...m.header, multipart: expected }, body: m.body, trailing: null });
        expect(splitMessage(whole!, chunkSize)).toEqual(frames);
      }),
      { numRuns: 200 },
    );
  });
});
