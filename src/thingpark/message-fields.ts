/**
 * Shared pieces of the tunnel document parsers (messages.ts, downlink-document.ts): the field error naming the
 * refused field, zod field types accepting typed (numbers) and untyped (all strings) JSON, and root unwrapping.
 */
import { z } from 'zod';
import { TpxError } from '../errors.js';
import { DEVEUI, HEX_BYTES } from '../util/hex.js';

export { normaliseDevEui } from '../util/hex.js';

export class TunnelMessageError extends TpxError {
  /** Dotted path of the refused field, e.g. `DevEUI_uplink.DevEUI` (or `(body)` for the document itself). */
  readonly field: string;
  constructor(field: string, message: string) {
    super('TPX_TUNNEL_MESSAGE_INVALID', message, {
      fix: 'Check the document ThingPark (or the sender) produced; the refused field is named above.',
      details: { field },
    });
    this.field = field;
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** True for an ISO 8601 date-time with seconds and an offset (`…T10:00:46.336+01:00`, `…Z`). */
export function isIsoTime(value: string): boolean {
  return ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

export const devEui = z
  .string('must be a string')
  .regex(DEVEUI, 'is not 16 hexadecimal digits')
  .transform((v) => v.toUpperCase());
export const isoTime = z
  .string('must be a string')
  .refine(isIsoTime, 'is not an ISO 8601 time (YYYY-MM-DDThh:mm:ss[.sss]±hh:mm)');
export const hex = z
  .string('must be a string')
  .regex(HEX_BYTES, 'is not hexadecimal bytes (an even number of 0-9, a-f digits)')
  .transform((v) => v.toLowerCase());
export const str = z.union([z.string(), z.number()], 'must be a string').transform(String);

export function int(min: number, max: number) {
  return z
    .union([z.number(), z.string().regex(/^\s*-?\d+\s*$/, 'is not an integer')], 'must be an integer')
    .transform(Number)
    .pipe(z.number().int('is not an integer').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}
export const num = z
  .union([z.number(), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, 'is not a number')], 'must be a number')
  .transform(Number)
  .pipe(z.number().refine(Number.isFinite, 'is not a finite number'));
export const flag = z
  .union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1'), z.boolean()], 'must be 0 or 1')
  .transform((v) => v === 1 || v === '1' || v === true);
function jsonOrText(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}
/** CustomerData is an object in JSON reports and a JSON string in XML-converted ones. */
export const customerData = z
  .union([z.record(z.string(), z.unknown()), z.string()])
  .transform((v): unknown => (typeof v === 'string' ? jsonOrText(v) : v));
export const U32 = 0xffffffff;
export { FPORT, MAX_DOWNLINK_PAYLOAD_BYTES } from './lorawan.js';

/**
 * A field type, defined once: its zod schema (which words the error) and a reader applying the same rules
 * without zod, about ten times faster, for the hot path (a well-formed uplink). A reader returns INVALID where
 * the schema would refuse; the parsers then run the schema, which names the field.
 */
export const INVALID: unique symbol = Symbol('invalid');
export interface Field<T = unknown> {
  zod: z.ZodType<T>;
  read: (v: unknown) => T | typeof INVALID;
  optional?: boolean;
}

const INT_TEXT = /^\s*-?\d+\s*$/;
const NUM_TEXT = /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readInt(v: unknown, min: number, max: number): number | typeof INVALID {
  const n = typeof v === 'number' ? v : typeof v === 'string' && INT_TEXT.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : INVALID;
}
function readNum(v: unknown): number | typeof INVALID {
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUM_TEXT.test(v) ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : INVALID;
}

export const F = {
  int: (min: number, max: number): Field<number> => ({ zod: int(min, max), read: (v) => readInt(v, min, max) }),
  num: { zod: num, read: readNum } as Field<number>,
  str: {
    zod: str,
    read: (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : INVALID),
  } as Field<string>,
  hex: {
    zod: hex,
    read: (v) => (typeof v === 'string' && HEX_BYTES.test(v) ? v.toLowerCase() : INVALID),
  } as Field<string>,
  flag: {
    zod: flag,
    read: (v) => (v === 0 || v === '0' || v === false ? false : v === 1 || v === '1' || v === true ? true : INVALID),
  } as Field<boolean>,
  isoTime: {
    zod: isoTime,
    read: (v) => (typeof v === 'string' && isIsoTime(v) ? v : INVALID),
  } as Field<string>,
  devEui: {
    zod: devEui,
    read: (v) => (typeof v === 'string' && DEVEUI.test(v) ? v.toUpperCase() : INVALID),
  } as Field<string>,
  customerData: {
    zod: customerData,
    read: (v) => (isObject(v) ? v : typeof v === 'string' ? jsonOrText(v) : INVALID),
  } as Field<unknown>,
};

/** The same field, optional (absent is fine; present must pass). */
export function optional<T>(f: Field<T>): Field<T | undefined> {
  return { zod: f.zod.optional(), read: f.read, optional: true };
}

/** A list of objects (a single object is read as a list of one), each with the given fields. */
export function listOf(shape: Record<string, Field>): Field<Record<string, unknown>[]> {
  const item = objectOf(shape);
  return {
    zod: z.preprocess((v) => (Array.isArray(v) || v === undefined ? v : [v]), z.array(item.zod)) as never,
    read: (v) => {
      const list = Array.isArray(v) ? v : [v];
      const out: Record<string, unknown>[] = [];
      for (const x of list) {
        const r = item.read(x);
        if (r === INVALID) return INVALID;
        out.push(r);
      }
      return out;
    },
  };
}

/** An object with the given fields (other keys kept by the schema, ignored by the reader). */
export function objectOf(shape: Record<string, Field>): Field<Record<string, unknown>> {
  const zodShape: Record<string, z.ZodType> = {};
  for (const [k, f] of Object.entries(shape)) zodShape[k] = f.zod;
  const entries = Object.entries(shape);
  return {
    zod: z.looseObject(zodShape) as never,
    read: (v) => {
      if (!isObject(v)) return INVALID;
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) {
        if (!(k in v)) {
          if (f.optional) continue;
          return INVALID;
        }
        const r = f.read(v[k]);
        if (r === INVALID) return INVALID;
        out[k] = r;
      }
      return out;
    },
  };
}

export function fieldError(root: string, err: z.ZodError, raw: Record<string, unknown>): TunnelMessageError {
  const issue = err.issues[0];
  const path = issue?.path ?? [];
  const field = [root, ...path.map(String)].join('.');
  let value: unknown = raw;
  for (const p of path)
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  const what = value === undefined && issue?.code === 'invalid_type' ? 'is missing' : (issue?.message ?? 'is invalid');
  const clipped = shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
  return new TunnelMessageError(field, `${field} ${what}${value === undefined ? '' : ` (got ${clipped})`}.`);
}

export function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export function rootOf(input: unknown): { root: string; raw: Record<string, unknown> } {
  let doc = input;
  if (typeof doc === 'string' || Buffer.isBuffer(doc)) {
    try {
      doc = JSON.parse(String(doc)) as unknown;
    } catch (err) {
      throw new TunnelMessageError('(body)', `The document is not valid JSON: ${(err as Error).message}.`);
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TunnelMessageError('(body)', 'The document is not a JSON object.');
  }
  const keys = Object.keys(doc);
  const root = keys.find((k) => k.startsWith('DevEUI_'));
  if (!root) {
    throw new TunnelMessageError(
      '(body)',
      `The document has no DevEUI_* root (keys: ${keys.slice(0, 5).join(', ') || 'none'}).`,
    );
  }
  const raw = (doc as Record<string, unknown>)[root];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new TunnelMessageError(root, `${root} is not an object.`);
  return { root, raw: raw as Record<string, unknown> };
}

/**
 * Parses a report document (object or JSON text) into the model. Throws TunnelMessageError naming the bad
 * field; never anything else.
 */
