/**
 * Typed primitives (research/alwayson.md §8) and InfoTables (§9). They nest (VARIANT, INFOTABLE values), so both
 * live here. Decoding is depth-limited so hostile input cannot exhaust the stack.
 *
 * Encodings not confirmed by PTC's C SDK (it does not implement them):
 * - LONG (23): int64 big-endian, modelled as a decimal string (UNCONFIRMED, §8).
 * - TIMESPAN (4): UNCONFIRMED. Modelled like LONG: int64 big-endian milliseconds, as a decimal string.
 * - SCHEDULE (17): UNCONFIRMED. Encoded as a string (§2 length prefix + UTF-8), like the other text types.
 * Non-canonical input that decodes but re-encodes differently: a BOOLEAN byte other than 0/1 (read as true, §8)
 * and NUMBER/LOCATION NaN payloads (written back as the canonical NaN).
 */

import { isHexBytes } from '../../util/hex.js';
import { EncodeError, hexByte } from './errors.js';
import type { Reader } from './reader.js';
import { BASE_TYPES, type BaseTypeName, type FieldDefinition, type InfoTable, type TwValue } from './types.js';
import type { Writer } from './writer.js';

/** Base type byte (0..255, NOTHING = 255) -> name. */
const NAME_BY_BYTE: (BaseTypeName | undefined)[] = new Array(256).fill(undefined);
/** Base type byte -> "a JSON string" etc. (precomputed: no string building per decoded value). */
const EXPECTED_STRING: string[] = new Array(256).fill('a string');
for (const [name, code] of Object.entries(BASE_TYPES) as [BaseTypeName, number][]) {
  NAME_BY_BYTE[code & 0xff] = name;
  EXPECTED_STRING[code & 0xff] = `a ${name} string`;
}

export function baseTypeName(byte: number): BaseTypeName | undefined {
  return NAME_BY_BYTE[byte & 0xff];
}

const BYTE_BY_NAME = new Map<string, number>(Object.entries(BASE_TYPES).map(([n, c]) => [n, c & 0xff]));

