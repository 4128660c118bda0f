/** What driver code finds in its realm: the Buffer subset Actility and TTN codecs use, and legacy signatures. */
import { afterEach, describe, expect, it } from 'vitest';
import { DriverDecoder } from '../../src/drivers/decoder.js';
import type { DriverPackage } from '../../src/drivers/types.js';

const open: DriverDecoder[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function run(code: string, bytes: number[], fPort = 1) {
  const pkg: DriverPackage = { name: 'x', useContext: false, code, main: 'x.js', examples: [], files: [] };
  const d = await DriverDecoder.start([{ name: 'x', pkg, assign: [] }], { timeoutMs: 10_000 });
  open.push(d);
  return d.decode('x', { bytes, fPort, recvTime: '2026-01-01T00:00:00.000Z' });
}

describe('driver realm', () => {
  it('Buffer: from/alloc/concat, integer and float reads and writes, hex/base64/utf8, out-of-range reads throw', async () => {
    const r = await run(
      `function decodeUplink(input) {
        var b = Buffer.from(input.bytes);
        var w = Buffer.alloc(8);
        w.writeFloatBE(1.5, 0);
        w.writeUInt16LE(513, 4);
        var oob;
        try { b.readUInt32BE(3); oob = 'no'; } catch (e) { oob = e.name; }
        return { data: {
          i16: b.readInt16BE(0), u16le: b.readUInt16LE(0), u8: b.readUint8(2), i8: b.readInt8(3),
          u24: b.readUIntBE(0, 3), hex: b.toString('hex'), b64: b.toString('base64'),
          fromHex: Array.from(Buffer.from('0a0B', 'hex')), utf8: Buffer.from('é€', 'utf8').toString('utf8'),
          float: w.readFloatBE(0), le: w.readUInt16LE(4), len: Buffer.concat([b, w]).length,
          slice: b.slice(1, 3).readUInt16BE(0), isBuffer: Buffer.isBuffer(b), oob: oob,
          recvTime: input.recvTime instanceof Date ? input.recvTime.toISOString() : 'not a Date'
        } };
      }`,
      [0xff, 0x06, 0x78, 0x80, 0x01],
    );
    expect(r).toMatchObject({
      ok: true,
      data: {
        i16: -250,
        u16le: 0x06ff,
        u8: 0x78,
        i8: -128,
        u24: 0xff0678,
        hex: 'ff06788001',
        b64: Buffer.from([0xff, 0x06, 0x78, 0x80, 0x01]).toString('base64'),
        fromHex: [10, 11],
        utf8: 'é€',
        float: 1.5,
        le: 513,
        len: 13,
        slice: 0x0678,
        isBuffer: true,
        oob: 'RangeError',
        recvTime: '2026-01-01T00:00:00.000Z',
      },
    });
  });

  it('wraps TTN v2 Decoder(bytes, port) and ChirpStack v3 Decode(fPort, bytes)', async () => {
    expect(
      await run('function Decoder(bytes, port) { return { first: bytes[0], port: port }; }', [7], 9),
    ).toMatchObject({
      ok: true,
      data: { first: 7, port: 9 },
    });
    expect(
      await run('function Decode(fPort, bytes) { return { n: bytes.length, p: fPort }; }', [1, 2], 4),
    ).toMatchObject({
      ok: true,
      data: { n: 2, p: 4 },
    });
  });

  it('finds functions on module.exports (CommonJS files)', async () => {
    expect(
      await run('module.exports = { decodeUplink: function (i) { return { data: { b: i.bytes[0] } }; } };', [3]),
    ).toMatchObject({ ok: true, data: { b: 3 } });
  });

  it('refuses an output too large for a property', async () => {
    const r = await run("function decodeUplink() { return { data: { s: new Array(300000).join('x') } }; }", [1]);
    expect(r).toMatchObject({ ok: false, reason: 'bad_output', errors: ['output over 262144 characters'] });
  });
});
