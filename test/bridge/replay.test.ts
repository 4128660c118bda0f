/**
 * The replay memory (issue 17: fan-in realism): a key seen within the window is a replay, whatever the tables do
 * underneath (collisions, growth, generations dropped, buffers reused); and Intake keeps its semantics on it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/bridge/delivery.js';
import { BridgeEvents } from '../../src/bridge/events.js';
import { Intake, type IntakeQueue, replayKey } from '../../src/bridge/intake.js';
import type { TunnelReport } from '../../src/bridge/ports.js';
import { ReplayMemory } from '../../src/bridge/replay.js';

const key = (n: number) => createHash('sha256').update(String(n)).digest('hex').slice(0, 32);
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const words = (a: number, b: number, c: number, d: number) => `${hex8(a)}${hex8(b)}${hex8(c)}${hex8(d)}`;
/** Keys whose 4 words have the same xor: the same first slot in every table (its hash folds the words). */
const sameSlot = (n: number, xor = 0xbeef) => words(n, n ^ xor, 0, 0);
/** The xor whose hash is 2^32 - 1: the last slot of every table. */
const last = (() => {
  let inv = 0x9e3779b1; // its inverse mod 2^32, by Newton's iteration
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(0x9e3779b1, inv));
  return Math.imul(0xffffffff, inv) >>> 0;
})();

