/**
 * A bounds-checked cursor over a buffer (research/alwayson.md §2). Every read checks the remaining length first
 * and throws ProtocolError(offset, expected) instead of a RangeError; nothing is copied except decoded strings.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from './errors.js';

/** Node's native latin1/utf8 slices (what toString() calls, without its argument handling). */
type Latin1Slice = (this: Buffer, start: number, end: number) => string;
const nativeLatin1 = (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice;
const latin1: Latin1Slice =
  typeof nativeLatin1 === 'function'
    ? nativeLatin1
    : function (this: Buffer, s: number, e: number) {
        return this.toString('latin1', s, e);
      };

const nativeUtf8 = (Buffer.prototype as unknown as { utf8Slice?: Latin1Slice }).utf8Slice;
const utf8: Latin1Slice =
  typeof nativeUtf8 === 'function'
    ? nativeUtf8
    : function (this: Buffer, s: number, e: number) {
        return this.toString('utf8', s, e);
      };

export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class Reader {
  pos: number;
  readonly end: number;
  /** Added to positions in error offsets (when this reader covers a slice of a larger input). */
  readonly base: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
    base = 0,
  ) {
    this.pos = start;
    this.end = end;
    this.base = base;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(expected: string, found?: string, at = this.pos): never {
    throw new ProtocolError(at + this.base, expected, found);
  }

  need(n: number, expected: string): void {
    if (this.end - this.pos < n) {
      this.fail(expected, this.pos >= this.end ? 'end of input' : `only ${this.end - this.pos} byte(s) left`);
    }
  }

  u8(expected: string): number {
    if (this.pos >= this.end) this.fail(expected, 'end of input');
    return this.buf[this.pos++]!;
  }

  u16(expected: string): number {
    this.need(2, expected);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(expected: string): number {
    this.need(4, expected);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  i32(expected: string): number {
    this.need(4, expected);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  f64(expected: string): number {
    this.need(8, expected);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** int64 as a JS number; values outside ±(2^53−1) are rejected (they would lose precision). */
  i64Number(expected: string): number {
    this.need(8, expected);
    const start = this.pos;
    const hi = this.i32(expected);
    const lo = this.u32(expected);
    if (hi >= 0x200000 || hi < -0x200000 || (hi === -0x200000 && lo === 0)) {
      this.fail(`${expected} within ±(2^53−1)`, `${this.buf.readBigInt64BE(start)}`, start);
    }
    return hi * 0x100000000 + lo;
  }

  i64BigInt(expected: string): bigint {
    this.need(8, expected);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A string per §2: 1-byte length below 128, else u32 with the top bit set; UTF-8 bytes (validated). */
  str(expected: string): string {
    const start = this.pos;
    if (start >= this.end) this.fail(`${expected} (string length)`, 'end of input');
    const b = this.buf;
    let len = b[start]!;
    let p = start + 1;
    if (len & 0x80) {
      this.need(4, `${expected} (4-byte string length)`);
      len = ((len & 0x7f) << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!;
      p = start + 4;
    }
    if (this.end - p < len) {
      this.fail(`${expected}: ${len} string byte(s)`, `only ${this.end - p} byte(s) left`, p);
    }
    const e = p + len;
    this.pos = e;
    if (len === 0) return '';
    if (len <= 6) {
      // Short names: building the string by hand beats a native call.
      let out = '';
      for (let i = p; i < e; i++) {
        const c = b[i]!;
        if (c > 0x7f) {
          out = '';
          break;
        }
        out += String.fromCharCode(c);
      }
      if (out.length === len) return out;
    } else if (len <= 64) {
      let ascii = true;
      for (let i = p; i < e; i++) {
        if (b[i]! > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return latin1.call(b, p, e);
    }
    // Invalid UTF-8 always decodes to U+FFFD somewhere; only then is the (slower) exact check needed.
    const s = utf8.call(b, p, e);
    if (s.includes('\uFFFD') && !isUtf8(b.subarray(p, e))) {
      this.fail(`${expected}: valid UTF-8`, 'invalid UTF-8 bytes', p);
    }
    return s;
  }

  /** `n` raw bytes as a view (no copy). */
  bytes(n: number, expected: string): Buffer {
    if (this.end - this.pos < n) {
      this.fail(`${expected}: ${n} byte(s)`, `only ${this.end - this.pos} byte(s) left`);
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}
