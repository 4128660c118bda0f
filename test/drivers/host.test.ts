import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverDecoder } from '../../src/drivers/decoder.js';
import { DEFAULT_SLACK_MS, type DriverHostOptions, watchdogVerdict } from '../../src/drivers/host.js';
import { readDriver } from '../../src/drivers/package.js';
import type { Assignment, DriverPackage } from '../../src/drivers/types.js';
import { CLIMATE, FIXTURES, packFixture, uplink } from './helpers.js';

const open: DriverDecoder[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

/** A generous time limit unless the test is about it: a loaded CI machine may pause a call for longer than 50 ms. */
async function start(name: string, source: string, assign: Assignment[] = [], timeoutMs = 10_000) {
  const d = await DriverDecoder.start([{ name, pkg: readDriver(source), assign }], { timeoutMs });
  open.push(d);
  return d;
}

/** A driver from its source text, with the host's options as given. */
async function startCode(code: string, options: DriverHostOptions) {
  const pkg: DriverPackage = { name: 'x', useContext: false, code, main: 'x.js', examples: [], files: [] };
  const d = await DriverDecoder.start([{ name: 'x', pkg, assign: [] }], options);
  open.push(d);
  return d;
}

/**
 * How long the tests of the host's watchdog give it to stop a looping call before they say it failed to: it stops
 * the call at limit + slack (70 ms there; the tests about that limit put the no-answer fallback, graceMs, a minute
 * away), so a watchdog that does not stop the call shows here, in seconds, with what was not stopped, not at the
 * test's timeout. Counted in turns of a 100 ms timer, not as one timer: a stalled event loop (a loaded machine)
 * delays the watchdog's timer and these turns alike, and after the stall the watchdog's timer, due first, runs first.
 */
const STOP_TURNS = 50;
const TURN_MS = 100;

/** `p` (what a stopped call causes), or a rejection saying `what` was not stopped within STOP_TURNS turns. */
async function stopped<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    let turns = 0;
    const turn = () => {
      turns += 1;
      if (turns < STOP_TURNS) timer = setTimeout(turn, TURN_MS);
      else {
        const waited = STOP_TURNS * TURN_MS;
        reject(
          new Error(`${what} was not stopped within ${waited} ms (the host's watchdog stops a call at limit + slack)`),
        );
      }
    };
    timer = setTimeout(turn, TURN_MS);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The test's own limit when it waits on a watchdog: the deadline above plus room for the new worker. */
const WATCHDOG_TEST_MS = STOP_TURNS * TURN_MS + 10_000;

const props = (u: { name: string; value: { baseType: string; value?: unknown } }[]) =>
  Object.fromEntries(u.map((x) => [x.name, x.value.value]));

describe('drivers: loading', () => {
  it('reads a TS013 driver from a folder: manifest, examples, schemas, and decodes with it', async () => {
    const pkg = readDriver(CLIMATE);
    expect(pkg).toMatchObject({
      name: 'tpx-test-climate',
      version: '1.2.0',
      protocolId: 'tpx:climate:1',
      main: 'index.js',
    });
    expect(pkg.useContext).toBe(false);
    expect(pkg.examples).toHaveLength(5);
    expect(pkg.uplinkSchema?.properties?.temperature).toBeDefined();
    const d = await start('climate', CLIMATE);
    expect(d.host.functionsOf('climate').sort()).toEqual(['decodeDownlink', 'decodeUplink', 'encodeDownlink']);
    const r = await d.decode('climate', { bytes: [0x08, 0x66, 0x60, 0x0e, 0x10], fPort: 1 });
    expect(r).toMatchObject({
      ok: true,
      data: { temperature: 21.5, humidity: 48, battery: { voltage: 3.6, low: false } },
    });
  });

  it('reads the same driver from an npm tarball (.tgz unpacked in memory)', async () => {
    const tgz = packFixture('climate');
    const pkg = readDriver(tgz);
    expect(pkg.name).toBe('tpx-test-climate');
    expect(pkg.files).toContain('uplink.schema.json');
    const d = await start('climate', tgz);
    const r = await d.encode('climate', { interval: 15 });
    expect(r).toMatchObject({ ok: true, fPort: 10, hex: '01000F' });
  });

  it('reads a single .js codec (TTN / ChirpStack style)', async () => {
    const d = await start('valve', join(FIXTURES, 'ttn', 'codec.js'));
    const r = await d.decode('valve', { bytes: [1], fPort: 3 });
    expect(r).toMatchObject({ ok: true, data: { state: 'open', port: 3 } });
  });

  it('refuses a script without decodeUplink', async () => {
    await expect(
      DriverDecoder.start([
        { name: 'x', pkg: { ...readDriver(join(FIXTURES, 'ttn', 'codec.js')), code: 'var a = 1;' }, assign: [] },
      ]),
    ).rejects.toMatchObject({ code: 'TPX_DRIVER_LOAD' });
  });
});

describe('drivers: Actility context', () => {
  it('keeps a context per DevEUI between calls when driver.yaml says useContext: true', async () => {
    const d = await start('counter', join(FIXTURES, 'counter'), [{ type: 'prefix', prefix: '70B3' }]);
    const a1 = props(await d.uplinkUpdates(uplink('70B3000000000001', '0005')));
    const a2 = props(await d.uplinkUpdates(uplink('70B3000000000001', '0003')));
    const b1 = props(await d.uplinkUpdates(uplink('70B3000000000002', '0010')));
    expect(JSON.parse(a1.decodedPayload as string)).toEqual({ pulses: 5, total: 5, uplinks: 1 });
    expect(JSON.parse(a2.decodedPayload as string)).toEqual({ pulses: 3, total: 8, uplinks: 2 });
    expect(JSON.parse(b1.decodedPayload as string)).toEqual({ pulses: 16, total: 16, uplinks: 1 });
  });
});

describe('drivers: isolation', () => {
  it('gives driver code no require, process, fetch or timers, and no way back to them', async () => {
    const d = await start('escape', join(FIXTURES, 'bad', 'escape.js'));
    const r = await d.decode('escape', { bytes: [1], fPort: 1 });
    expect(r.ok).toBe(true);
    expect(r.data).toEqual({
      require: 'undefined',
      process: 'undefined',
      fetch: 'undefined',
      setTimeout: 'undefined',
      viaConstructor: 'string',
      viaConstructorValue: 'undefined',
      viaInput: 'undefined',
    });
  });

  it('a driver that throws costs that call only', async () => {
    const d = await start('throws', join(FIXTURES, 'bad', 'throws.js'));
    const bad = await d.decode('throws', { bytes: [1], fPort: 1 });
    expect(bad).toMatchObject({ ok: false, reason: 'threw', errors: ['cannot read property of undefined (test)'] });
    expect(await d.decode('throws', { bytes: [0], fPort: 1 })).toMatchObject({ ok: true, data: { ok: true } });
    expect(d.host.restarts).toBe(0);
  });

  it(
    'a driver that loops is stopped at the time limit; the worker is replaced and the next call works',
    async () => {
      const d = await start('loops', join(FIXTURES, 'bad', 'loops.js'), [], 50);
      const replaced = once(d, 'worker.replaced');
      const bad = d.decode('loops', { bytes: [1], fPort: 1 });
      const good = d.decode('loops', { bytes: [0], fPort: 1 });
      expect(await stopped(replaced, 'the looping call')).toMatchObject([{ reason: 'timeout', requeued: 1 }]);
      expect(await bad).toMatchObject({ ok: false, reason: 'timeout', errors: ['took longer than 50ms'] });
      expect(await good).toMatchObject({ ok: true, data: { ok: true } });
      expect(d.host.restarts).toBe(1);
    },
    WATCHDOG_TEST_MS,
  );

  it('a call runs without the vm time limit: the host stops it, so one that overruns within the slack answers', async () => {
    // Busy for 100 ms against a 50 ms limit: the vm's own limit (what calls ran with before) stopped it at 50 ms;
    // the host's watchdog lets it run to limit + slack (made large here so that a loaded machine cannot matter).
    const d = await startCode(
      'function decodeUplink() { var end = Date.now() + 100; while (Date.now() < end) {} return { data: { done: true } }; }',
      { timeoutMs: 50, slackMs: 10_000 },
    );
    expect(await d.decode('x', { bytes: [1], fPort: 1 })).toMatchObject({ ok: true, data: { done: true } });
    expect(d.host.restarts).toBe(0);
  });

  it(
    "a loop is stopped by the host's per-call watchdog, not the no-answer fallback; the call queued behind it is sent again",
    async () => {
      // graceMs of a minute: only the per-call check (limit + slack) can stop the loop within `stopped`'s deadline.
      const d = await startCode(readDriver(join(FIXTURES, 'bad', 'loops.js')).code, { timeoutMs: 50, graceMs: 60_000 });
      const replaced = once(d, 'worker.replaced');
      const bad = d.decode('x', { bytes: [1], fPort: 1 });
      const good = d.decode('x', { bytes: [0], fPort: 1 });
      // The per-call limit, not the fallback ('no answer within 50ms'), replaced the worker.
      expect(await stopped(replaced, 'the looping call')).toEqual([
        { reason: 'timeout', error: 'a call took longer than 50ms', requeued: 1 },
      ]);
      expect(await bad).toMatchObject({ ok: false, reason: 'timeout', errors: ['took longer than 50ms'] });
      expect((await bad).ms).toBeGreaterThanOrEqual(50 + DEFAULT_SLACK_MS);
      expect(await good).toMatchObject({ ok: true, data: { ok: true } });
      expect(d.host.restarts).toBe(1);
    },
    WATCHDOG_TEST_MS,
  );

  it(
    'call ids wrap within the 31 bits the worker publishes them in: a loop is still found and stopped',
    async () => {
      const d = await startCode(readDriver(join(FIXTURES, 'bad', 'loops.js')).code, { timeoutMs: 50, graceMs: 60_000 });
      (d.host as unknown as { nextId: number }).nextId = 0x7fffffff;
      const replaced = once(d, 'worker.replaced');
      const first = d.decode('x', { bytes: [0], fPort: 1 });
      const bad = d.decode('x', { bytes: [1], fPort: 1 });
      const next = d.decode('x', { bytes: [0], fPort: 1 });
      // Not `requeued`: on a loaded machine the first call's answer may still be on its way when the loop is stopped.
      expect(await stopped(replaced, 'the looping call (id 1, after 2^31 - 1)')).toMatchObject([
        { reason: 'timeout', error: 'a call took longer than 50ms' },
      ]);
      expect(await first).toMatchObject({ ok: true });
      expect(await bad).toMatchObject({ ok: false, reason: 'timeout', errors: ['took longer than 50ms'] });
      expect(await next).toMatchObject({ ok: true });
    },
    WATCHDOG_TEST_MS,
  );

  it(
    'driver code run around the call (a setter of the input it is given) is within the call time',
    async () => {
      // Setting the input runs outside the vm script: the vm's limit never covered it (only the no-answer fallback,
      // a minute here, would have stopped it).
      const d = await startCode(
        "Object.defineProperty(globalThis, '__tpx_in', { set: function () { for (;;) {} } }); function decodeUplink() { return { data: {} }; }",
        { timeoutMs: 50, graceMs: 60_000 },
      );
      const replaced = once(d, 'worker.replaced');
      const r = d.decode('x', { bytes: [1], fPort: 1 });
      expect(await stopped(replaced, 'the setter that loops')).toEqual([
        { reason: 'timeout', error: 'a call took longer than 50ms', requeued: 0 },
      ]);
      expect(await r).toMatchObject({ ok: false, reason: 'timeout', errors: ['took longer than 50ms'] });
      expect(d.host.restarts).toBe(1);
    },
    WATCHDOG_TEST_MS,
  );

  it('a driver that allocates without end kills its worker only; the call fails, the next works', async () => {
    const d = await start('hungry', join(FIXTURES, 'bad', 'hungry.js'), [], 20_000);
    const [bad, good] = await Promise.all([
      d.decode('hungry', { bytes: [1], fPort: 1 }),
      d.decode('hungry', { bytes: [0], fPort: 1 }),
    ]);
    expect(bad).toMatchObject({ ok: false, reason: 'memory', errors: ['ran out of memory'] });
    expect(good).toMatchObject({ ok: true, data: { ok: true } });
    expect(d.host.restarts).toBe(1);
  });
});

describe('drivers: the host watchdog', () => {
  const limits = { timeoutMs: 50, slackMs: 20, graceMs: 1000 };

  it('stops a running call once it ran limit + slack, and looks again exactly then', () => {
    expect(watchdogVerdict({ ...limits, runningMs: 0, quietMs: 0 })).toEqual({ recheckMs: 70 });
    expect(watchdogVerdict({ ...limits, runningMs: 69, quietMs: 69 })).toEqual({ recheckMs: 1 });
    expect(watchdogVerdict({ ...limits, runningMs: 70, quietMs: 70 })).toEqual({ stop: 'call' });
  });

  it('never calls a worker running a call within its limit silent, however long since its last answer', () => {
    expect(watchdogVerdict({ ...limits, runningMs: 10, quietMs: 5000 })).toEqual({ recheckMs: 60 });
  });

  it('with no call running: looks again within limit + slack, replaces a worker silent for limit + grace', () => {
    expect(watchdogVerdict({ ...limits, runningMs: undefined, quietMs: 0 })).toEqual({ recheckMs: 70 });
    expect(watchdogVerdict({ ...limits, runningMs: undefined, quietMs: 1040 })).toEqual({ recheckMs: 10 });
    expect(watchdogVerdict({ ...limits, runningMs: undefined, quietMs: 1050 })).toEqual({ stop: 'silent' });
  });
});