describe('replay memory', () => {
  it('a key is a replay within the window, at its edge too, and not one millisecond after', () => {
    const m = new ReplayMemory(300_000);
    m.remember(key(1), 1_000);
    expect(m.has(key(1), 1_000)).toBe(true);
    expect(m.has(key(1), 301_000)).toBe(true);
    expect(m.has(key(1), 301_001)).toBe(false);
    expect(m.has(key(2), 1_000)).toBe(false);
    // a time before the one remembered (a clock set back) is within the window, as with the Map it replaces
    expect(m.has(key(1), 0)).toBe(true);
    // remembered again later: the window counts from the later time, whatever the order
    m.remember(key(1), 200_000);
    m.remember(key(1), 100_000);
    expect(m.has(key(1), 500_000)).toBe(true);
    expect(m.has(key(1), 500_001)).toBe(false);
    // fractions of a millisecond are rounded up; times before 1970 work too
    m.remember(key(3), 10.2);
    expect(m.has(key(3), 300_011)).toBe(true);
    // a time that is not a number is never within a window: not kept
    m.remember(key(5), Number.NaN);
    expect(m.has(key(5), 1_000)).toBe(false);
    const old = new ReplayMemory(1_000);
    old.remember(key(4), -5_000);
    expect(old.has(key(4), -4_000)).toBe(true);
    expect(old.has(key(4), -3_999)).toBe(false);
  });

  it('tells apart keys that share a first slot, also wrapping around the end of the table', () => {
    const m = new ReplayMemory(60_000);
    for (let i = 0; i < 200; i++) m.remember(sameSlot(i), 1_000);
    for (let i = 0; i < 50; i++) m.remember(sameSlot(i, last), 1_000); // probing goes on at slot 0
    for (let i = 0; i < 200; i++) expect(m.has(sameSlot(i), 2_000)).toBe(true);
    for (let i = 0; i < 50; i++) expect(m.has(sameSlot(i, last), 2_000)).toBe(true);
    expect(m.has(sameSlot(200), 2_000)).toBe(false);
    expect(m.has(sameSlot(50, last), 2_000)).toBe(false);
    // the same slot, differing from a key held in two words only (the xor stays)
    expect(m.has(words(7, 7 ^ 0xbeef ^ 1, 0, 1), 2_000)).toBe(false);
    expect(m.has(words(7, 7 ^ 0xbeef, 1, 1), 2_000)).toBe(false);
    expect(m.size).toBe(250);
  });

  it('grows a table past its load, keeping every key', () => {
    const m = new ReplayMemory(600_000);
    const first = m.bytes;
    for (let i = 0; i < 50_000; i++) m.remember(key(i), 1_000 + (i % 1000));
    expect(m.size).toBe(50_000);
    expect(m.bytes).toBeGreaterThan(first);
    expect(m.bytes / 50_000).toBeLessThan(60); // 20-byte slots at a load of 0.375-0.75
    for (let i = 0; i < 50_000; i++) if (!m.has(key(i), 2_000)) throw new Error(`lost key ${i}`);
    expect(m.has(key(50_000), 2_000)).toBe(false);
  });

  it('prune forgets what is older than its time (whole generations; the rest by their time)', () => {
    const m = new ReplayMemory(4_000); // generations of 1 s
    for (let t = 0; t < 4_000; t += 10) m.remember(key(t), t);
    expect(m.size).toBe(400);
    m.prune(2_500);
    // the generations of [0, 1 s) and [1, 2 s) are gone; [2, 3 s) stays whole
    expect(m.size).toBe(200);
    expect(m.has(key(1_990), 1_995)).toBe(false);
    expect(m.has(key(2_000), 2_000)).toBe(true);
    // still held but out of the window: not a replay
    expect(m.has(key(2_000), 6_001)).toBe(false);
    expect(m.has(key(3_990), 6_001)).toBe(true);
    m.prune(Number.POSITIVE_INFINITY);
    expect(m.size).toBe(0);
    expect(m.has(key(3_990), 3_990)).toBe(false);
  });

  it('keeps at most window + one generation of keys, in buffers that stop growing, at a steady rate', () => {
    const m = new ReplayMemory(10_000); // generations of 2.5 s
    let n = 0;
    let most = 0;
    const bytes: number[] = [];
    for (let t = 0; t < 200_000; t += 2) {
      m.remember(key(n++), t); // 500 keys/s, never pruned by hand: each new generation forgets the oldest
      most = Math.max(most, m.size);
      if (t % 10_000 === 0) bytes.push(m.bytes);
    }
    expect(most).toBeLessThanOrEqual(500 * 12.5);
    expect(new Set(bytes.slice(3)).size).toBe(1); // the same buffers, reused
    expect(m.has(key(n - 1), 200_000)).toBe(true);
    expect(m.has(key(n - 5_000), 200_000)).toBe(true); // 10 s ago
    expect(m.has(key(n - 5_001), 200_000)).toBe(false);
  });

  it('finds keys in any of many generations (a clock set back: times ahead of now)', () => {
    const m = new ReplayMemory(4_000); // generations of 1 s
    // newest first: no generation starts after the others, so none is forgotten
    for (let i = 39; i >= 0; i--) m.remember(key(i), 100_000 + i * 1_000);
    expect(m.size).toBe(40);
    for (let i = 0; i < 40; i++) expect(m.has(key(i), 0)).toBe(true);
    expect(m.has(key(40), 0)).toBe(false);
  });

  it('loads entries in any order; keys that are not 32 lower-case hex digits are kept too, as they are', () => {
    const m = new ReplayMemory(60_000);
    m.load([
      { key: key(3), seenAt: 50_000 },
      { key: key(1), seenAt: 10_000 },
      { key: 't1', seenAt: 20_000 },
      { key: key(2).toUpperCase(), seenAt: 30_000 },
      { key: key(1), seenAt: 40_000 },
    ]);
    expect(m.size).toBe(5); // key(1) in two generations (of 15 s): the older copy goes with its generation
    expect(m.has(key(1), 100_000)).toBe(true);
    expect(m.has(key(3), 110_000)).toBe(true);
    expect(m.has('t1', 80_000)).toBe(true);
    expect(m.has('t1', 80_001)).toBe(false);
    expect(m.has(key(2).toUpperCase(), 30_000)).toBe(true);
    expect(m.has(key(2), 30_000)).toBe(false); // another string, another key (as in a Map)
    m.prune(20_001);
    expect(m.has('t1', 20_000)).toBe(false);
  });

  it('answers as a Map of key -> latest time does, over random keys, times and prunes', () => {
    let seed = 17;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pool = [
      ...Array.from({ length: 300 }, (_, i) => key(i)),
      ...Array.from({ length: 100 }, (_, i) => sameSlot(i)),
    ];
    for (const windowMs of [0, 999, 5_000, 60_000]) {
      const m = new ReplayMemory(windowMs);
      const model = new Map<string, number>();
      let now = 1_000_000;
      for (let step = 0; step < 20_000; step++) {
        now += rnd(50);
        const k = pool[rnd(pool.length)]!;
        const seen = model.get(k);
        const expected = seen !== undefined && now - seen <= windowMs;
        if (m.has(k, now) !== expected) throw new Error(`window ${windowMs}, step ${step}: ${k} at ${now}`);
        if (!expected) {
          // sometimes a little in the past, as an append finishing after a later one
          const at = now - rnd(3);
          m.remember(k, at);
          model.set(k, Math.max(model.get(k) ?? at, at));
        }
        if (rnd(500) === 0) {
          for (const [mk, t] of model) if (t < now - windowMs) model.delete(mk);
          m.prune(now - windowMs);
        }
      }
    }
  });
});

