/** Every duration flag takes 500ms / 5s / 2m (src/util/duration.ts); a bare number keeps the flag's old unit. */
import { afterAll, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { durationOption } from '../../src/cli/options.js';
import { buildProgram } from '../../src/cli/program.js';
import { formatDuration } from '../../src/util/duration.js';
import { tempConfigHome } from '../helpers/cli.js';
import { InProcess, runInProcess } from '../helpers/run.js';

const home = tempConfigHome();
afterAll(() => home.cleanup());

/** Every duration flag of the program, with the command that takes it and the unit of a bare number. */
const FLAGS: { command: string[]; flag: string; bare: 's' | 'ms'; extra?: string[] }[] = [
  { command: ['bridge'], flag: '--max-time-skew', bare: 's' },
  { command: ['bridge'], flag: '--bind-check', bare: 's' },
  { command: ['bridge'], flag: '--dedup-window', bare: 's' },
  { command: ['bridge'], flag: '--fleet-heartbeat', bare: 's' },
  { command: ['bridge'], flag: '--drain-timeout', bare: 's' },
  { command: ['bridge'], flag: '--ping-deadline', bare: 's' },
  { command: ['bridge'], flag: '--driver-timeout', bare: 'ms' },
  { command: ['bridge'], flag: '--spool-gather', bare: 'ms' },
  {
    command: ['driver', 'decode'],
    flag: '--driver-timeout',
    bare: 'ms',
    extra: ['examples/drivers/climate', '--fport', '2', '--hex', '00'],
  },
  {
    command: ['driver', 'encode'],
    flag: '--driver-timeout',
    bare: 'ms',
    extra: ['examples/drivers/climate', '--data', '{}'],
  },
  { command: ['driver', 'test'], flag: '--driver-timeout', bare: 'ms', extra: ['examples/drivers/climate'] },
  { command: ['downlink', 'push'], flag: '--wait', bare: 's' },
  { command: ['fleet', 'status'], flag: '--wait', bare: 's' },
  { command: ['fleet', 'status'], flag: '--fleet-heartbeat', bare: 's' },
  { command: ['emulator', 'thingpark'], flag: '--token-ttl', bare: 's' },
  { command: ['emulator', 'thingpark'], flag: '--opening-delay', bare: 'ms' },
  { command: ['emulator', 'thingworx'], flag: '--idle-timeout', bare: 's' },
  { command: ['sandbox'], flag: '--duration', bare: 's' },
  { command: ['sandbox'], flag: '--downlink-every', bare: 's' },
  { command: ['sandbox'], flag: '--bind-check', bare: 's' },
  { command: ['thing', 'watch'], flag: '--interval', bare: 's', extra: ['0018B20000000FFF'] },
  { command: ['thingworx', 'check'], flag: '--ghost-after', bare: 's' },
  // the global one (every outgoing call); thingworx check and import-template read a bare number as milliseconds
  { command: [], flag: '--timeout', bare: 's', extra: ['profile', 'list'] },
];

/** Durations in ThingPark's own syntax, sent to ThingPark as written: not ours to parse. */
const THINGPARK_SYNTAX = [
  'connection create --uplink-time-validity',
  'connection update --uplink-time-validity',
  'connection apply --uplink-time-validity',
];

describe('durationOption', () => {
  it('reads 500ms, 5s, 2m, 1h, and a bare number in the old unit', () => {
    const r = { bare: 's' as const, min: 0, max: 86_400_000 };
    expect(durationOption('--x', '500ms', r)).toBe(500);
    expect(durationOption('--x', '5s', r)).toBe(5000);
    expect(durationOption('--x', '2m', r)).toBe(120_000);
    expect(durationOption('--x', '1h', r)).toBe(3_600_000);
    expect(durationOption('--x', '30', r)).toBe(30_000);
    expect(durationOption('--x', '250', { ...r, bare: 'ms' })).toBe(250);
    expect(durationOption('--x', undefined, r)).toBeUndefined();
  });

  it('refuses text and out-of-range values, naming the flag, the syntax, the range and the bare unit', () => {
    const r = { bare: 'ms' as const, min: 100, max: 600_000 };
    expect(() => durationOption('--timeout', 'soon', r)).toThrow(
      '--timeout must be a duration from 100ms to 10m (got "soon").',
    );
    expect(() => durationOption('--timeout', '50ms', r)).toThrow(/from 100ms to 10m/);
    try {
      durationOption('--timeout', '11m', r);
    } catch (err) {
      expect((err as { fix?: string }).fix).toBe(
        'Give --timeout e.g. 500ms, 5s or 2m (a bare number counts milliseconds).',
      );
    }
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});

describe('every duration flag', () => {
  it('the list above is every duration flag of the program (a new one is added here)', () => {
    const found: string[] = [];
    const walk = (c: ReturnType<typeof buildProgram>, path: string[]) => {
      for (const o of c.options) if (/<duration>/.test(o.flags)) found.push(`${path.join(' ')} ${o.long}`);
      for (const s of c.commands) if (!(s as unknown as { _hidden?: boolean })._hidden) walk(s, [...path, s.name()]);
    };
    walk(buildProgram(new App()), []);
    expect(found.filter((f) => !THINGPARK_SYNTAX.includes(f)).sort()).toEqual(
      FLAGS.map((f) => `${f.command.join(' ')} ${f.flag}`).sort(),
    );
  });

  it.each(FLAGS.map((f) => [`${f.command.join(' ')} ${f.flag}`, f] as const))(
    '%s: a bad value is a usage error that names the flag and the syntax',
    async (_name, f) => {
      const r = await runInProcess([...f.command, ...(f.extra ?? []), f.flag, 'soon'], { env: home.env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${f.flag} must be a duration from`);
      expect(r.stderr).toContain('500ms, 5s or 2m');
      expect(r.stderr).toContain(`a bare number counts ${f.bare === 's' ? 'seconds' : 'milliseconds'}`);
    },
  );

  it('thingworx check --timeout 5s is accepted (was refused as "whole number from 100 to 600000")', async () => {
    const r = await runInProcess(
      ['thingworx', 'check', '--timeout', '5s', '--thingworx-url', 'https://127.0.0.1:1', '--app-key', 'k'.repeat(36)],
      { env: home.env },
    );
    expect(r.stderr).not.toContain('--timeout');
    expect(r.code).toBe(3);
  });

  it('emulator thingworx --idle-timeout 2m starts (was seconds only)', async () => {
    const p = new InProcess(['emulator', 'thingworx', '--idle-timeout', '2m', '--json'], { env: home.env });
    await p.waitFor(/"restUrl"/);
    const r = await p.interrupt();
    expect(r.code).toBe(0);
  });
});
