/**
 * The spool's gather window: under a steady load a group commit waits out the rest of the window after the
 * previous commit, so it holds more reports (fewer fsyncs and thread hand-offs per report); a write after a quiet
 * spell, enough writes queued, or every source waiting for its commit, commits at once.
 */
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Batch, type BatchResult, GATHER_ENOUGH, SpoolWriter } from '../../src/bridge/spool-writer.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { signedQuery, startTestBridge, uplinkDoc } from './helpers.js';

const report = (n: number) => ({
  devEui: '0018B2000000000A',
  kind: 'uplink' as const,
  receivedAt: n,
  document: '{}',
  query: `Token=${n}`,
});

/** A writer over a runner that records each batch's appends and commits at once; the clock is ours. */
function writer(options: { gatherMs: number; sources?: () => number }) {
  const batches: number[] = [];
  let seq = 0;
  let clock = 1_000;
  const run = async (batch: Batch): Promise<BatchResult> => {
    batches.push(batch.ops.filter((o) => o.t === 'append').length);
    return { results: batch.ops.map(() => ++seq) };
  };
  const w = new SpoolWriter(run, () => undefined, undefined, { ...options, now: () => clock });
  return {
    w,
    batches,
    append: (n: number) => w.append(report(n)),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('spool gather window', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('under a steady load, commits the writes of the window together (one commit instead of one each)', async () => {
    vi.useFakeTimers();
    const t = writer({ gatherMs: 4 });
    // a quiet start: the first write commits at once (next tick)
    const first = t.append(1);
    await vi.advanceTimersByTimeAsync(0);
    await first;
    expect(t.batches).toEqual([1]);
    // within the window after that commit: three writes arriving one ms apart wait for each other
    const rest = [t.append(2)];
    for (const n of [3, 4]) {
      t.advance(1);
      await vi.advanceTimersByTimeAsync(1);
      rest.push(t.append(n));
    }
    expect(t.batches).toEqual([1]);
    t.advance(2);
    await vi.advanceTimersByTimeAsync(2);
    await Promise.all(rest);
    expect(t.batches).toEqual([1, 3]);
  });

  it('commits at once after a quiet spell longer than the window, and with the window off', async () => {
    vi.useFakeTimers();
    const t = writer({ gatherMs: 4 });
    await Promise.all([t.append(1), vi.advanceTimersByTimeAsync(0)]);
    t.advance(5);
    const p = t.append(2);
    await vi.advanceTimersByTimeAsync(0);
    await p;
    expect(t.batches).toEqual([1, 1]);

    const off = writer({ gatherMs: 0 });
    await Promise.all([off.append(1), vi.advanceTimersByTimeAsync(0)]);
    const q = off.append(2);
    await vi.advanceTimersByTimeAsync(0);
    await q;
    expect(off.batches).toEqual([1, 1]);
  });

  it('commits at once when every source waits for a commit (one sender, one report at a time: no added latency)', async () => {
    vi.useFakeTimers();
    let sources = 1;
    const t = writer({ gatherMs: 1_000, sources: () => sources });
    for (let n = 1; n <= 3; n++) {
      const p = t.append(n);
      await vi.advanceTimersByTimeAsync(0);
      await p;
    }
    expect(t.batches).toEqual([1, 1, 1]);
    // two connections, one report: the other connection may send one, so the window is waited out…
    sources = 2;
    const a = t.append(4);
    await vi.advanceTimersByTimeAsync(10);
    expect(t.batches).toEqual([1, 1, 1]);
    // …until it does: then both sources wait for this commit, and it commits at once
    const b = t.append(5);
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all([a, b]);
    expect(t.batches).toEqual([1, 1, 1, 2]);
  });

  it('commits at once when enough writes are queued, window or not', async () => {
    vi.useFakeTimers();
    const t = writer({ gatherMs: 1_000 });
    await Promise.all([t.append(0), vi.advanceTimersByTimeAsync(0)]);
    const many = Array.from({ length: GATHER_ENOUGH }, (_, i) => t.append(i + 1));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(many);
    expect(t.batches).toEqual([1, GATHER_ENOUGH]);
  });
});

describe('spool gather window in the bridge', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('counts its ingest connections: a sender of one report at a time on one connection never waits the window', async () => {
    // a 60 s window: were the connection not counted, the second uplink would wait it out (the test would time out)
    const { bridge } = await startTestBridge(cleanups, {
      sink: new FakeSink(),
      directory: new FakeDirectory(),
      spoolGatherMs: 60_000,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const post = (n: number) =>
      new Promise<number>((resolve, reject) => {
        const doc = uplinkDoc('0018B2000000000A', n);
        const req = request(
          `${bridge.url}${bridge.path}?${signedQuery(doc)}`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(doc));
      });
    const statuses: number[] = [];
    for (let n = 1; n <= 5; n++) statuses.push(await post(n));
    expect(statuses).toEqual([202, 202, 202, 202, 202]);
  }, 20_000);
});