describe('intake on the replay memory', () => {
  function intake(tokens: { token: string; seenAt: number }[], clock: { now: number }) {
    const pruned: number[] = [];
    let seq = 0;
    const queue: IntakeQueue = {
      append: async () => ++seq,
      depth: () => 0,
      dedupSince: () => [],
      tokensSince: (since) => tokens.filter((t) => t.seenAt >= since),
      pruneMemory: (_d, t) => void pruned.push(t),
      resetDedup: () => {},
    };
    const delivery = { accepted: () => {} } as unknown as Delivery;
    const i = new Intake(
      queue,
      delivery,
      new BridgeEvents(),
      { dedupWindowMs: 0, replayWindowMs: 300_000, verifyTokens: true },
      () => clock.now,
    );
    return { i, pruned };
  }
  const r: TunnelReport = {
    kind: 'uplink',
    devEui: '0018B2000000000A',
    time: '',
    timeMs: 0,
    fcntUp: 1,
    document: {},
  } as TunnelReport;
  const raw = (token: string) => ({ document: '{}', query: '', params: { Token: token, Time: 't', AS_ID: 'as' } });
  const token = (n: number) => createHash('sha256').update(`t${n}`).digest('hex');

  it('refuses a token within the window (a fake clock at 0 too), takes it again after; prune reaches the spool', async () => {
    const clock = { now: 0 };
    const { i, pruned } = intake([], clock);
    expect(await i.accept(r, raw(token(1)))).toEqual({ status: 'accepted', seq: 1 });
    clock.now = 300_000;
    expect(await i.accept(r, raw(token(1).toUpperCase()))).toEqual({ status: 'duplicate' });
    clock.now = 300_001;
    i.prune();
    expect(pruned).toEqual([1]);
    expect(await i.accept(r, raw(token(1)))).toEqual({ status: 'accepted', seq: 2 });
  });

  it('loads the tokens of the spool, also keys of older versions (AS_ID|Time|Token) and short test tokens', async () => {
    const clock = { now: 1_000_000 };
    const { i } = intake(
      [
        { token: `as|2026-01-01T00:00:00.000+00:00|${token(1).toUpperCase()}`, seenAt: 900_000 },
        { token: replayKey(token(2)), seenAt: 950_000 },
        { token: 'short', seenAt: 990_000 },
        { token: replayKey(token(3)), seenAt: 600_000 }, // out of the window at start-up
      ],
      clock,
    );
    i.load();
    expect(await i.accept(r, raw(token(1)))).toEqual({ status: 'duplicate' });
    expect(await i.accept(r, raw(token(2)))).toEqual({ status: 'duplicate' });
    expect(await i.accept(r, raw('short'))).toEqual({ status: 'duplicate' });
    expect(await i.accept(r, raw(token(3)))).toEqual({ status: 'accepted', seq: 1 });
    clock.now = 1_200_001;
    expect(await i.accept(r, raw(token(1)))).toEqual({ status: 'accepted', seq: 2 });
    expect(await i.accept(r, raw(token(2)))).toEqual({ status: 'duplicate' });
  });
});
