/** Parsing of numeric flags shared by commands: a bad value is a usage error naming the flag and the range. */
import { UsageError } from '../errors.js';

function outOfRange(flag: string, value: string, min: number, max: number, whole: boolean): UsageError {
  const what = `${whole ? 'a whole' : 'a'} number from ${min} to ${max}`;
  return new UsageError(`${flag} must be ${what} (got "${value}").`, `Give ${flag} ${what}.`);
}

/** A whole number within [min, max], or undefined when the flag was not given. */
export function wholeNumberOption(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw outOfRange(flag, value, min, max, true);
  return n;
}

/** A number (fractions allowed) within [min, max], or undefined when the flag was not given. */
export function numberOption(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw outOfRange(flag, value, min, max, false);
  return n;
}