export function baseTypeByte(name: string): number | undefined {
  return BYTE_BY_NAME.get(name);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?(0|[1-9][0-9]*)$/;

function int64FromDecimal(s: unknown, path: string, what: string): bigint {
  if (typeof s !== 'string' || !DECIMAL.test(s) || s === '-0') {
    throw new EncodeError(path, `${what} as a decimal integer string`, JSON.stringify(s));
  }
  const v = BigInt(s);
  if (v < INT64_MIN || v > INT64_MAX) throw new EncodeError(path, `${what} within the int64 range`, s);
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

export function readTyped(r: Reader, depth: number): TwValue {
  const at = r.pos;
  const byte = r.u8('a base type byte');
  return readValue(r, byte, at, depth);
}

/** The value of a primitive whose type byte (at offset `at`) was already read. */
export function readValue(r: Reader, byte: number, at: number, depth: number): TwValue {
  switch (byte) {
    case 0xff:
      return { baseType: 'NOTHING' };
    case 1:
      return { baseType: 'NUMBER', value: r.f64('an 8-byte NUMBER') };
    case 2:
      return { baseType: 'BOOLEAN', value: r.u8('a BOOLEAN byte') !== 0 };
    case 3:
      return { baseType: 'DATETIME', value: r.i64Number('an 8-byte DATETIME (ms since epoch)') };
    case 4:
      return { baseType: 'TIMESPAN', value: r.i64BigInt('an 8-byte TIMESPAN (ms)').toString() };
    case 5:
      if (depth <= 0) r.fail('no deeper nesting of INFOTABLE values', 'INFOTABLE', at);
      return { baseType: 'INFOTABLE', value: readInfoTable(r, depth - 1) };
    case 6: {
      const longitude = r.f64('LOCATION longitude (8 bytes)');
      const latitude = r.f64('LOCATION latitude (8 bytes)');
      const elevation = r.f64('LOCATION elevation (8 bytes)');
      return { baseType: 'LOCATION', value: { longitude, latitude, elevation } };
    }
    case 10:
    case 21: {
      const n = r.u32(`a 4-byte ${byte === 10 ? 'IMAGE' : 'BLOB'} length`);
      const data = r.bytes(n, byte === 10 ? 'IMAGE data' : 'BLOB data');
      return { baseType: byte === 10 ? 'IMAGE' : 'BLOB', value: data.toString('hex') };
    }
    case 18:
      if (depth <= 0) r.fail('no deeper nesting of VARIANT values', 'VARIANT', at);
      return { baseType: 'VARIANT', value: readTyped(r, depth - 1) };
    case 22:
      return { baseType: 'INTEGER', value: r.i32('a 4-byte INTEGER') };
    case 23:
      return { baseType: 'LONG', value: r.i64BigInt('an 8-byte LONG').toString() };
    default: {
      const name = NAME_BY_BYTE[byte];
      if (name === undefined) r.fail('a known base type byte', hexByte(byte), at);
      // Every remaining base type is a string on the wire (incl. SCHEDULE, UNCONFIRMED).
      return { baseType: name, value: r.str(EXPECTED_STRING[byte]!) } as TwValue;
    }
  }
}

export function readInfoTable(r: Reader, depth: number): InfoTable {
  const dataShape: FieldDefinition[] = [];
  for (;;) {
    const at = r.pos;
    const marker = r.u8('a field marker (0x01) or end of data shape (0x00)');
    if (marker === 0) break;
    if (marker !== 1) r.fail('a field marker (0x01) or end of data shape (0x00)', hexByte(marker), at);
    const name = r.str('a field name');
    const description = r.str('a field description');
    const btAt = r.pos;
    const bt = r.u8('a field base type byte');
    const baseType = NAME_BY_BYTE[bt];
    if (baseType === undefined) r.fail('a known field base type byte', hexByte(bt), btAt);
    const count = r.u16('a 2-byte aspect count');
    const aspects: Record<string, TwValue> = {};
    for (let i = 0; i < count; i++) {
      const nameAt = r.pos;
      const an = r.str('an aspect name');
      if (Object.hasOwn(aspects, an))
        r.fail('an aspect name not used before in this field', JSON.stringify(an), nameAt);
      setOwn(aspects, an, readTyped(r, depth));
    }
    dataShape.push({ name, description, baseType, aspects });
  }
  const width = dataShape.length;
  const rows: TwValue[][] = [];
  for (;;) {
    const at = r.pos;
    const marker = r.u8('a row marker (0x01) or end of rows (0x00)');
    if (marker === 0) break;
    if (marker !== 1) r.fail('a row marker (0x01) or end of rows (0x00)', hexByte(marker), at);
    const cAt = r.pos;
    const count = r.u16('a 2-byte row field count');
    // C SDK 2.2.1 writes N mod 256 here for rows of 256+ fields (research §21 D5): such rows are rejected.
    if (count !== width) r.fail(`a row field count of ${width} (the data shape's field count)`, `${count}`, cAt);
    const row: TwValue[] = new Array(count);
    for (let i = 0; i < count; i++) row[i] = readTyped(r, depth);
    rows.push(row);
  }
  return { dataShape, rows };
}

/** Sets an own property even for names like `__proto__`. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

export function writeTyped(w: Writer, v: TwValue, depth: number, path: string): void {
  switch (v.baseType) {
    case 'NOTHING':
      w.u8(0xff);
      return;
    case 'NUMBER':
      w.u8(1);
      w.f64(v.value);
      return;
    case 'BOOLEAN':
      w.u8(2);
      w.u8(v.value ? 1 : 0);
      return;
    case 'DATETIME':
      if (!Number.isSafeInteger(v.value))
        throw new EncodeError(path, 'DATETIME as integer epoch milliseconds', String(v.value));
      w.u8(3);
      w.i64Number(v.value);
      return;
    case 'TIMESPAN':
      w.u8(4);
      w.i64BigInt(int64FromDecimal(v.value, path, 'TIMESPAN milliseconds'));
      return;
    case 'LONG':
      w.u8(23);
      w.i64BigInt(int64FromDecimal(v.value, path, 'LONG'));
      return;
    case 'INTEGER':
      if ((v.value | 0) !== v.value) throw new EncodeError(path, 'INTEGER as a 32-bit signed integer', String(v.value));
      w.u8(22);
      w.u32(v.value >>> 0);
      return;
    case 'INFOTABLE':
      if (depth <= 0) throw new EncodeError(path, 'less deeply nested INFOTABLE values');
      w.u8(5);
      writeInfoTable(w, v.value, depth - 1, path);
      return;
    case 'LOCATION':
      w.u8(6);
      w.f64(v.value.longitude);
      w.f64(v.value.latitude);
      w.f64(v.value.elevation);
      return;
    case 'BLOB':
    case 'IMAGE': {
      const hex = v.value;
      if (typeof hex !== 'string' || !isHexBytes(hex)) {
        throw new EncodeError(path, `${v.baseType} as a hex string`, JSON.stringify(hex));
      }
      w.u8(v.baseType === 'BLOB' ? 21 : 10);
      w.u32(hex.length / 2);
      w.ensure(hex.length / 2);
      w.pos += w.buf.write(hex, w.pos, 'hex');
      return;
    }
    case 'VARIANT':
      if (depth <= 0) throw new EncodeError(path, 'less deeply nested VARIANT values');
      w.u8(18);
      writeTyped(w, v.value, depth - 1, path);
      return;
    default: {
      const code = baseTypeByte(v.baseType);
      if (code === undefined) throw new EncodeError(path, 'a known base type name', JSON.stringify(v.baseType));
      const value: unknown = v.value;
      if (typeof value !== 'string') throw new EncodeError(path, `${v.baseType} as a string`, typeof value);
      w.u8(code);
      w.str(value);
    }
  }
}

export function writeInfoTable(w: Writer, t: InfoTable, depth: number, path: string): void {
  const shape = t.dataShape;
  const width = shape.length;
  for (let i = 0; i < width; i++) {
    const f = shape[i]!;
    const code = baseTypeByte(f.baseType);
    if (code === undefined) {
      throw new EncodeError(`${path}.dataShape[${i}].baseType`, 'a known base type name', JSON.stringify(f.baseType));
    }
    w.u8(1);
    w.str(f.name);
    w.str(f.description);
    w.u8(code);
    const names = Object.keys(f.aspects);
    if (names.length > 0xffff) throw new EncodeError(`${path}.dataShape[${i}].aspects`, 'at most 65535 aspects');
    w.u16(names.length);
    for (const n of names) {
      w.str(n);
      writeTyped(w, f.aspects[n]!, depth, path);
    }
  }
  w.u8(0);
  const rows = t.rows;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.length !== width) {
      throw new EncodeError(`${path}.rows[${i}]`, `${width} value(s), one per data shape field`, `${row.length}`);
    }
    w.u8(1);
    w.u16(width);
    for (let j = 0; j < width; j++) writeTyped(w, row[j]!, depth, path);
  }
  w.u8(0);
}
