/**
 * Standalone values: one typed primitive or one infotable as bytes (outside a message), and conveniences used by
 * the client and the emulator.
 */
import { ProtocolError } from './errors.js';
import { readInfoTable, readTyped, setOwn, writeInfoTable, writeTyped } from './primitive.js';
import { asBuffer, Reader } from './reader.js';
import { type CodecLimits, DEFAULT_MAX_DEPTH, type InfoTable, type TwValue } from './types.js';
import { Writer } from './writer.js';

const shared = new Writer(1024);

function finish(r: Reader, what: string): void {
  if (r.pos < r.end) throw new ProtocolError(r.pos, `end of the ${what}`, `${r.end - r.pos} more byte(s)`);
}

/** The bytes `write` puts in the shared writer. */
function encodeWith(write: (w: Writer) => void): Buffer {
  const w = shared.reset();
  try {
    write(w);
    return w.take();
  } finally {
    w.reset();
  }
}

/** What `read` takes from `buf`, which must be all of it (`what` names it in the error). */
function decodeExactly<T>(buf: Uint8Array, what: string, read: (r: Reader) => T): T {
  const r = new Reader(asBuffer(buf));
  const v = read(r);
  finish(r, what);
  return v;
}

/** A typed primitive: base type byte + value (§8). */
export function encodePrimitive(v: TwValue): Buffer {
  return encodeWith((w) => writeTyped(w, v, DEFAULT_MAX_DEPTH, 'value'));
}

/** Decodes exactly one typed primitive; bytes after it are an error. */
export function decodePrimitive(buf: Uint8Array, limits?: CodecLimits): TwValue {
  return decodeExactly(buf, 'primitive', (r) => readTyped(r, limits?.maxDepth ?? DEFAULT_MAX_DEPTH));
}

/** An infotable without a leading type byte (§9). */
export function encodeInfoTable(t: InfoTable): Buffer {
  return encodeWith((w) => writeInfoTable(w, t, DEFAULT_MAX_DEPTH, 'infotable'));
}

/** Decodes exactly one infotable (no leading type byte); bytes after it are an error. */
export function decodeInfoTable(buf: Uint8Array, limits?: CodecLimits): InfoTable {
  return decodeExactly(buf, 'infotable', (r) => readInfoTable(r, limits?.maxDepth ?? DEFAULT_MAX_DEPTH));
}

/**
 * A one-row infotable with one field per entry (name, empty description, the value's base type, no aspects),
 * as the C SDK wraps values (twInfoTable_CreateFromPrimitive).
 */
export function infoTableFromValues(fields: Record<string, TwValue>): InfoTable {
  const names = Object.keys(fields);
  return {
    dataShape: names.map((name) => ({ name, description: '', baseType: fields[name]!.baseType, aspects: {} })),
    rows: [names.map((n) => fields[n]!)],
  };
}

/** Field name -> value of one row (default the first); an empty object when the row does not exist. */
export function valuesFromInfoTable(t: InfoTable, row = 0): Record<string, TwValue> {
  const out: Record<string, TwValue> = {};
  const values = t.rows[row];
  if (!values) return out;
  t.dataShape.forEach((f, i) => {
    const v = values[i];
    if (v !== undefined) setOwn(out, f.name, v);
  });
  return out;
}
