/** Hex-frame tests (in the style of the ws library's receiver tests): strict decoding with offsets, trailing bytes. */
import { describe, expect, it } from 'vitest';
import {
  decodeInfoTable,
  decodeMessage,
  decodePrimitive,
  EncodeError,
  encodeMessage,
  encodePrimitive,
  ProtocolError,
} from '../../../src/alwayson/codec/index.js';
import { hex, VECTORS, vector } from './vectors.js';

const HDR = '01 40 00 00 00 03 00 00 00 00 00 00 00 2a 00';
const REQ = '01 02 00 00 00 03 00 00 00 00 00 00 00 2a 00';

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('strict decoding: every truncation of every vector is a ProtocolError at or before the end', () => {
  for (const v of VECTORS.filter((x) => x.kind === 'message' || x.kind === 'message-chunk')) {
    it(v.name, () => {
      const bytes = hex(v.hex);
      // A body is complete only at the very end. A chunk's data is "the rest of the frame": a chunk cut after its
      // multipart header and entity prefix (21 + 6 bytes here) is still a chunk, with less data.
      const complete = v.kind === 'message' ? bytes.length : 27;
      for (let n = complete; n < bytes.length; n++) {
        expect(decodeMessage(bytes.subarray(0, n)).body).toMatchObject({ kind: 'chunk', entityName: 'Dev1' });
      }
      for (let n = 0; n < complete; n++) {
        const e = protocolError(() => decodeMessage(bytes.subarray(0, n)));
        expect(e.offset).toBeLessThanOrEqual(n);
        expect(e.code).toBe('TPX_PROTOCOL');
        expect(e.details).toMatchObject({ offset: e.offset });
      }
    });
  }
  for (const v of VECTORS.filter((x) => x.kind === 'primitive' || x.kind === 'infotable')) {
    it(v.name, () => {
      const bytes = hex(v.hex);
      const decode = v.kind === 'primitive' ? decodePrimitive : decodeInfoTable;
      for (let n = 0; n < bytes.length; n++) {
        expect(protocolError(() => decode(bytes.subarray(0, n))).offset).toBeLessThanOrEqual(n);
      }
    });
  }
});

