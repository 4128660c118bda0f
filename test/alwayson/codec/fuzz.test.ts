/**
 * Fuzzing: at least 100,000 mutated and truncated frames per run. The decoder must only ever throw ProtocolError
 * (never RangeError/TypeError, never hang), and whatever it accepts must re-encode to a frame that decodes the same.
 */
import { describe, expect, it } from 'vitest';
import {
  type DecodedMessage,
  decodeInfoTable,
  decodeMessage,
  decodePrimitive,
  encodeChunk,
  encodeMessage,
  infoTableFromValues,
  ProtocolError,
  Reassembler,
  splitMessage,
} from '../../../src/alwayson/codec/index.js';
import { hex, VECTORS } from './vectors.js';

/** mulberry32: a small seeded PRNG so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0x00, 0x01, 0x05, 0x12, 0x17, 0x7f, 0x80, 0xff];

function mutate(src: Buffer, rnd: () => number): Buffer {
  const pick = (n: number) => Math.floor(rnd() * n);
  const b = Buffer.from(src);
  switch (pick(6)) {
    case 0: // truncate
      return b.subarray(0, pick(b.length));
    case 1: {
      // flip 1-3 bytes
      for (let i = 1 + pick(3); i > 0; i--) b[pick(b.length)] = pick(256);
      return b;
    }
    case 2: {
      // an interesting byte (markers, type bytes, length tops)
      b[pick(b.length)] = INTERESTING[pick(INTERESTING.length)]!;
      return b;
    }
    case 3: {
      // insert or delete a byte
      const at = pick(b.length + 1);
      return rnd() < 0.5
        ? Buffer.concat([b.subarray(0, at), Buffer.of(pick(256)), b.subarray(at)])
        : Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    }
    case 4: {
      // a huge 4-byte string/blob length somewhere
      if (b.length < 4) return b;
      const at = pick(b.length - 3);
      b.writeUInt32BE(0x80000000 + pick(0x7fffffff), at);
      return b;
    }
    default: {
      // append junk, then maybe truncate
      const junk = Buffer.alloc(pick(8), pick(256));
      const out = Buffer.concat([b, junk]);
      return rnd() < 0.5 ? out : out.subarray(0, pick(out.length));
    }
  }
}

function only(fn: () => void, onFailure: () => string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      throw new Error(`${onFailure()}: ${(err as Error).stack ?? String(err)}`);
    }
    if (!(err.offset >= 0)) throw new Error(`${onFailure()}: offset ${err.offset}`);
  }
}

function reencode(m: DecodedMessage): Buffer {
  return m.body.kind === 'chunk' ? encodeChunk(m) : encodeMessage(m);
}

describe('fuzz', () => {
  const seed = Number(process.env.TPX_FUZZ_SEED ?? Date.now() % 1_000_000);
  const frames = VECTORS.filter((v) => v.kind === 'message' || v.kind === 'message-chunk').map((v) => hex(v.hex));
  // Larger seeds with nesting, 4-byte lengths and a multipart set.
  const nested = {
    header: {
      version: 1,
      code: 'POST' as const,
      codeValue: 3,
      requestId: 8,
      endpointId: 1,
      sessionId: 2,
      multipart: null,
    },
    body: {
      kind: 'request' as const,
      entityType: 'THING' as const,
      entityName: 'Dev-é',
      characteristic: 'SERVICES' as const,
      name: 'S',
      headers: { h: 'v' },
      params: infoTableFromValues({
        j: { baseType: 'JSON', value: JSON.stringify({ a: 'x'.repeat(150) }) },
        v: { baseType: 'VARIANT', value: { baseType: 'LOCATION', value: { longitude: 1, latitude: 2, elevation: 3 } } },
        t: {
          baseType: 'INFOTABLE',
          value: infoTableFromValues({ l: { baseType: 'LONG', value: '-5' }, b: { baseType: 'BLOB', value: '00ff' } }),
        },
      }),
    },
  };
  frames.push(encodeMessage(nested), ...splitMessage(nested, 90));
  const prims = VECTORS.filter((v) => v.kind === 'primitive').map((v) => hex(v.hex));
  const tables = VECTORS.filter((v) => v.kind === 'infotable').map((v) => hex(v.hex));

  it(`100,000 mutated frames only ever raise ProtocolError (seed ${seed}, replay with TPX_FUZZ_SEED)`, () => {
    const rnd = prng(seed);
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      const src = frames[i % frames.length]!;
      const f = mutate(src, rnd);
      only(
        () => {
          const m = decodeMessage(f, { maxMessageSize: 4096 });
          accepted++;
          const bytes = reencode(m);
          if (!reencode(decodeMessage(bytes, { maxMessageSize: 1 << 20 })).equals(bytes)) {
            throw new Error(`re-encoding is not stable for ${f.toString('hex')}`);
          }
        },
        () => `seed ${seed}, iteration ${i}, frame ${f.toString('hex')}`,
      );
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('mutated chunk streams through one Reassembler only raise ProtocolError, and memory stays bounded', () => {
    const rnd = prng(seed + 1);
    const r = new Reassembler({ maxMessageSize: 4096, maxPending: 8 });
    const chunks = splitMessage(nested, 64);
    for (let i = 0; i < 20_000; i++) {
      const c = chunks[Math.floor(rnd() * chunks.length)]!;
      const f = rnd() < 0.5 ? c : mutate(c, rnd);
      only(
        () => {
          r.push(f);
        },
        () => `seed ${seed}, iteration ${i}, frame ${f.toString('hex')}`,
      );
      if (r.pending > 8 || r.pendingBytes > 4 * 4096)
        throw new Error(`unbounded: ${r.pending} sets, ${r.pendingBytes} bytes`);
    }
  });

  it('mutated primitives and infotables only raise ProtocolError', () => {
    const rnd = prng(seed + 2);
    for (let i = 0; i < 20_000; i++) {
      const p = mutate(prims[i % prims.length]!, rnd);
      only(
        () => void decodePrimitive(p),
        () => `seed ${seed}, primitive ${p.toString('hex')}`,
      );
      const t = mutate(tables[i % tables.length]!, rnd);
      only(
        () => void decodeInfoTable(t),
        () => `seed ${seed}, infotable ${t.toString('hex')}`,
      );
    }
  });

  it('random bytes only raise ProtocolError', () => {
    const rnd = prng(seed + 3);
    for (let i = 0; i < 10_000; i++) {
      const f = Buffer.alloc(Math.floor(rnd() * 64));
      for (let j = 0; j < f.length; j++) f[j] = Math.floor(rnd() * 256);
      if (f.length > 0) f[0] = 1;
      only(
        () => void decodeMessage(f),
        () => `seed ${seed}, bytes ${f.toString('hex')}`,
      );
    }
  });
});
