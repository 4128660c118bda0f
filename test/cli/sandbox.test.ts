/**
 * `tpx sandbox` through bin/tpx.js: the whole chain in one process, used from "another terminal" through the
 * profile it writes; Ctrl-C and --duration both drain and print a summary that says nothing was lost.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx, InProcess as TpxProcess } from '../helpers/run.js';

type Event = Record<string, unknown> & { event: string };

function events(stdout: string): Event[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Event);
}

/**
 * Resolves with the first NDJSON event matching; waits on output, never on time. Reads each complete line once (a
 * sandbox prints thousands: parsing everything again on every chunk, or a pattern as long as the output, made this
 * wait quadratic and starved the run).
 */
async function event(p: TpxProcess, name: string, match: (e: Event) => boolean = () => true): Promise<Event> {
  const deadline = Date.now() + 30_000;
  let from = 0;
  for (;;) {
    const text = p.stdout;
    const end = text.lastIndexOf('\n') + 1;
    if (end > from) {
      const found = events(text.slice(from, end)).find((e) => e.event === name && match(e));
      if (found) return found;
      from = end;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${name} event within 30 s\nstdout: ${text.slice(-2000)}\nstderr: ${p.stderr}`);
    const ended = await Promise.race([
      p.nextOutput(left).then(() => false),
      p.exited.then(
        () => true,
        () => true,
      ),
    ]);
    if (ended && p.stdout.length === text.length)
      throw new Error(`the sandbox ended before ${name}\nstderr: ${p.stderr}`);
  }
}

const homes: ReturnType<typeof tempConfigHome>[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

function home() {
  const h = tempConfigHome();
  homes.push(h);
  return h;
}

describe('tpx sandbox', () => {
  it('serves other commands through the sandbox profile, and Ctrl-C drains and loses nothing', async () => {
    const h = home();
    const p = new TpxProcess(['sandbox', '--json', '--devices', '4', '--rate', '20', '--downlink-every', '200ms'], {
      env: h.env,
    });
    try {
      const ready = await event(p, 'sandbox.ready');
      expect(ready.profile).toBe('sandbox');
      expect(ready.firstDevEui).toBe('70B3D57ED0000001');
      expect(ready.lastDevEui).toBe('70B3D57ED0000004');
      expect(String(ready.thingworxUrl)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.caFile).toBe(join(h.dir, 'tpx', 'sandbox', 'sandbox-ca.pem'));
      await event(p, 'uplink.delivered', (e) => e.devEui === '70B3D57ED0000001');

      const env = h.env;
      const [list, send, check] = await Promise.all([
        runTpx(['--profile', 'sandbox', 'thing', 'list', '--json'], { env }),
        runTpx(
          ['--profile', 'sandbox', 'uplink', 'send', '--dev-eui', '70B3D57ED00000FF', '--payload', '01aa', '--json'],
          {
            env,
          },
        ),
        runTpx(['--profile', 'sandbox', 'thingworx', 'check', '--json'], { env }),
      ]);
      expect(list.code, list.stderr).toBe(0);
      const names = (JSON.parse(list.stdout) as { things: { name: string }[] }).things.map((t) => t.name);
      expect(names).toContain('70B3D57ED0000001');
      expect(send.code, send.stderr).toBe(0);
      expect(JSON.parse(send.stdout)).toMatchObject({ accepted: 1, sent: 1 });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      // The uplink of the other sender reaches ThingWorx through the sandbox's bridge.
      await event(p, 'thing.created', (e) => e.thing === '70B3D57ED00000FF');
      // A downlink written in ThingWorx goes to ThingPark and comes back confirmed.
      const sent = await event(p, 'downlink.status', (e) => e.state === 'sent');
      expect(sent.correlationId).toMatch(/^[0-9A-F]{16}$/);
    } finally {
      void p.interrupt();
    }
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(0);
    const all = events(r.stdout);
    const summary = all.find((e) => e.event === 'sandbox.summary') as unknown as {
      uplinks: { sent: number; delivered: number; lost: number };
      downlinks: { sent: number; confirmed: number; lost: number };
      otherDelivered: number;
    };
    expect(summary.uplinks.sent).toBeGreaterThan(0);
    expect(summary.uplinks.delivered).toBe(summary.uplinks.sent);
    expect(summary.uplinks.lost).toBe(0);
    expect(summary.downlinks.confirmed).toBeGreaterThan(0);
    expect(summary.downlinks.confirmed).toBe(summary.downlinks.sent);
    expect(summary.otherDelivered).toBe(1);
    expect(all.at(-1)?.event).toBe('sandbox.summary');
    // Nothing the user did not ask to remove is removed: the profile and its CA file stay.
    const config = JSON.parse(readFileSync(join(h.dir, 'tpx', 'config.json'), 'utf8')) as {
      profiles: Record<string, Record<string, string>>;
    };
    expect(config.profiles.sandbox?.thingworxUrl).toBe(all.find((e) => e.event === 'sandbox.ready')?.thingworxUrl);
    expect(existsSync(join(h.dir, 'tpx', 'sandbox', 'sandbox-ca.pem'))).toBe(true);
    // Secrets of the profile never appear in the output.
    for (const key of ['thingworxAppKey', 'thingworxAdminKey', 'asKey', 'thingparkClientSecret']) {
      const secret = config.profiles.sandbox?.[key];
      expect(secret && secret.length > 8).toBe(true);
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
  });

  it('--duration stops by itself and prints the summary; --profile names the profile written', async () => {
    const h = home();
    const r = await runTpx(
      [
        '--profile',
        'demo',
        'sandbox',
        '--duration',
        '1s',
        '--devices',
        '3',
        '--rate',
        '15',
        '--downlink-every',
        '150ms',
      ],
      { env: h.env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Profile "demo" written to');
    expect(r.stdout).toContain('tpx --profile demo thing list');
    expect(r.stdout).toMatch(/https:\/\/127\.0\.0\.1:\d+\/Thingworx/);
    const m = /uplinks +(\d+) sent, (\d+) delivered to ThingWorx, 0 lost/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(m![2]).toBe(m![1]);
    expect(r.stdout).toMatch(/downlinks +\d+ written in ThingWorx, \d+ confirmed, 0 lost/);
    const config = JSON.parse(readFileSync(join(h.dir, 'tpx', 'config.json'), 'utf8')) as {
      profiles: Record<string, Record<string, string>>;
    };
    expect(Object.keys(config.profiles)).toEqual(['demo']);
    expect(config.profiles.demo?.thingworxCa).toBe(join(h.dir, 'tpx', 'sandbox', 'demo-ca.pem'));
    expect(existsSync(config.profiles.demo!.thingworxCa!)).toBe(true);
  });

  it('says which --listen address is taken, and leaves nothing running', async () => {
    const h = home();
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runTpx(['sandbox', '--listen', `127.0.0.1:${port}`, '--duration', '1s'], { env: h.env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: The bridge cannot listen on 127.0.0.1:${port}: EADDRINUSE.`);
      expect(r.stderr).toMatch(/^fix: .*--listen/m);
    } finally {
      taken.close();
    }
  });

  it.each([
    [['--devices', '0'], /--devices must be a whole number from 1 to 100000 \(got "0"\)/],
    [['--rate', 'fast'], /--rate must be a number from 0 to 100000 \(got "fast"\)/],
    [['--duration', 'soon'], /--duration must be a duration from 100ms to 30d \(got "soon"\)/],
    [['--listen', 'nowhere'], /--listen "nowhere"/],
  ])('refuses %j with exit 2 and starts nothing', async (args, message) => {
    const h = home();
    const r = await runTpx(['sandbox', ...args], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(h.dir, 'tpx'))).toBe(false);
  });
});
