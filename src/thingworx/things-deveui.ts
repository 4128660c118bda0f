/**
 * DevEUI input: accepted in any case and with or without separators (":", "-", ".", "_" or spaces),
 * normalised to the Thing name the bridge uses, 16 upper-case hex digits.
 */
import { UsageError } from '../errors.js';

const SEPARATORS = /[\s:\-._]/g;

/** Returns the DevEUI as 16 upper-case hex digits, or undefined when the input is not one. */
export function tryNormalizeDevEui(input: string): string | undefined {
  const compact = input.trim().replace(SEPARATORS, '');
  if (!/^[0-9a-fA-F]{16}$/.test(compact)) return undefined;
  return compact.toUpperCase();
}

/** Like tryNormalizeDevEui(), but a bad DevEUI is a usage error (exit 2) saying what was wrong. */
export function normalizeDevEui(input: string): string {
  const out = tryNormalizeDevEui(input);
  if (out) return out;
  const compact = input.trim().replace(SEPARATORS, '');
  const why = /[^0-9a-fA-F]/.test(compact)
    ? `it contains "${compact.match(/[^0-9a-fA-F]/)?.[0]}", which is not a hex digit`
    : `it has ${compact.length} hex digits, not 16`;
  throw new UsageError(
    `"${input}" is not a DevEUI: ${why}.`,
    'Give the 16 hex digits of the DevEUI, e.g. 0018B20000000FFF or 00-18-b2-00-00-00-0f-ff.',
    { devEui: input },
  );
}
