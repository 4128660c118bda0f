/** Parsing of numeric flags shared by commands: a bad value is a usage error naming the flag and the range. */
import { UsageError } from '../errors.js';

/** A whole number within [min, max], or undefined when the flag was not given. */
export function wholeNumberOption(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max} (got "${value}").`,
      `Give ${flag} a whole number from ${min} to ${max}.`,
    );
  }
  return n;
}
