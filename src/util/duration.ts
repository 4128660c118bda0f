/** Durations as users type them: "500ms", "30s", "5m", "2h", "1d", or a bare number of seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return Math.round(n * factor);
}

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
] as const;

/**
 * A configured duration (a limit, a period, a deadline) as people type it: "500ms", "5s", "2m", "1h", "1d"; the
 * largest unit that writes it exactly, so it prints as configured ("1500ms" stays "1500ms"). 0 is "0".
 */
export function formatDuration(ms: number): string {
  const n = Math.round(ms);
  if (n === 0) return '0';
  for (const [unit, size] of UNITS) if (n % size === 0) return `${n / size}${unit}`;
  return `${n}ms`;
}

/**
 * A measured duration (how long something took, how long ago, a computed delay) in the same syntax, rounded:
 * under 10ms one decimal ("0.4ms"), under 1s whole milliseconds ("480ms"), under 10s one decimal ("5.2s"; "5s" for
 * 5004ms: a trailing ".0" is dropped), then whole seconds ("42s", "2m" when it is whole minutes).
 */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const tenths = (n: number) => String(Math.round(n * 10) / 10);
  if (ms < 9.95) return `${tenths(ms)}ms`;
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  if (ms < 9950) return `${tenths(ms / 1000)}s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}
