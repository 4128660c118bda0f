/**
 * A growable big-endian writer. The encoder writes into one reusable scratch buffer and copies the result out
 * once (one allocation per encoded frame), so no size pass over the message is needed.
 */

const INITIAL = 16 * 1024;
/** Scratch buffers larger than this are dropped after use so one big message does not pin memory. */
const KEEP_MAX = 2 * 1024 * 1024;

export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size = INITIAL) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far, as a new exactly-sized Buffer. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    if (this.buf.length > KEEP_MAX) this.buf = Buffer.allocUnsafe(INITIAL);
    this.pos = 0;
    return out;
  }

  u8(v: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.pos] = v >>> 8;
    b[this.pos + 1] = v;
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** A safe integer as int64 big-endian. */
  i64Number(v: number): void {
    const hi = Math.floor(v / 0x100000000);
    const lo = v - hi * 0x100000000;
    this.u32(hi >>> 0);
    this.u32(lo >>> 0);
  }

  i64BigInt(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** A string per research/alwayson.md §2 (length prefix of 1 byte below 128 bytes, else 4 bytes with bit 31). */
  str(s: string): void {
    const len = s.length;
    if (len === 0) {
      this.u8(0);
      return;
    }
    if (len < 43) {
      // At most 3 bytes per UTF-16 unit: fewer than 128 bytes, so a 1-byte length.
      this.ensure(1 + 3 * len);
      const b = this.buf;
      const start = this.pos + 1;
      let p = start;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          p = start + b.write(s, start, 'utf8');
          break;
        }
        b[p++] = c;
      }
      b[this.pos] = p - start;
      this.pos = p;
      return;
    }
    const n = len >= 128 ? -1 : Buffer.byteLength(s, 'utf8');
    if (n >= 0 && n < 128) {
      this.ensure(1 + n);
      this.buf[this.pos] = n;
      this.buf.write(s, this.pos + 1, 'utf8');
      this.pos += 1 + n;
      return;
    }
    // Long string: at least 128 bytes.
    this.ensure(4 + 3 * len);
    const written = this.buf.write(s, this.pos + 4, 'utf8');
    this.u32((written | 0x80000000) >>> 0);
    this.pos += written;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }
}