describe('ProtocolError offsets and expectations', () => {
  it('a short header names the missing field', () => {
    const e = protocolError(() => decodeMessage(hex('01 14 00')));
    expect(e.offset).toBe(2);
    expect(e.expected).toBe('a 4-byte request id');
    expect(e.message).toMatch(/byte 2: expected a 4-byte request id, found only 1 byte\(s\) left/);
  });

  it('an unknown message code is rejected at byte 1', () => {
    const e = protocolError(() => decodeMessage(hex(`01 05 ${HDR.slice(6)} 00 ff`)));
    expect(e.offset).toBe(1);
    expect(e.expected).toMatch(/known message code/);
  });

  it('KEEP_ALIVE and UNKNOWN have no defined body and are rejected at byte 1', () => {
    expect(protocolError(() => decodeMessage(hex(`01 1f ${HDR.slice(6)}`))).offset).toBe(1);
    expect(protocolError(() => decodeMessage(hex(`01 00 ${HDR.slice(6)}`))).offset).toBe(1);
  });

  it('an unknown base type byte in a row', () => {
    // response, no reason, infotable: field "a" STRING, row with type byte 0x63
    const e = protocolError(() => decodeMessage(hex(`${HDR} 00 05 01 01 61 00 00 00 00 00 01 00 01 63 00 00`)));
    expect(e.offset).toBe(15 + 13);
    expect(e.expected).toBe('a known base type byte');
    expect(e.message).toContain('found 0x63');
  });

  it('a 4-byte string length longer than the frame fails before allocating', () => {
    const e = protocolError(() => decodeMessage(hex(`${HDR} 01 ff ff ff ff 41 ff`)));
    expect(e.offset).toBe(15 + 5);
    expect(e.expected).toMatch(/2147483647 string byte/);
  });

  it('a BLOB length of 4 GiB fails before allocating', () => {
    const e = protocolError(() => decodePrimitive(hex('15 ff ff ff ff 00')));
    expect(e.offset).toBe(5);
    expect(e.expected).toMatch(/BLOB data: 4294967295 byte/);
  });

  it('oversize frames are rejected before decoding (default 1 MiB, configurable)', () => {
    const big = Buffer.alloc(1024 * 1024 + 1);
    hex(HDR).copy(big);
    const e = protocolError(() => decodeMessage(big));
    expect(e.expected).toMatch(/at most 1048576 bytes/);
    const small = hex(vector('push-properties-temp-21.5').hex);
    expect(protocolError(() => decodeMessage(small, { maxMessageSize: 100 })).expected).toMatch(/at most 100 bytes/);
    expect(decodeMessage(small, { maxMessageSize: small.length }).header.code).toBe('POST');
  });

  it('deeply nested VARIANTs stop at the depth limit instead of overflowing the stack', () => {
    const deep = Buffer.concat([hex(`${HDR} 00 05 01 01 76 00 12 00 00 00 01 00 01`), Buffer.alloc(100_000, 0x12)]);
    const e = protocolError(() => decodeMessage(deep));
    expect(e.expected).toMatch(/no deeper nesting of VARIANT/);
    expect(e.offset).toBeLessThan(15 + 13 + 40);
  });

  it('invalid UTF-8 in a string is rejected', () => {
    const e = protocolError(() => decodePrimitive(hex('00 08 41 41 41 41 41 41 41 c3')));
    expect(e.offset).toBe(2);
    expect(e.expected).toMatch(/valid UTF-8/);
  });

  it('infotable markers other than 0x00/0x01, wrong row widths and duplicate aspects are rejected', () => {
    expect(protocolError(() => decodeInfoTable(hex('02'))).expected).toMatch(/field marker/);
    const e = protocolError(() => decodeInfoTable(hex('01 01 61 00 00 00 00 00 01 00 02 00 00 00 00 00')));
    expect(e.offset).toBe(9);
    expect(e.expected).toMatch(/row field count of 1/);
    const dup = protocolError(() => decodeInfoTable(hex('01 01 61 00 00 00 02 01 78 ff 01 78 ff 00 00')));
    expect(dup.offset).toBe(10);
    expect(dup.expected).toMatch(/aspect name not used before/);
  });

  it('params and content type bytes must be 0x05 or 0xFF', () => {
    const e = protocolError(() => decodeMessage(hex(`${REQ} 0a 01 44 01 01 74 00 07`)));
    expect(e.offset).toBe(15 + 7);
    expect(e.expected).toMatch(/params type byte/);
    expect(protocolError(() => decodeMessage(hex(`${HDR} 00 00`))).expected).toMatch(/content type byte/);
  });

  it('unknown entity types and characteristics are rejected', () => {
    expect(protocolError(() => decodeMessage(hex(`${REQ} 09 01 44 01 01 74 00 ff`))).offset).toBe(15);
    expect(protocolError(() => decodeMessage(hex(`${REQ} 0a 01 44 04 01 74 00 ff`))).offset).toBe(18);
  });

  it('multipart headers are checked', () => {
    const mp = (id: string, count: string, size: string) =>
      hex(`01 40 00 00 00 03 00 00 00 00 00 00 00 2a 01 ${id} ${count} ${size} 00`);
    expect(protocolError(() => decodeMessage(mp('00 00', '00 02', '00 40'))).offset).toBe(15);
    expect(protocolError(() => decodeMessage(mp('00 03', '00 02', '00 40'))).offset).toBe(15);
    expect(protocolError(() => decodeMessage(mp('00 01', '00 00', '00 40'))).offset).toBe(17);
    const e = protocolError(() => decodeMessage(mp('00 01', 'ff ff', 'ff ff')));
    expect(e.expected).toMatch(/chunk count × chunk size of at most 1048576/);
    expect(decodeMessage(mp('00 01', '00 02', '00 40')).body).toEqual({ kind: 'chunk', data: '00' });
    const auth = protocolError(() =>
      decodeMessage(hex('01 14 00 00 00 01 00 00 00 00 ff ff ff ff 01 00 01 00 01 00 40 00')),
    );
    expect(auth.offset).toBe(14);
  });
});

describe('trailing bytes (PTC SDK padding, research §21 D1/D4)', () => {
  it('an error response padded with strlen(reason)+1 zero bytes keeps them and re-encodes exactly', () => {
    const frame = hex(`01 84 00 00 00 4f 00 00 00 05 00 00 00 2a 00 00 ff ${'00 '.repeat(10)}`);
    const m = decodeMessage(frame);
    expect(m.body).toEqual({ kind: 'response', reason: null, content: null });
    expect(m.trailing).toBe('00'.repeat(10));
    expect(encodeMessage(m).equals(frame)).toBe(true);
  });

  it('a GET with params NOTHING keeps what follows as trailing', () => {
    const m = decodeMessage(hex(`${vector('roundtrip-16-9-platform-GET-temp').hex} 00`));
    expect(m.trailing).toBe('00');
  });

  it('standalone primitives and infotables must be exact (no trailing bytes)', () => {
    expect(protocolError(() => decodePrimitive(hex('02 01 00'))).expected).toMatch(/end of the primitive/);
    expect(protocolError(() => decodeInfoTable(hex('00 00 00'))).offset).toBe(2);
  });
});

