/**
 * During an outage every push in flight fails, on every retry round: each failure is still a push.failed event
 * (counted in /metrics), and the log says them once per cause and window (push.failing), with their count.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DisconnectedError, failureCause, RequestFailedError, RequestTimeoutError } from '../../src/alwayson/index.js';
import { type BridgeEventMap, BridgeEvents, type BridgeOptions } from '../../src/bridge/index.js';
import { eventLevel, formatEvent } from '../../src/bridge/log.js';
import type { PropertyUpdate } from '../../src/bridge/ports.js';
import { pushFailureCause } from '../../src/bridge/push-failures.js';
import { Repeats } from '../../src/bridge/repeats.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { post, startTestBridge, uplinkDoc } from './helpers.js';

const DEVS = ['0018B20000000A01', '0018B20000000A02', '0018B20000000A03', '0018B20000000A04'];

/** A sink whose pushes fail with `failFor(thing)` when it gives an error, and that knows the pool's cause codes. */
class CausedSink extends FakeSink {
  failFor: ((thing: string) => Error | undefined) | undefined;
  override async push(thing: string, values: PropertyUpdate[]): Promise<void> {
    const err = this.failFor?.(thing);
    if (err) {
      await Promise.resolve();
      throw err;
    }
    return super.push(thing, values);
  }
  causeOf(error: unknown): string {
    return failureCause(error);
  }
}

