/** The one duration syntax (CONTRIBUTING.md "Durations"): parsed as typed, a limit shown as configured, a measure rounded. */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatElapsed, parseDuration } from '../../src/util/duration.js';

describe('formatDuration: a configured limit prints as configured', () => {
  it('uses the largest unit that writes it exactly', () => {
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(5000)).toBe('5s');
    expect(formatDuration(120_000)).toBe('2m');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(0)).toBe('0');
  });

  it('reads back as the same value', () => {
    for (const ms of [1, 50, 999, 1000, 1500, 30_000, 90_000, 300_000, 3_600_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('formatElapsed: a measured time, rounded', () => {
  it('keeps one decimal under 10 of its unit, whole numbers above', () => {
    expect(formatElapsed(0.42)).toBe('0.4ms');
    expect(formatElapsed(4)).toBe('4ms');
    expect(formatElapsed(480.4)).toBe('480ms');
    expect(formatElapsed(999.4)).toBe('999ms');
    expect(formatElapsed(999.6)).toBe('1s');
    expect(formatElapsed(5004)).toBe('5s');
    expect(formatElapsed(5250)).toBe('5.3s');
    expect(formatElapsed(9960)).toBe('10s');
    expect(formatElapsed(42_400)).toBe('42s');
    expect(formatElapsed(120_300)).toBe('2m');
    expect(formatElapsed(125_000)).toBe('125s');
  });

  it('reads back within its rounding, and says "?" for what is no time', () => {
    for (const ms of [3, 480, 5004, 42_400, 125_000]) {
      expect(Math.abs((parseDuration(formatElapsed(ms)) as number) - ms)).toBeLessThanOrEqual(ms * 0.01 + 0.5);
    }
    expect(formatElapsed(-1)).toBe('?');
    expect(formatElapsed(Number.NaN)).toBe('?');
  });
});