describe('base types', () => {
  const rt = (h: string) => encodePrimitive(decodePrimitive(hex(h))).toString('hex');

  it('LONG is an exact int64 (decimal string)', () => {
    expect(decodePrimitive(hex('17 7f ff ff ff ff ff ff ff'))).toEqual({
      baseType: 'LONG',
      value: '9223372036854775807',
    });
    expect(decodePrimitive(hex('17 80 00 00 00 00 00 00 00'))).toEqual({
      baseType: 'LONG',
      value: '-9223372036854775808',
    });
    expect(encodePrimitive({ baseType: 'LONG', value: '-2' }).toString('hex')).toBe('17fffffffffffffffe');
    expect(() => encodePrimitive({ baseType: 'LONG', value: '9223372036854775808' })).toThrow(EncodeError);
    expect(() => encodePrimitive({ baseType: 'LONG', value: '1.5' })).toThrow(EncodeError);
  });

  it('TIMESPAN is int64 milliseconds as a decimal string (UNCONFIRMED encoding); SCHEDULE a string', () => {
    expect(decodePrimitive(hex('04 00 00 00 00 00 00 ea 60'))).toEqual({ baseType: 'TIMESPAN', value: '60000' });
    expect(decodePrimitive(hex('11 03 61 62 63'))).toEqual({ baseType: 'SCHEDULE', value: 'abc' });
  });

  it('DATETIME outside ±(2^53−1) ms is rejected rather than rounded; negative dates work', () => {
    expect(protocolError(() => decodePrimitive(hex('03 00 20 00 00 00 00 00 00'))).expected).toMatch(/within/);
    expect(decodePrimitive(hex('03 ff ff ff ff ff ff ff ff'))).toEqual({ baseType: 'DATETIME', value: -1 });
    expect(rt('03 ff e0 00 00 00 00 00 01')).toBe('03ffe0000000000001');
    expect(() => encodePrimitive({ baseType: 'DATETIME', value: 1.5 })).toThrow(EncodeError);
  });

  it('INTEGER is int32; out-of-range values do not encode', () => {
    expect(rt('16 80 00 00 00')).toBe('1680000000');
    expect(() => encodePrimitive({ baseType: 'INTEGER', value: 2 ** 31 })).toThrow(EncodeError);
  });

  it('strings switch to the 4-byte length at 128 UTF-8 bytes, counting bytes not characters', () => {
    const e50 = encodePrimitive({ baseType: 'STRING', value: 'é'.repeat(50) });
    expect(e50.subarray(0, 2).toString('hex')).toBe('0064');
    const e64 = encodePrimitive({ baseType: 'STRING', value: 'é'.repeat(64) });
    expect(e64.subarray(0, 5).toString('hex')).toBe('0080000080');
    const emoji = '😀'.repeat(40);
    expect(decodePrimitive(encodePrimitive({ baseType: 'TEXT', value: emoji }))).toEqual({
      baseType: 'TEXT',
      value: emoji,
    });
  });

  it('NUMBER keeps -0 and NaN; BOOLEAN non-zero reads as true (§8)', () => {
    expect(
      Object.is((decodePrimitive(encodePrimitive({ baseType: 'NUMBER', value: -0 })) as { value: number }).value, -0),
    ).toBe(true);
    expect(decodePrimitive(encodePrimitive({ baseType: 'NUMBER', value: Number.NaN }))).toEqual({
      baseType: 'NUMBER',
      value: Number.NaN,
    });
    expect(decodePrimitive(hex('02 07'))).toEqual({ baseType: 'BOOLEAN', value: true });
  });
});

describe('decodeHeader', () => {
  it('reads the header of any known code, including KEEP_ALIVE which has no body', async () => {
    const { decodeHeader } = await import('../../../src/alwayson/codec/index.js');
    expect(decodeHeader(hex('01 1f 00 00 00 00 00 00 00 05 00 00 00 2a 00'))).toEqual({
      version: 1,
      code: 'KEEP_ALIVE',
      codeValue: 0x1f,
      requestId: 0,
      endpointId: 5,
      sessionId: 42,
      multipart: null,
    });
    expect(decodeHeader(hex(vector('multipart-post-svc-60A/chunk2').hex)).multipart).toEqual({
      chunkId: 2,
      chunkCount: 3,
      chunkSize: 64,
    });
    expect(protocolError(() => decodeHeader(hex('01 63'))).offset).toBe(1);
  });
});
