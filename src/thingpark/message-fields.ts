/**
 * Shared pieces of the tunnel document parsers (messages.ts, downlink-document.ts): the field error naming the
 * refused field, zod field types accepting typed (numbers) and untyped (all strings) JSON, and root unwrapping.
 */
import { z } from 'zod';
import { TpxError } from '../errors.js';

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

const HEX_EUI = /^[0-9A-Fa-f]{16}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** True for an ISO 8601 date-time with seconds and an offset (`…T10:00:46.336+01:00`, `…Z`). */
export function isIsoTime(value: string): boolean {
  return ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/** Normalises a DevEUI to 16 upper-case hex digits, or returns undefined when it is not one. */
export function normaliseDevEui(value: string): string | undefined {
  const v = value.trim();
  return HEX_EUI.test(v) ? v.toUpperCase() : undefined;
}

export const devEui = z
  .string('must be a string')
  .regex(HEX_EUI, 'is not 16 hexadecimal digits')
  .transform((v) => v.toUpperCase());
export const isoTime = z
  .string('must be a string')
  .refine(isIsoTime, 'is not an ISO 8601 time (YYYY-MM-DDThh:mm:ss[.sss]±hh:mm)');
export const hex = z
  .string('must be a string')
  .regex(/^([0-9A-Fa-f]{2})*$/, 'is not hexadecimal bytes (an even number of 0-9, a-f digits)')
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
/** CustomerData is an object in JSON reports and a JSON string in XML-converted ones. */
export const customerData = z.union([z.record(z.string(), z.unknown()), z.string()]).transform((v): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
});
export const U32 = 0xffffffff;
export { FPORT, MAX_DOWNLINK_PAYLOAD_BYTES } from './lorawan.js';

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
