import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeEventName } from '../../src/bridge/events.js';
import type { Bridge } from '../../src/bridge/index.js';
import { type CallOptions, type PropertyUpdate, type SinkPushOptions, StoppedError } from '../../src/bridge/ports.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { post, startTestBridge, tempDir, uplinkDoc } from './helpers.js';
import { relayedBridge } from './relay.js';

const NEW = '70B3D57ED00000A1';
const KNOWN = '70B3D57ED00000A2';

/** 'late' after `ms` (an unref'd timer): what a bounded wait is raced against. */
const late = (ms: number) => new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref());

/** A directory whose CreateThing never answers; it ends only when its signal aborts (as the REST client does). */
class SilentCreate extends FakeDirectory {
  readonly aborted: unknown[] = [];
  private entered: (() => void)[] = [];
  whenCalled(): Promise<void> {
    return new Promise((r) => this.entered.push(r));
  }
  override create(_name: string, _template: string, options?: CallOptions): Promise<'created' | 'exists'> {
    for (const fn of this.entered.splice(0)) fn();
    return new Promise((_, reject) => {
      options?.signal?.addEventListener('abort', () => {
        this.aborted.push(options.signal?.reason);
        reject(options.signal?.reason);
      });
    });
  }
}

/** A sink whose pushes never answer, not even when it is closed. */
class SilentPush extends FakeSink {
  private entered: (() => void)[] = [];
  whenPushed(): Promise<void> {
    return new Promise((r) => this.entered.push(r));
  }
  override push(_thing: string, _values: PropertyUpdate[], _options?: SinkPushOptions): Promise<void> {
    for (const fn of this.entered.splice(0)) fn();
    return new Promise(() => undefined);
  }
}

function eventNames(bridge: Bridge): BridgeEventName[] {
  const names: BridgeEventName[] = [];
  bridge.events.onAny((name) => names.push(name));
  return names;
}

describe('a stop bounded by its drain limit (QA F3)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** The next bridge on the same spool delivers what the stop kept. */
  async function deliveredNext(spool: string, dev: string, known: boolean) {
    const sink = new FakeSink();
    const directory = new FakeDirectory();
    if (known) directory.things.add(dev);
    const { bridge } = await startTestBridge(cleanups as (() => Promise<void>)[], { sink, directory }, spool);
    await bridge.events.waitFor('push.acked', (e) => e.thing === dev);
    expect(sink.valuesOf(dev, 'FCntUp')).toEqual([{ baseType: 'NUMBER', value: 7 }]);
  }

  it('a CreateThing that never answers is aborted at the limit; the report is kept, not failed, and delivered next', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const directory = new SilentCreate();
    const { bridge } = await startTestBridge(cleanups as (() => Promise<void>)[], {
      sink: new FakeSink(),
      directory,
      spoolDir: t.dir,
    });
    await bridge.whenReady();
    const names = eventNames(bridge);
    const stopped = bridge.events.waitFor('bridge.stopped');
    const creating = directory.whenCalled();
    expect((await post(bridge.url, uplinkDoc(NEW, 7))).status).toBe(202);
    await creating;

    const t0 = performance.now();
    const result = await Promise.race([bridge.stop({ drainTimeoutMs: 300 }), late(5_000)]);
    const tookMs = performance.now() - t0;
    expect(result).toEqual({ drained: false, pending: 1 });
    expect(tookMs).toBeLessThan(300 + 1_000);
    expect(await stopped).toMatchObject({ pending: 1 });
    expect(directory.aborted).toHaveLength(1);
    expect(directory.aborted[0]).toBeInstanceOf(StoppedError);
    // cut short by the stop: said once at debug level, not as a failure (no "did not answer within 30 s")
    expect(names).toContain('push.abandoned');
    for (const n of ['push.failed', 'push.failing', 'error', 'dead.letter', 'thing.refused'] as const)
      expect(names).not.toContain(n);
    expect(names.at(-1)).toBe('bridge.stopped');

    await deliveredNext(t.dir, NEW, false);
  });

  it('a push that never answers is abandoned at the limit: kept unacknowledged, delivered by the next bridge', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const sink = new SilentPush();
    const directory = new FakeDirectory();
    directory.things.add(KNOWN);
    const { bridge } = await startTestBridge(cleanups as (() => Promise<void>)[], { sink, directory, spoolDir: t.dir });
    await bridge.whenReady();
    const names = eventNames(bridge);
    const pushing = sink.whenPushed();
    expect((await post(bridge.url, uplinkDoc(KNOWN, 7))).status).toBe(202);
    await pushing;

    const t0 = performance.now();
    const result = await Promise.race([bridge.stop({ drainTimeoutMs: 300 }), late(5_000)]);
    expect(result).toEqual({ drained: false, pending: 1 });
    expect(performance.now() - t0).toBeLessThan(300 + 1_000);
    expect(names.filter((n) => n === 'push.abandoned')).toHaveLength(1);
    expect(names).not.toContain('push.failed');
    expect(names).not.toContain('error');
    expect(sink.closed).toBe(true);

    await deliveredNext(t.dir, KNOWN, true);
  });

  it('a reconnect under way when the stop begins is cancelled: no new attempt, nothing left open once stopped', async () => {
    const { relay: r, bridge } = await relayedBridge(cleanups, [KNOWN], { pingDeadlineMs: 300, bindCheckMs: 0 });
    await bridge.whenReady();

    // frozen: the pipe is dropped at the ping deadline, and its reconnect's opening hangs on the relay
    const down = bridge.events.waitFor('pipe.down');
    r.freeze();
    await down;
    await r.nextConnection();
    let acceptedAtStop = -1;
    bridge.events.once('bridge.stopping', () => {
      acceptedAtStop = r.accepted;
    });
    const result = await Promise.race([bridge.stop({ drainTimeoutMs: 500 }), late(5_000)]);
    expect(result).toMatchObject({ pending: 0 });
    // the opening was abandoned with the stop, not left to its 10 s limit (it kept the process alive after "stopped")
    expect(await Promise.race([r.idle().then(() => 'idle' as const), late(3_000)])).toBe('idle');
    expect(r.accepted).toBe(acceptedAtStop);
  });
});
