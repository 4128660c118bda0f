/** The bind check (provisioning.ts): takeovers found, no fight, recovery, one event per change. Fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BridgeEventMap, BridgeEvents, formatEvent } from '../../src/bridge/index.js';
import { HOLDER_WAIT_MS, Provisioner, type ProvisionerOptions } from '../../src/bridge/provisioning.js';
import { FakeDirectory, FakeSink } from './fakes.js';

const CHECK_MS = 1000;

function setup(names: string[], options: Pick<ProvisionerOptions, 'takeOver' | 'holderOf' | 'holderWaitMs'> = {}) {
  const sink = new FakeSink();
  const directory = new FakeDirectory();
  for (const n of names) directory.things.add(n);
  directory.view = new Map(names.map((n) => [n, { connected: true, lastConnection: 100 }]));
  const events = new BridgeEvents();
  const seen: { name: string; payload: unknown }[] = [];
  events.onAny((name, payload) => seen.push({ name, payload }));
  const p = new Provisioner(directory, sink, events, {
    template: 'T',
    maxDevices: 100,
    bindCheckMs: CHECK_MS,
    ...options,
  });
  const of = <K extends keyof BridgeEventMap>(name: K) =>
    seen.filter((e) => e.name === name).map((e) => e.payload as BridgeEventMap[K]);
  const set = (ns: string[], v: { connected: boolean; lastConnection: number }) => {
    for (const n of ns) directory.view!.set(n, v);
  };
  return { sink, directory, p, of, set };
}

describe('bind check', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('finds a takeover within one check, does not bind while the other holds, binds again once it lets go', async () => {
    const names = ['A', 'B', 'C'];
    const { sink, p, of, set } = setup(names);
    await p.init();
    await vi.advanceTimersByTimeAsync(0); // the baseline check right after the BINDs
    expect(p.bindingOf('A')).toBe('bound');
    set(names, { connected: true, lastConnection: 200 }); // another session bound them after us
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.taken')).toEqual([{ count: 3, sample: names }]);
    expect(p.bindingOf('B')).toBe('taken');
    expect(sink.forgotten).toEqual(names);
    expect(p.unboundCount).toBe(3);
    const calls = sink.bindCalls.length;
    await vi.advanceTimersByTimeAsync(5 * CHECK_MS);
    expect(sink.bindCalls.length).toBe(calls); // no fight
    expect(of('things.taken')).toHaveLength(1);
    set(names, { connected: false, lastConnection: 200 }); // the other stopped
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.recovered')).toEqual([{ count: 3, sample: names }]);
    expect(p.bindingOf('C')).toBe('bound');
    expect(p.unboundCount).toBe(0);
    p.close();
  });

  it('says a takeover of many Things in one line with at most five names', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `DEV${String(i).padStart(2, '0')}`);
    const { p, of, set } = setup(names);
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    set(names, { connected: true, lastConnection: 300 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    const [e] = of('things.taken');
    expect(e).toEqual({ count: 12, sample: names.slice(0, 5) });
    const line = formatEvent('things.taken', e!, 'text');
    expect(line).toContain('12 Thing(s) taken by another session: DEV00, DEV01, DEV02, DEV03, DEV04, … (12 in all)');
    expect(line).not.toContain('DEV05');
    expect(line.split('\n')).toHaveLength(1);
    p.close();
  });

  it('takes new baselines when a pipe comes up again (its own re-BIND is no takeover)', async () => {
    const { p, of, set } = setup(['A']);
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    p.pipeUp();
    set(['A'], { connected: true, lastConnection: 500 });
    await vi.advanceTimersByTimeAsync(3 * CHECK_MS);
    expect(of('things.taken')).toEqual([]);
    p.close();
  });

  it('binds a Thing nobody holds any more without calling it a recovery', async () => {
    const { sink, p, of, set } = setup(['A']);
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    set(['A'], { connected: false, lastConnection: 100 });
    const calls = sink.bindCalls.length;
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(sink.bindCalls.length).toBe(calls + 1);
    expect(of('things.recovered')).toEqual([]);
    expect(p.bindingOf('A')).toBe('bound');
    p.close();
  });

  it('with the take-over option takes held Things back once, and only once', async () => {
    const { sink, p, of, set } = setup(['A', 'B'], { takeOver: true });
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    set(['A', 'B'], { connected: true, lastConnection: 200 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.took_over')).toEqual([{ count: 2, sample: ['A', 'B'] }]);
    expect(p.bindingOf('A')).toBe('bound');
    set(['A', 'B'], { connected: true, lastConnection: 900 }); // taken again
    await vi.advanceTimersByTimeAsync(3 * CHECK_MS);
    expect(of('things.taken')).toHaveLength(2);
    expect(of('things.took_over')).toHaveLength(1);
    expect(p.bindingOf('A')).toBe('taken');
    expect(sink.bindCalls.length).toBe(2); // init, the one take-over
    p.close();
  });

  it('First in wins: one things.refused for every refused Thing, pushed to all the same, bound once free', async () => {
    const names = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
    const { sink, p, of, set } = setup(names);
    for (const n of names) sink.refuseBind.add(n);
    await p.init();
    expect(of('things.refused')).toEqual([
      { count: 7, sample: names.slice(0, 5), reason: 'held by another session ("First in wins")' },
    ]);
    expect(of('thing.refused')).toEqual([]);
    await p.ensure('A'); // no throw, no BIND: its reports go on
    expect(sink.bindCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2 * CHECK_MS);
    expect(sink.bindCalls).toHaveLength(1); // still held elsewhere: no BIND
    sink.refuseBind.clear();
    set(names, { connected: false, lastConnection: 100 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.recovered')).toEqual([{ count: 7, sample: names.slice(0, 5) }]);
    expect(p.unboundCount).toBe(0);
    p.close();
  });
});

describe('the holder of taken Things (holderOf)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says the takeover with the holder the lookup names, asked for the sample', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `DEV${i}`);
    const asked: string[][] = [];
    const { p, of, set } = setup(names, {
      holderOf: async (ns) => {
        asked.push(ns);
        return 'another connector of this key (key k): session s1 from 127.0.0.1:5000';
      },
    });
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual([]); // asked only when Things are taken
    set(names, { connected: true, lastConnection: 200 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(asked).toEqual([names.slice(0, 5)]);
    const [e] = of('things.taken');
    expect(e).toEqual({
      count: 7,
      sample: names.slice(0, 5),
      holder: 'another connector of this key (key k): session s1 from 127.0.0.1:5000',
    });
    expect(formatEvent('things.taken', e!, 'text')).toContain(
      '7 Thing(s) taken by another session (another connector of this key (key k): session s1 from 127.0.0.1:5000): DEV0',
    );
    p.close();
  });

  it('a lookup that never answers holds the event no longer than its bound, and does not space the checks out', async () => {
    let asked = 0;
    const { directory, p, of, set } = setup(['A', 'B'], {
      holderOf: () => {
        asked += 1;
        return new Promise(() => {}); // never answers
      },
    });
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    set(['A', 'B'], { connected: true, lastConnection: 200 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(asked).toBe(1);
    // taken at once (readiness, /readyz), the event waits for the holder
    expect(p.bindingOf('A')).toBe('taken');
    expect(p.unboundCount).toBe(2);
    expect(of('things.taken')).toEqual([]);
    await vi.advanceTimersByTimeAsync(HOLDER_WAIT_MS - 1);
    expect(of('things.taken')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(of('things.taken')).toEqual([{ count: 2, sample: ['A', 'B'] }]);
    // the next check comes one period later (the wait for the holder is not the listing's time)
    const calls = directory.connectionCalls;
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(directory.connectionCalls).toBe(calls + 1);
    expect(of('things.taken')).toHaveLength(1);
    p.close();
  });

  it('a lookup that fails says the takeover without a holder, and no error', async () => {
    const { p, of, set } = setup(['A'], {
      holderWaitMs: 500,
      holderOf: async () => {
        throw new Error('403 Forbidden');
      },
    });
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    set(['A'], { connected: true, lastConnection: 200 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.taken')).toEqual([{ count: 1, sample: ['A'] }]);
    expect(of('error')).toEqual([]);
    p.close();
  });
});

describe('bind check while the bridge stops', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a check cut short by the stop (its REST agent destroyed) is no error to log', async () => {
    const { directory, p, of } = setup(['A']);
    await p.init();
    await vi.advanceTimersByTimeAsync(0); // the baseline
    let fail: (err: Error) => void = () => {};
    directory.connections = () => new Promise((_resolve, reject) => (fail = reject));
    await vi.advanceTimersByTimeAsync(CHECK_MS); // a check in flight
    p.close(); // the bridge stops: its REST agent is destroyed under the check
    fail(new Error('Cannot reach ThingWorx at https://127.0.0.1:1 (UND_ERR_DESTROYED).'));
    await vi.advanceTimersByTimeAsync(0);
    expect(of('error')).toEqual([]);
  });
});

describe('bind check of Things bound after the start', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the baseline of a Thing bound on its first report at once, so a takeover right after is seen', async () => {
    const { directory, p, of, set } = setup([]);
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    directory.things.add('NEW');
    set(['NEW'], { connected: true, lastConnection: 100 });
    const ensured = p.ensure('NEW');
    await vi.advanceTimersByTimeAsync(0); // the coalesced BIND, then the baseline check
    await ensured;
    // its baseline was read by name: no listing of the whole template for one new Thing
    expect(directory.byName).toEqual([['NEW']]);
    const listings = directory.connectionCalls;
    set(['NEW'], { connected: true, lastConnection: 150 }); // taken before the next periodic check
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(directory.connectionCalls).toBe(listings + 1);
    expect(of('things.taken')).toEqual([{ count: 1, sample: ['NEW'] }]);
    p.close();
  });

  it('runs the check at most a tenth of the time: a listing that takes long spaces the checks out', async () => {
    const { directory, p } = setup(['A']);
    const list = directory.connections.bind(directory);
    directory.connections = async (t: string) => {
      await new Promise((r) => setTimeout(r, 500)); // a listing of 500 ms, half the check period
      return list(t);
    };
    await p.init();
    await vi.advanceTimersByTimeAsync(500); // the first check (baselines) is done
    const first = directory.connectionCalls;
    await vi.advanceTimersByTimeAsync(4 * CHECK_MS);
    expect(directory.connectionCalls).toBe(first); // not every CHECK_MS: 10 x 500 ms after the last one ended
    await vi.advanceTimersByTimeAsync(CHECK_MS + 500);
    expect(directory.connectionCalls).toBe(first + 1);
    p.close();
  });

  it('takes the listing when a Thing just bound cannot be read by name', async () => {
    const { directory, p, of, set } = setup([]);
    await p.init();
    await vi.advanceTimersByTimeAsync(0);
    directory.things.add('NEW');
    const listings = directory.connectionCalls;
    const ensured = p.ensure('NEW'); // not in the view yet: its read by name finds nothing
    await vi.advanceTimersByTimeAsync(0);
    await ensured;
    expect(directory.byName).toEqual([['NEW']]);
    expect(directory.connectionCalls).toBe(listings + 1);
    set(['NEW'], { connected: true, lastConnection: 150 });
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.taken')).toEqual([]); // its first value seen is its baseline, not a takeover
    p.close();
  });

  it('reads the baselines of many new Things (or where it cannot read by name) with one listing', async () => {
    for (const byName of [false, true]) {
      const { directory, p, of, set } = setup([]);
      if (!byName) directory.byName = undefined;
      await p.init();
      await vi.advanceTimersByTimeAsync(0);
      const names = Array.from({ length: byName ? 100 : 1 }, (_, i) => `N${i}`);
      for (const n of names) directory.things.add(n);
      set(names, { connected: true, lastConnection: 100 });
      const listings = directory.connectionCalls;
      const ensured = Promise.all(names.map((n) => p.ensure(n)));
      await vi.advanceTimersByTimeAsync(0);
      await ensured;
      expect(directory.connectionCalls).toBe(listings + 1);
      expect(directory.byName ?? []).toEqual([]);
      set(names.slice(0, 1), { connected: true, lastConnection: 150 });
      await vi.advanceTimersByTimeAsync(CHECK_MS);
      expect(of('things.taken')).toEqual([{ count: 1, sample: ['N0'] }]);
      p.close();
    }
  });
});

describe('bind check without the connection properties', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says once that takeovers cannot be seen, and probes refused Things with a BIND', async () => {
    const { sink, directory, p, of } = setup(['A', 'B']);
    directory.view = undefined; // a platform that ignores propertyNames
    sink.refuseBind.add('B');
    await p.init();
    await vi.advanceTimersByTimeAsync(2 * CHECK_MS);
    expect(of('error')).toEqual([
      { where: 'bind check', error: 'ThingWorx listed no isConnected/lastConnection values: takeovers cannot be seen' },
    ]);
    expect(p.bindingOf('B')).toBe('refused');
    sink.refuseBind.clear();
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect(of('things.recovered')).toEqual([{ count: 1, sample: ['B'] }]);
    p.close();
  });
});
