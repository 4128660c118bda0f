/** The slow-call spinner: nothing for a second, then a live line until the call ends; never off a terminal. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestIO } from '../../src/cli/io.js';
import { slowCallSpinner } from '../../src/cli/spinner.js';
import type { HttpEvent } from '../../src/util/http.js';

const ev = (type: HttpEvent['type']): HttpEvent => ({
  type,
  service: 'ThingPark',
  host: 'tp.example:443',
  operation: 'listing connections',
  method: 'GET',
  url: 'https://tp.example/x',
  attempt: 1,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('slowCallSpinner', () => {
  it('shows after 1 s on a terminal and clears when the call ends', () => {
    vi.useFakeTimers();
    const { io, stderr } = createTestIO({ tty: true });
    const on = slowCallSpinner(io);
    on(ev('start'));
    vi.advanceTimersByTime(900);
    expect(stderr.text).toBe('');
    vi.advanceTimersByTime(1200);
    expect(stderr.text).toContain('Waiting for ThingPark at tp.example:443 (listing connections)… 2s');
    on(ev('end'));
    expect(stderr.text.endsWith('\r\x1b[2K')).toBe(true);
    const len = stderr.text.length;
    vi.advanceTimersByTime(5000);
    expect(stderr.text.length).toBe(len);
  });

  it('a fast call shows nothing; nothing off a terminal or with --json', () => {
    vi.useFakeTimers();
    const tty = createTestIO({ tty: true });
    const on = slowCallSpinner(tty.io);
    on(ev('start'));
    vi.advanceTimersByTime(300);
    on(ev('end'));
    vi.advanceTimersByTime(3000);
    expect(tty.stderr.text).toBe('');
    for (const t of [createTestIO({ tty: false }), createTestIO({ tty: true, json: true })]) {
      const off = slowCallSpinner(t.io);
      off(ev('start'));
      vi.advanceTimersByTime(3000);
      expect(t.stderr.text).toBe('');
    }
  });
});