describe('push failures in the log: one line per cause and window (push.failing)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(sink: FakeSink, over: Partial<BridgeOptions> = {}) {
    const directory = new FakeDirectory();
    for (const d of DEVS) directory.things.add(d);
    const events = new BridgeEvents();
    const failing: BridgeEventMap['push.failing'][] = [];
    let failed = 0;
    events.on('push.failing', (e) => failing.push(e));
    events.on('push.failed', () => {
      failed += 1;
    });
    const { bridge, stop } = await startTestBridge(cleanups, { events, ...over, sink, directory });
    await bridge.whenReady();
    /** Resolves once `n` pushes have failed in all. */
    const failures = (n: number) =>
      failed >= n ? Promise.resolve() : events.waitFor('push.failed', () => failed >= n);
    const metric = async () =>
      Number(
        (await bridge.metrics.metrics())
          .split('\n')
          .find((l) => l.startsWith('tpx_bridge_push_failures_total '))
          ?.split(' ')[1],
      );
    return { bridge, stop, failing, failed: () => failed, failures, metric };
  }

  it('N failures of one cause: one line at once, one with the other N-1 at the stop; /metrics counts N', async () => {
    const sink = new FakeSink();
    // a window longer than the test: only the stop ends it (Repeats.flush)
    const b = await start(sink, { repeatWindowMs: 600_000 });
    sink.failWith = new Error('push timed out');
    for (const d of DEVS) expect((await post(b.bridge.url, uplinkDoc(d, 1))).status).toBe(202);
    await b.failures(3 * DEVS.length); // several retry rounds of every device
    expect(b.failing).toHaveLength(1);
    expect(b.failing[0]).toEqual({
      cause: 'push timed out',
      error: 'push timed out',
      count: 1,
      things: 1,
      thing: expect.stringMatching(/^0018B20000000A0\d$/),
      retryInMs: expect.any(Number),
      windowMs: 600_000,
    });
    sink.failWith = undefined;
    expect(await b.bridge.whenDrained()).toBe(true);
    const n = b.failed();
    expect(n).toBeGreaterThanOrEqual(3 * DEVS.length);
    expect(await b.metric()).toBe(n); // every failure counted, folded or not
    await b.stop();
    expect(b.failing).toHaveLength(2);
    expect(b.failing[1]).toMatchObject({ cause: 'push timed out', count: n - 1, things: DEVS.length });
    const text = b.failing.map((e) => formatEvent('push.failing', e, 'text'));
    expect(text[0]).toMatch(/ warn +pushes failing: push to 0018B20000000A0\d failed: push timed out \(retrying in /);
    expect(text[1]).toMatch(
      new RegExp(`warn +pushes failing: ${n - 1} push\\(es\\) to 4 Thing\\(s\\) failed in the last 10m \\(last: `),
    );
  });

  it('a flood that goes on gives one line per window, and the counts add up to every failure', async () => {
    const sink = new FakeSink();
    const b = await start(sink, { repeatWindowMs: 50 });
    sink.failWith = new Error('push timed out');
    for (const d of DEVS) expect((await post(b.bridge.url, uplinkDoc(d, 1))).status).toBe(202);
    // the end of a window, while the pushes still fail
    const folded = await b.bridge.events.waitFor('push.failing', (e) => e.count > 1);
    expect(folded.things).toBeGreaterThanOrEqual(1);
    expect(folded.things).toBeLessThanOrEqual(DEVS.length);
    sink.failWith = undefined;
    expect(await b.bridge.whenDrained()).toBe(true);
    await b.stop();
    expect(b.failing.reduce((sum, e) => sum + e.count, 0)).toBe(b.failed());
    expect(b.failing.length).toBeLessThan(b.failed());
  });

  it('distinct causes make distinct lines; a Thing name or a number in a message does not', async () => {
    const sink = new CausedSink();
    const b = await start(sink, { repeatWindowMs: 600_000 });
    let calls = 0;
    sink.failFor = (thing) => {
      calls += 1;
      return thing === DEVS[0]
        ? new RequestTimeoutError(`PUT Things/${thing}/Services/UpdateSubscribedPropertyValues`, 1000)
        : new Error(`${thing} is not bound (call ${calls})`);
    };
    for (const d of DEVS) expect((await post(b.bridge.url, uplinkDoc(d, 1))).status).toBe(202);
    await b.failures(3 * DEVS.length);
    expect(b.failing.map((e) => e.cause).sort()).toEqual(['<thing> is not bound (call #)', 'request_timeout']);
    sink.failFor = undefined;
    expect(await b.bridge.whenDrained()).toBe(true);
    await b.stop();
    const of = (cause: string) => b.failing.filter((e) => e.cause === cause);
    expect(of('request_timeout')).toHaveLength(2);
    expect(of('request_timeout')[1]).toMatchObject({ things: 1, thing: DEVS[0] });
    expect(of('<thing> is not bound (call #)')).toHaveLength(2);
    expect(of('<thing> is not bound (call #)')[1]!.things).toBe(DEVS.length - 1);
    expect(b.failing.reduce((sum, e) => sum + e.count, 0)).toBe(b.failed());
    expect(formatEvent('push.failing', of('request_timeout')[0]!, 'text')).toMatch(
      /pushes failing: push to 0018B20000000A01 failed: a request timed out: PUT Things\/0018B20000000A01\/.*no answer/,
    );
  });

  it('the cause: the sink’s code, else the error’s code (with the platform status), else the message', () => {
    const thing = '0018B20000000A01';
    const what = `PUT Things/${thing}/Services/UpdateSubscribedPropertyValues`;
    expect(pushFailureCause(new RequestTimeoutError(what, 10_000), thing, failureCause)).toBe('request_timeout');
    expect(pushFailureCause(new DisconnectedError('lost', undefined, 'ping_timeout'), thing, failureCause)).toBe(
      'ping_timeout',
    );
    const refused = new RequestFailedError(what, 0xa3, 'SERVICE_UNAVAILABLE', `Injected failure 503 on ${thing}`);
    expect(pushFailureCause(refused, thing, failureCause)).toBe('TPX_ALWAYSON_REQUEST_FAILED:SERVICE_UNAVAILABLE');
    expect(pushFailureCause(new RequestTimeoutError(what, 10_000), thing)).toBe('TPX_ALWAYSON_TIMEOUT');
    expect(pushFailureCause(new Error(`report 17 of ${thing}: not bound`), thing)).toBe(
      'report # of <thing>: not bound',
    );
  });

  it('push.failed is a debug line (shown with --verbose), push.failing the warning', () => {
    const failed = { seq: 3, thing: DEVS[0]!, error: 'push timed out', attempt: 2, retryInMs: 400 };
    expect(eventLevel('push.failed', failed)).toBe('debug');
    const now = new Date('2026-12-03T10:00:00.123Z');
    const many = {
      cause: 'request_timeout',
      error: new RequestTimeoutError('PUT Things/X/Services/UpdateSubscribedPropertyValues', 10_000).message,
      count: 1234,
      things: 812,
      thing: 'X',
      retryInMs: 800,
      windowMs: 10_000,
      folded: true,
    };
    expect(formatEvent('push.failing', many, 'text', now)).toBe(
      '2026-12-03T10:00:00.123Z warn  pushes failing: 1,234 push(es) to 812 Thing(s) failed in the last 10s ' +
        '(last: X): a request timed out: PUT Things/X/Services/UpdateSubscribedPropertyValues: no answer from ' +
        'ThingWorx within 10s (retried with back-off, latest delay 800ms)',
    );
    expect(JSON.parse(formatEvent('push.failing', many, 'json', now))).toEqual({
      time: '2026-12-03T10:00:00.123Z',
      level: 'warn',
      event: 'push.failing',
      ...many,
    });
  });

  it('a window that ends with one repeat says it as a repeat (folded), not as a first failure a second time', () => {
    vi.useFakeTimers();
    try {
      const repeats = new Repeats(10_000);
      const said: [number, boolean][] = [];
      const report = (count: number, first: boolean) => said.push([count, first]);
      repeats.add('k', report);
      repeats.add('k', report);
      vi.advanceTimersByTime(10_000);
      repeats.add('k', report);
      repeats.flush();
      expect(said).toEqual([
        [1, true],
        [1, false],
        [1, false],
      ]);
    } finally {
      vi.useRealTimers();
    }
    const one = { cause: 'c', error: 'e', count: 1, things: 1, thing: 'X', retryInMs: 800, windowMs: 10_000 };
    expect(formatEvent('push.failing', { ...one, folded: true }, 'text')).toMatch(
      /pushes failing: 1 push\(es\) to 1 Thing\(s\) failed in the last 10s \(last: X\)/,
    );
    expect(formatEvent('push.failing', one, 'text')).toMatch(/pushes failing: push to X failed: e \(retrying in/);
  });
});
