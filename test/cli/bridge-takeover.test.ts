/**
 * Two real `tpx bridge` processes with the same Things on one (in-process) ThingWorx: under "Last in wins" the
 * first notices the takeover within its bind check, does not take the Things back while the other holds them, and
 * binds them again once the other stops; under "First in wins" the second says once that it holds nothing, is not
 * ready, and binds the Things once the first stops.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TpxProcess, tempConfigHome } from '../helpers/cli.js';
import { type BridgeProcess, startBridgeProcess, type World, world } from './bridge-helpers.js';

const DEVS = ['70B3D57ED0000B01', '70B3D57ED0000B02', '70B3D57ED0000B03'];
const CHECK = ['--bind-check', '150ms'];

async function readyz(b: BridgeProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${b.base}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

function holder(w: World, thing: string): number | undefined {
  return w.twx.thing(thing)?.boundTo?.sessionId;
}

/** Resolves after `n` more bind checks (REST reads of the Things' connection properties) reached the emulator. */
function checks(w: World, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (e: { path: string }) => {
      if (!e.path.includes('QueryImplementingThingsOptimized')) return;
      seen += 1;
      if (seen >= n) {
        w.twx.events.off('rest', on);
        resolve();
      }
    };
    w.twx.events.on('rest', on);
  });
}

describe('two bridges, the same Things', () => {
  let w: World | undefined;
  const procs: BridgeProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.proc.kill('SIGKILL');
    await w?.close();
    w = undefined;
  });

  const second = () => ['--spool-dir', mkdtempSync(join(tmpdir(), 'tpx-second-spool-'))];

  it('Last in wins: the first notices the takeover, does not fight, and binds again when the other stops', async () => {
    w = await world(DEVS);
    w.twx.setBindPolicy('last-in-wins');
    // the emulator's key is an administrator's: with it as --admin-key the first names who took its Things
    const a = await startBridgeProcess(w, [...CHECK, '--admin-key', w.twx.appKey]);
    procs.push(a);
    await a.event('bridge.ready');
    expect(a.proc.stderr).toContain("named with the administrator's key of --admin-key");
    expect(await readyz(a)).toMatchObject({ status: 200, body: { ready: true, reasons: [], bound: 3, expected: 3 } });
    const sessionA = holder(w, DEVS[0]!);

    const b = await startBridgeProcess(w, [...CHECK, ...second()]);
    procs.push(b);
    const bReady = await b.event('bridge.ready');
    expect(bReady).toMatchObject({ things: 3 });
    const taken = await a.event('things.taken');
    // within the configured check (150 ms) and some slack for two busy processes
    expect(Date.parse(String(taken.time)) - Date.parse(String(bReady.time))).toBeLessThan(5000);
    expect(taken).toMatchObject({ count: 3 });
    expect((taken.sample as string[]).sort()).toEqual(DEVS);
    // the holder: the second bridge's session (same key), from its address
    const theirs = w.twx.thing(DEVS[0]!)!.boundTo as unknown as { endpoint: string; remoteAddress: string };
    expect(taken.holder).toMatch(/^another connector of this key \(key \S+\): session /);
    expect(taken.holder).toContain(`session ${theirs.endpoint} from ${theirs.remoteAddress}`);
    expect(await readyz(a)).toMatchObject({
      status: 503,
      body: { ready: false, reason: 'things_taken', reasons: ['things_taken'], bound: 0, expected: 3, taken: 3 },
    });

    // No fight: several checks later the Things are still the second's, and the first sent no BIND.
    const binds: number[] = [];
    const onBind = (e: { sessionId: number }) => binds.push(e.sessionId);
    w.twx.events.on('bind', onBind);
    await checks(w, 6);
    w.twx.events.off('bind', onBind);
    expect(binds.filter((s) => s === sessionA)).toEqual([]);
    expect(DEVS.map((d) => holder(w!, d))).not.toContain(sessionA);
    // one event (one log line) for the three Things
    expect(a.events().filter((e) => e.event === 'things.taken')).toHaveLength(1);

    expect((await b.proc.kill('SIGTERM')).code).toBe(0);
    const back = await a.event('things.recovered');
    expect(back).toMatchObject({ count: 3 });
    expect(DEVS.map((d) => holder(w!, d))).toEqual([sessionA, sessionA, sessionA]);
    expect(await readyz(a)).toMatchObject({ status: 200, body: { ready: true, bound: 3, taken: 0 } });
  }, 60_000);

  it('First in wins: the second says once that it holds nothing, is not ready, and binds when the first stops', async () => {
    w = await world(DEVS);
    w.twx.setBindPolicy('first-in-wins');
    const a = await startBridgeProcess(w, CHECK);
    procs.push(a);
    await a.event('bridge.ready');

    const b = await startBridgeProcess(w, [...CHECK, ...second()]);
    procs.push(b);
    const refused = await b.event('things.refused');
    expect(refused).toMatchObject({ count: 3, reason: 'held by another session ("First in wins")' });
    expect(await b.event('bridge.ready')).toMatchObject({ things: 0 });
    expect(await readyz(b)).toMatchObject({
      status: 503,
      body: { ready: false, reason: 'bind_refused', reasons: ['bind_refused'], bound: 0, expected: 3 },
    });
    await checks(w, 4);
    expect(b.events().filter((e) => e.event === 'things.refused')).toHaveLength(1);
    expect(await readyz(a)).toMatchObject({ status: 200, body: { ready: true, bound: 3 } });

    expect((await a.proc.kill('SIGTERM')).code).toBe(0);
    expect(await b.event('things.recovered')).toMatchObject({ count: 3 });
    expect(await readyz(b)).toMatchObject({ status: 200, body: { ready: true, bound: 3, expected: 3 } });
  }, 60_000);

  it('--take-over takes the Things back once, on purpose, and the other does not fight back', async () => {
    w = await world(DEVS);
    w.twx.setBindPolicy('last-in-wins');
    const a = await startBridgeProcess(w, [...CHECK, '--take-over']);
    procs.push(a);
    await a.event('bridge.ready');
    const sessionA = holder(w, DEVS[0]!);
    const b = await startBridgeProcess(w, [...CHECK, ...second()]);
    procs.push(b);
    // without an administrator's key the takeover is said without a holder
    expect(await a.event('things.taken')).not.toHaveProperty('holder');
    expect(await a.event('things.took_over')).toMatchObject({ count: 3 });
    expect(await b.event('things.taken')).toMatchObject({ count: 3 });
    await checks(w, 6);
    expect(DEVS.map((d) => holder(w!, d))).toEqual([sessionA, sessionA, sessionA]);
    expect(a.events().filter((e) => e.event === 'things.took_over')).toHaveLength(1);
    expect(a.events().filter((e) => e.event === 'things.taken')).toHaveLength(1);
    expect(await readyz(b)).toMatchObject({ status: 503, body: { reasons: ['things_taken'] } });
  }, 60_000);
});

