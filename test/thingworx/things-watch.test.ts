/** watchUplinks in-process against the emulator: history mode (logged uplinkData) and the polling fallback. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { type WatchedUplink, watchUplinks } from '../../src/thingworx/things-watch.js';

// Distinct store times: the platform's history groups values by timestamp.
let lastTime = 0;
function nextTime(): number {
  lastTime = Math.max(Date.now(), lastTime + 1);
  return lastTime;
}

let emu: ThingWorxEmulator;
let rest: ThingWorxRest;

const LOGGED = '0018B20000000001';
const UNLOGGED = '0018B20000000002';

async function push(thing: string, fCntUp: number) {
  await rest.service(`Things/${thing}`, 'UpdatePropertyValues', {
    values: {
      rows: [{ name: 'uplinkData', value: { DevEUI_uplink: { DevEUI: thing, FCntUp: fCntUp } }, time: nextTime() }],
    },
  });
}

function collector(count: number) {
  const seen: WatchedUplink[] = [];
  let done: () => void = () => {};
  const reached = new Promise<void>((r) => {
    done = r;
  });
  return {
    seen,
    reached,
    onUplink: (u: WatchedUplink) => {
      seen.push(u);
      if (seen.length >= count) done();
    },
  };
}

beforeAll(async () => {
  emu = await startThingWorxEmulator({
    port: 0,
    state: {
      templates: [
        { name: 'Logged', base: 'RemoteThing', properties: [{ name: 'uplinkData', baseType: 'JSON', isLogged: true }] },
        { name: 'Unlogged', base: 'RemoteThing', properties: [{ name: 'uplinkData', baseType: 'JSON' }] },
      ],
      things: [
        { name: LOGGED, template: 'Logged' },
        { name: UNLOGGED, template: 'Unlogged' },
      ],
    },
  });
  rest = new ThingWorxRest({ url: emu.restUrl, appKey: emu.appKey, ca: readFileSync(emu.caFile) });
});

afterAll(async () => {
  await rest?.close();
  await emu?.close();
});

describe('watchUplinks', () => {
  it('with history, sees every uplink pushed between two polls, once each, in order', async () => {
    await push(LOGGED, 1);
    const ctl = new AbortController();
    const c = collector(3);
    let ready: (m: string) => void = () => {};
    const isReady = new Promise<string>((r) => {
      ready = r;
    });
    const running = watchUplinks(rest, LOGGED, {
      intervalMs: 300,
      signal: ctl.signal,
      onUplink: c.onUplink,
      onReady: ready,
    });
    expect(await isReady).toBe('history');
    await push(LOGGED, 2);
    await push(LOGGED, 3);
    await push(LOGGED, 4);
    await c.reached;
    ctl.abort();
    await running;
    expect(c.seen.map((u) => u.summary.fCntUp)).toEqual([2, 3, 4]);
    expect(c.seen[0]!.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('without history, polls the current value and reports each change', async () => {
    const ctl = new AbortController();
    const first = collector(1);
    const second = collector(2);
    let ready: (m: string) => void = () => {};
    const isReady = new Promise<string>((r) => {
      ready = r;
    });
    const running = watchUplinks(rest, UNLOGGED, {
      intervalMs: 100,
      signal: ctl.signal,
      onReady: ready,
      onUplink: (u) => {
        first.onUplink(u);
        second.onUplink(u);
      },
    });
    expect(await isReady).toBe('poll');
    await push(UNLOGGED, 7);
    await first.reached;
    await push(UNLOGGED, 8);
    await second.reached;
    ctl.abort();
    await running;
    expect(second.seen.map((u) => u.summary.fCntUp)).toEqual([7, 8]);
  });

  it('keeps watching through a platform failure (5xx) and reports it', async () => {
    const ctl = new AbortController();
    const c = collector(1);
    const failures: string[] = [];
    let failed: () => void = () => {};
    const sawFailure = new Promise<void>((r) => {
      failed = r;
    });
    let ready: (m: string) => void = () => {};
    const isReady = new Promise<string>((r) => {
      ready = r;
    });
    const running = watchUplinks(rest, LOGGED, {
      intervalMs: 100,
      signal: ctl.signal,
      onReady: ready,
      onUplink: c.onUplink,
      onTransientError: (err) => {
        failures.push(err.code);
        failed();
      },
    });
    await isReady;
    emu.faults.failResponses(503);
    await sawFailure;
    emu.faults.failResponses(null);
    await push(LOGGED, 99);
    await c.reached;
    ctl.abort();
    await running;
    expect(failures[0]).toBe('TPX_TWX_HTTP');
    expect(c.seen.map((u) => u.summary.fCntUp)).toEqual([99]);
  });

  it('an unknown Thing is TPX_THING_NOT_FOUND', async () => {
    const ctl = new AbortController();
    await expect(
      watchUplinks(rest, 'FFFFFFFFFFFFFFFF', { signal: ctl.signal, onUplink: () => {} }),
    ).rejects.toMatchObject({ code: 'TPX_THING_NOT_FOUND' });
  });
});
