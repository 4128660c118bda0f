/**
 * Refused requests under a flood: each is still an uplink.rejected event (counted in /metrics, a debug line), and the
 * log says them once per status, reason and window (uplink.rejecting), as push.failing does for push failures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type BridgeEventMap, BridgeEvents, type BridgeOptions } from '../../src/bridge/index.js';
import { eventLevel, formatEvent } from '../../src/bridge/log.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { post, startTestBridge, uplinkDoc } from './helpers.js';

const DEV = '0018B20000000B01';

describe('refused requests in the log: one line per reason and window (uplink.rejecting)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(sink: FakeSink, over: Partial<BridgeOptions> = {}) {
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const events = new BridgeEvents();
    const seen: { name: string; payload: unknown }[] = [];
    events.onAny((name, payload) => seen.push({ name, payload }));
    // a window longer than the test: only the stop ends it (Repeats.flush)
    const { bridge, stop } = await startTestBridge(cleanups, {
      events,
      repeatWindowMs: 600_000,
      ...over,
      sink,
      directory,
    });
    const of = <K extends keyof BridgeEventMap>(name: K) =>
      seen.filter((e) => e.name === name).map((e) => e.payload as BridgeEventMap[K]);
    const metric = async (line: string) => (await bridge.metrics.metrics()).split('\n').find((l) => l.startsWith(line));
    return { bridge, stop, of, metric };
  }

  it('N refusals of one reason: one warning at once, one with the other N-1 at the stop; /metrics counts N', async () => {
    const b = await start(new FakeSink());
    for (let i = 0; i < 5; i++) {
      const r = await post(b.bridge.url, uplinkDoc(DEV, i), { contentType: 'text/plain' });
      expect(r.status).toBe(415);
    }
    expect(b.of('uplink.rejected')).toHaveLength(5);
    expect(b.of('uplink.rejecting')).toEqual([
      {
        reason: 'content_type',
        status: 415,
        message: expect.stringMatching(/^Content-Type text\/plain is not supported/),
        count: 1,
        windowMs: 600_000,
      },
    ]);
    expect(await b.metric('tpx_bridge_rejected_total{reason="content_type"}')).toMatch(/ 5$/);
    await b.stop();
    const folded = b.of('uplink.rejecting');
    expect(folded).toHaveLength(2);
    expect(folded[1]).toMatchObject({ reason: 'content_type', count: 4 });
    const text = folded.map((e) => formatEvent('uplink.rejecting', e, 'text'));
    expect(text[0]).toMatch(
      /warn +rejected 415 content_type: Content-Type text\/plain .* \(more refusals of this reason are counted in one line per 10m\)$/,
    );
    expect(text[1]).toMatch(/warn +rejected 4 request\(s\) 415 content_type in the last 10m: Content-Type text\/plain/);
    // each refusal on its own: a debug line (--verbose), still in the --json stream with --verbose
    expect(eventLevel('uplink.rejected', b.of('uplink.rejected')[0])).toBe('debug');
  });

  it('a full spool: spool.full is the one warning; its refusals are info lines, one per window, each one counted', async () => {
    const sink = new FakeSink();
    sink.connected = false;
    const b = await start(sink, { maxSpool: 1 });
    expect((await post(b.bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    for (let i = 2; i < 6; i++) expect((await post(b.bridge.url, uplinkDoc(DEV, i))).status).toBe(503);
    expect(b.of('spool.full')).toEqual([{ depth: 1, max: 1, count: 1, windowMs: 600_000 }]);
    expect(b.of('uplink.rejecting')).toHaveLength(1);
    expect(eventLevel('spool.full', b.of('spool.full')[0])).toBe('warn');
    expect(formatEvent('uplink.rejecting', b.of('uplink.rejecting')[0]!, 'text')).toMatch(
      /info +rejected 503 spool_full 0018B20000000B01: The spool is full/,
    );
    expect(await b.metric('tpx_bridge_spool_full_total')).toMatch(/ 4$/);
    await b.stop();
    expect(b.of('spool.full')).toEqual([
      { depth: 1, max: 1, count: 1, windowMs: 600_000 },
      { depth: 1, max: 1, count: 3, windowMs: 600_000, folded: true },
    ]);
    // the spool still full is no second warning: the window's refusals are the info line that says it
    const still = b.of('spool.full')[1]!;
    expect(formatEvent('spool.full', still, 'text')).toMatch(
      /debug spool still full \(1\/1\): 3 request\(s\) found it full in the last 10m$/,
    );
    expect(b.of('uplink.rejecting').map((e) => e.count)).toEqual([1, 3]);
  });
});
