/**
 * Parsers of what people type for the commands (a DevEUI argument, `thing watch --interval`,
 * `thingworx setup --key-expiry` and `--bind-policy`): the CLI reads the text and says what is wrong;
 * the library gets numbers, dates and names.
 */
import { UsageError } from '../errors.js';
import type { BindPolicy } from '../thingworx/setup-names.js';
import { MIN_INTERVAL } from '../thingworx/things-watch.js';
import { parseDuration } from '../util/duration.js';
import { devEuiProblem, isHexBytes, normaliseDevEui } from '../util/hex.js';

/** A DevEUI as people write it (see util/hex.ts), as the canonical 16 upper-case hex digits; else a usage error. */
export function parseDevEui(input: string): string {
  const out = normaliseDevEui(input);
  if (out) return out;
  const p = devEuiProblem(input);
  const why =
    p && 'notHex' in p
      ? `it contains "${p.notHex}", which is not a hex digit`
      : `it has ${p?.digits} hex digits, not 16`;
  throw new UsageError(
    `"${input}" is not a DevEUI: ${why}.`,
    'Give the 16 hex digits of the DevEUI, e.g. 0018B20000000FFF or 00-18-b2-00-00-00-0f-ff.',
    { devEui: input },
  );
}

/** --dev-eui of uplink send and downlink push: required, then as parseDevEui(). */
export function parseDevEuiFlag(value: string | undefined): string {
  if (!value) throw new UsageError('Missing --dev-eui.', 'Give the device EUI, e.g. --dev-eui 0018B20000000FFF.');
  return parseDevEui(value);
}

/** --payload: hex bytes (white space ignored), at least one; `fallback` when the flag is not given. */
export function parsePayload(value: string | undefined, fallback = ''): string {
  const hex = (value ?? fallback).replace(/\s+/g, '');
  if (!isHexBytes(hex, { nonEmpty: true })) {
    throw new UsageError(
      `--payload "${value ?? ''}" is not hexadecimal bytes.`,
      'Give an even number of hex digits, e.g. --payload 0a1b.',
    );
  }
  return hex;
}

/** --interval: a duration ("2s", "500ms", "1m", or a number of seconds); at least 100 ms, at most 1 hour. */
export function parseInterval(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < MIN_INTERVAL || ms > 3_600_000) {
    throw new UsageError(
      `Invalid --interval "${text}".`,
      'Give a polling interval between 100ms and 1h, e.g. 2s or 500ms.',
    );
  }
  return ms;
}

const EXPIRY = /^(\d+)\s*(h|d|w|m|mo|y)$/i;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * --key-expiry: a time from now (12h, 90d, 8w, 6mo, 1y; "m" is months: calendar months and years, so not the
 * duration syntax) or a date (2027-01-31 or ISO date-time). The result must lie in the future and at most 10 years
 * ahead; "never"/0 are refused (a key with no expiry is what the guide warns against).
 */
export function parseKeyExpiry(text: string, now: Date = new Date()): Date {
  const t = text.trim();
  const bad = (why: string) =>
    new UsageError(
      `Invalid --key-expiry "${text}": ${why}.`,
      'Give a duration such as 90d, 6mo or 1y, or a future date such as 2027-12-31.',
    );
  if (/^(never|none|0+[a-z]*)$/i.test(t)) throw bad('a key must expire');
  let out: Date;
  const m = EXPIRY.exec(t);
  if (m) {
    const n = Number(m[1]);
    const unit = m[2]!.toLowerCase();
    out = new Date(now.getTime());
    if (unit === 'y') out.setUTCFullYear(out.getUTCFullYear() + n);
    else if (unit === 'm' || unit === 'mo') out.setUTCMonth(out.getUTCMonth() + n);
    else out = new Date(now.getTime() + n * UNIT_MS[unit]!);
  } else if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    out = new Date(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
    if (Number.isNaN(out.getTime())) throw bad('not a date');
  } else {
    throw bad('not a duration or a date');
  }
  if (out.getTime() <= now.getTime()) throw bad('it is not in the future');
  if (out.getTime() > now.getTime() + 10 * 366 * 86_400_000) throw bad('more than 10 years ahead');
  return out;
}

/** --bind-policy: last-in-wins or first-in-wins (spaces, underscores and case do not matter). */
export function parseBindPolicy(text: string): BindPolicy {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if (t === 'last-in-wins' || t === 'lastinwins') return 'last-in-wins';
  if (t === 'first-in-wins' || t === 'firstinwins') return 'first-in-wins';
  throw new UsageError(`Invalid --bind-policy "${text}".`, 'Use --bind-policy last-in-wins (or first-in-wins).');
}