describe('tpx sandbox beside a second bridge', () => {
  it('reports the takeover as a takeover naming its holder, recovers when the other stops, exits 0 (nothing lost by tpx)', async () => {
    const home = tempConfigHome();
    const spool = mkdtempSync(join(tmpdir(), 'tpx-second-spool-'));
    const sandbox = new TpxProcess(
      ['sandbox', '--json', '--devices', '2', '--rate', '4', '--bind-check', '300ms', '--downlink-every', '200ms'],
      { env: home.env },
    );
    let other: TpxProcess | undefined;
    try {
      await sandbox.waitFor(/"event":"sandbox\.ready"/, { timeoutMs: 30_000 });
      other = new TpxProcess(
        ['--profile', 'sandbox', 'bridge', '--json', '--listen', '127.0.0.1:0', '--spool-dir', spool],
        { env: home.env },
      );
      const taken = JSON.parse((await sandbox.waitFor(/^(\{"time":[^\n]*"event":"things\.taken".*\})$/m))[1]!) as {
        count: number;
        holder?: string;
      };
      // the sandbox's bridge names who took them, with the emulator's administrator key (as tpx bridge --admin-key)
      expect(taken.holder).toMatch(
        /^another connector of this key \(key tpx-connector-key\): session [0-9a-f-]+ from 127\.0\.0\.1:\d+$/,
      );
      // a downlink written in ThingWorx went through the other bridge: "taken", not lost
      await other.waitFor(/"event":"downlink\.sent"/);
      expect((await other.kill('SIGTERM')).code).toBe(0);
      await sandbox.waitFor(/"event":"things\.recovered","count":2/);
      // Ctrl-C stops the sandbox as --duration would (drain, summary, exit code), without waiting for a fixed time
      const r = await sandbox.kill('SIGINT');
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
        event: string;
        downlinks: { taken: number; lost: number };
        uplinks: { lost: number };
      };
      expect(summary.event).toBe('sandbox.summary');
      expect(summary.downlinks.taken).toBeGreaterThan(0);
      expect(summary.downlinks.lost).toBe(0);
      expect(summary.uplinks.lost).toBe(0);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      await other?.kill('SIGKILL');
      await sandbox.kill('SIGKILL');
      home.cleanup();
    }
  }, 60_000);
});
