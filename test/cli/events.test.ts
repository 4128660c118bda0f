/** NDJSON event lines: `time` (ISO 8601 with ms) and `event` on every line, every event name in docs/events.md. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

const docs = readFileSync(join(ROOT, 'docs', 'events.md'), 'utf8');
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const home = tempConfigHome();
afterAll(() => home.cleanup());

/** Event names the code prints: BridgeEventMap's, and every io.event('name', …) under src/cli. */
function printedEventNames(): string[] {
  const events = readFileSync(join(ROOT, 'src', 'bridge', 'events.ts'), 'utf8');
  const map = events.slice(events.indexOf('export interface BridgeEventMap'));
  const names = [...map.slice(0, map.indexOf('\n}')).matchAll(/^ {2}'?([a-z.]+)'?\??:/gm)].map((m) => m[1]!);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  for (const f of walk(join(ROOT, 'src', 'cli'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\.event\('([a-z.]+)'/g)) names.push(m[1]!);
  }
  return [...new Set(names)];
}

describe('NDJSON events', () => {
  it('docs/events.md lists every event name the program prints', () => {
    const names = printedEventNames();
    expect(names).toEqual(expect.arrayContaining(['bridge.ready', 'sandbox.summary', 'thing.uplink', 'error']));
    const missing = names.filter((n) => !docs.includes(`| \`${n}\` |`));
    expect(missing, `add these events to docs/events.md: ${missing.join(', ')}`).toEqual([]);
  });

  it('tpx sandbox --json: every line has time (ISO 8601 with ms) and a documented event', async () => {
    const r = await runInProcess(['sandbox', '--json', '--duration', '1s', '--devices', '2', '--rate', '10'], {
      env: home.env,
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; event: string });
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) {
      expect(Object.keys(l).slice(0, 2)).toEqual(['time', 'event']);
      expect(l.time).toMatch(ISO_MS);
      expect(docs).toContain(`| \`${l.event}\` |`);
    }
    expect(lines.map((l) => l.event)).toContain('sandbox.ready');
    expect(lines.at(-1)!.event).toBe('sandbox.summary');
    expect(lines.map((l) => l.event)).toContain('uplink.delivered');
  });
});
