/** Parsing of numeric flags shared by commands: a bad value is a usage error naming the flag and the range. */
import { UsageError } from '../errors.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { CommandContext } from './context.js';

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

export interface DurationRange {
  /** The unit of a bare number, kept from when the flag took only numbers ("ms" or "s"). */
  bare: 'ms' | 's';
  min: number;
  max: number;
}

/**
 * A duration flag: "500ms", "5s", "2m", "1h" (src/util/duration.ts), or a bare number in the flag's old unit.
 * Undefined when not given; out of range or unreadable, a usage error naming the flag, the syntax and the range.
 */
/** The global --timeout: 100 ms to 1 h; a bare number counts seconds. */
export const TIMEOUT_RANGE: DurationRange = { bare: 's', min: 100, max: 3_600_000 };

export function durationOption(flag: string, value: string | undefined, range: DurationRange): number | undefined {
  if (value === undefined) return undefined;
  const bare = /^\s*\d+(?:\.\d+)?\s*$/.test(value);
  const ms = bare ? Math.round(Number(value) * (range.bare === 's' ? 1000 : 1)) : parseDuration(value);
  if (ms === undefined || ms < range.min || ms > range.max) {
    const span = `from ${formatDuration(range.min)} to ${formatDuration(range.max)}`;
    const unit = range.bare === 's' ? 'seconds' : 'milliseconds';
    return fail(
      `${flag} must be a duration ${span} (got "${value}").`,
      `Give ${flag} e.g. 500ms, 5s or 2m (a bare number counts ${unit}).`,
    );
  }
  return ms;
}

function fail(message: string, fix: string): never {
  throw new UsageError(message, fix);
}

/**
 * The fleet broker URL (amqp://user:pass@host/vhost) of --queue / TPX_QUEUE / the profile: the URL and its password
 * are masked in everything tpx prints from now on.
 */
export function brokerUrl(ctx: CommandContext, flag: string | undefined): string | undefined {
  const url = ctx.value('queue', flag);
  if (!url) return undefined;
  ctx.io.addSecrets(url);
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw) ctx.io.addSecrets(pw);
  } catch {
    // not a URL: the caller says so
  }
  return url;
}
