/** Every bridge event has a sentence in the text log (issue 15: no raw objects), and JSON lines carry time and event. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventLevel, formatEvent } from '../../src/bridge/log.js';
import { say } from '../../src/cli/phrases.js';

const src = (f: string) => readFileSync(new URL(`../../src/bridge/${f}`, import.meta.url), 'utf8');

/** The event names of BridgeEventMap, read from its declaration. */
function eventNames(): string[] {
  const text = src('events.ts');
  const start = text.indexOf('export interface BridgeEventMap');
  const body = text.slice(start, text.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}'([a-z.]+|error)'\??:/gm)].map((m) => m[1]!);
}

describe('bridge text log', () => {
  it('has a sentence for every event of BridgeEventMap (add one in src/bridge/log.ts for a new event)', () => {
    const names = eventNames();
    expect(names.length).toBeGreaterThan(20);
    const log = src('log.ts');
    const missing = names.filter((n) => !log.includes(`case '${n}':`));
    expect(missing, `events without a sentence in src/bridge/log.ts: ${missing.join(', ')}`).toEqual([]);
  });

  it('names commands and flags only through the phrases the CLI words (no tpx command in the library)', () => {
    const now = new Date('2026-12-03T10:00:00.123Z');
    const dead = { seq: 7, devEui: '70B3D57ED0000001', kind: 'uplink', reason: 'device cap' } as const;
    expect(formatEvent('dead.letter', dead, 'text', now)).toBe(
      '2026-12-03T10:00:00.123Z warn  dead letter: uplink seq 7 of 70B3D57ED0000001: device cap.',
    );
    expect(formatEvent('dead.letter', dead, 'text', now, say)).toMatch(
      /device cap\. List them with "tpx bridge dead-letters"\.$/,
    );
    const unbound = { count: 1, names: ['A'], reason: 'refused.', retryInMs: 30_000 };
    expect(formatEvent('things.unbound', unbound, 'text', now)).not.toMatch(/tpx|--/);
    expect(formatEvent('things.unbound', unbound, 'text', now, say)).toMatch(
      /"Last in wins" on the WSCommunicationsSubsystem\. Or close the ghost sessions: "tpx thingworx check --admin-key/,
    );
  });

  it('says what happened for the events that printed raw objects, and never "everything delivered"', () => {
    const now = new Date('2026-12-03T10:00:00.123Z');
    expect(formatEvent('downlink.received', { thing: '70B3D57ED0000001' }, 'text', now)).toBe(
      '2026-12-03T10:00:00.123Z info  downlink written on 70B3D57ED0000001: signing and sending it to ThingPark',
    );
    expect(formatEvent('uplink.received', { kind: 'uplink', devEui: '70B3D57ED0000001' }, 'text', now)).toContain(
      'received uplink from 70B3D57ED0000001',
    );
    expect(formatEvent('bridge.stopped', { pending: 0, drained: true }, 'text', now)).toContain(
      'stopped: nothing left in the spool',
    );
  });

  it('one failure, one warning: what follows a warned failure is info, each refusal and ping timeout debug', () => {
    // pipe.down is the warning of an outage; the ping timeout that caused it says the same silence (debug)
    expect(eventLevel('pipe.down', { pipe: 0, cause: 'ping_timeout', error: 'silent' })).toBe('warn');
    expect(eventLevel('ping.timeout', { pipe: 0, silentMs: 5004, deadlineMs: 5000 })).toBe('debug');
    expect(eventLevel('sink.reconnect', { pipe: 0, attempt: 1, delayMs: 199, cause: 'ping_timeout' })).toBe('info');
    const failing = {
      cause: 'ping_timeout',
      error: 'silent',
      count: 1,
      things: 1,
      thing: 'T',
      retryInMs: 100,
      windowMs: 10_000,
    };
    expect(eventLevel('push.failing', failing)).toBe('warn');
    expect(eventLevel('push.failing', { ...failing, outage: true })).toBe('info');
    const refused = { reason: 'bad_token', status: 401, message: 'bad token', count: 1, windowMs: 10_000 } as const;
    expect(eventLevel('uplink.rejected', refused)).toBe('debug');
    expect(eventLevel('uplink.rejecting', refused)).toBe('warn');
    expect(eventLevel('uplink.rejecting', { ...refused, reason: 'spool_full', status: 503 })).toBe('info');
  });

  it('writes durations one way: a measured time rounded ("5s", "480ms", "0.4ms"), a limit as configured', () => {
    const text = (name: string, p: Record<string, unknown>) => formatEvent(name as never, p as never, 'text');
    expect(text('ping.timeout', { pipe: 0, silentMs: 5004, deadlineMs: 5000 })).toContain(
      'ThingWorx pipe 0: ThingWorx said nothing for 5s, not even a pong (deadline 5s)',
    );
    expect(text('ping.timeout', { pipe: 0, silentMs: 1512, deadlineMs: 1500 })).toContain(
      'said nothing for 1.5s, not even a pong (deadline 1500ms)',
    );
    expect(text('sink.reconnect', { pipe: 1, delayMs: 199, attempt: 1, cause: 'ping_timeout' })).toContain(
      'ThingWorx pipe 1 reconnecting in 199ms (attempt 1)',
    );
    expect(text('push.acked', { kind: 'uplink', seq: 3, thing: 'T', latencyMs: 0.42 })).toContain('to T in 0.4ms');
    expect(text('push.failed', { thing: 'T', attempt: 2, retryInMs: 1250, error: 'e' })).toContain('retry in 1.3s');
    const unbound = { count: 1, names: ['A'], reason: 'refused.', retryInMs: 30_000 };
    expect(text('things.unbound', unbound)).toContain('Binding again every 30s.');
  });

  it('JSON lines carry time (ISO 8601 with ms), level and a stable event name', () => {
    const line = JSON.parse(formatEvent('pipe.up', { pipe: 0 }, 'json', new Date('2026-12-03T10:00:00.123Z')));
    expect(line).toEqual({ time: '2026-12-03T10:00:00.123Z', level: 'info', event: 'pipe.up', pipe: 0 });
  });
});
