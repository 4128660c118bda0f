import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { tunnelSender } from '../../src/bridge/adapters.js';
import type { BridgeEventName } from '../../src/bridge/events.js';
import type { Bridge } from '../../src/bridge/index.js';
import { eventLevel, formatEvent } from '../../src/bridge/log.js';
import {
  type CallOptions,
  type DownlinkRequest,
  type DownlinkResult,
  type DownlinkSender,
  StoppedError,
} from '../../src/bridge/ports.js';
import { startThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { startTestBridge } from './helpers.js';
import { relay } from './relay.js';

const DEV = '70B3D57ED00000B1';

/** 'late' after `ms` (an unref'd timer): what a bounded wait is raced against. */
const late = (ms: number) => new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref());

/** A ThingPark whose downlink endpoint never answers: each call ends only when its signal aborts (as httpRequest). */
class SilentSender implements DownlinkSender {
  readonly aborted: unknown[] = [];
  private entered: (() => void)[] = [];
  whenCalled(): Promise<void> {
    return new Promise((r) => this.entered.push(r));
  }
  send(_request: DownlinkRequest, options?: CallOptions): Promise<DownlinkResult> {
    for (const fn of this.entered.splice(0)) fn();
    return new Promise((_, reject) => {
      options?.signal?.addEventListener('abort', () => {
        this.aborted.push(options.signal?.reason);
        reject(options.signal?.reason);
      });
    });
  }
}

function eventNames(bridge: Bridge): BridgeEventName[] {
  const names: BridgeEventName[] = [];
  bridge.events.onAny((name) => names.push(name));
  return names;
}

const FAILURES = ['downlink.failed', 'error', 'push.failed', 'push.failing'] as const;

describe('a downlink in flight at the stop is bounded by its drain limit', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a ThingPark call that never answers is aborted at the limit and said abandoned (debug), not failed', async () => {
    const sink = new FakeSink();
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const sender = new SilentSender();
    const { bridge } = await startTestBridge(cleanups as (() => Promise<void>)[], {
      sink,
      directory,
      downlinks: sender,
    });
    await bridge.whenReady();
    const names = eventNames(bridge);
    const abandoned = bridge.events.waitFor('downlink.abandoned');
    const calling = sender.whenCalled();
    await sink.write(DEV, 'downlink', { baseType: 'JSON', value: JSON.stringify({ FPort: 3, payload_hex: '0a0b' }) });
    await calling;

    const t0 = performance.now();
    const result = await Promise.race([bridge.stop({ drainTimeoutMs: 300 }), late(5_000)]);
    expect(result).toEqual({ drained: true, pending: 0 });
    expect(performance.now() - t0).toBeLessThan(300 + 1_000);
    expect(sender.aborted).toHaveLength(1);
    expect(sender.aborted[0]).toBeInstanceOf(StoppedError);
    const e = await abandoned;
    expect(e).toMatchObject({ thing: DEV, fport: 3 });
    expect(e.correlationId).toMatch(/^[0-9A-F]{16}$/);
    expect(names.filter((n) => n === 'downlink.abandoned')).toHaveLength(1);
    for (const n of FAILURES) expect(names).not.toContain(n);
    expect(names).not.toContain('downlink.sent');
    // said at debug level, in words that claim no failure and no sending
    expect(eventLevel('downlink.abandoned', e)).toBe('debug');
    expect(formatEvent('downlink.abandoned', e, 'text')).toMatch(/cut short by the stop/);
    // the status written back never claims the downlink was sent (queued)
    const states = sink
      .valuesOf(DEV, 'downlinkStatus')
      .map((v) => JSON.parse((v as { value: string }).value) as { state: string; correlationId?: string });
    expect(states).toEqual([expect.objectContaining({ state: 'abandoned', correlationId: e.correlationId })]);
    // a downlink written once the stop has given up is refused, not sent
    await expect(
      sink.write(DEV, 'downlink', { baseType: 'JSON', value: JSON.stringify({ FPort: 3, payload_hex: '0a' }) }),
    ).rejects.toThrow(/stopping/);
  });

  it('the HTTP call to a frozen ThingPark is aborted at the limit: its socket closed, not left to its 30s limit', async () => {
    const tp = await startThingParkEmulator({ openingDelayMs: 0 });
    cleanups.push(() => tp.close());
    const r = await relay(Number(new URL(tp.url).port));
    cleanups.push(r.close);
    const sink = new FakeSink();
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const { bridge } = await startTestBridge(cleanups as (() => Promise<void>)[], {
      sink,
      directory,
      downlinks: tunnelSender({
        url: `${r.url.replace(/^https:/, 'http:')}/thingpark/lrc/rest/v2/downlink`,
        asId: tp.asId,
        asKey: tp.asKey,
      }),
    });
    await bridge.whenReady();
    const names = eventNames(bridge);
    r.freeze();
    const connected = r.nextConnection();
    await sink.write(DEV, 'downlink', { baseType: 'JSON', value: JSON.stringify({ FPort: 3, payload_hex: '0a0b' }) });
    await connected;

    const t0 = performance.now();
    const result = await Promise.race([bridge.stop({ drainTimeoutMs: 300 }), late(5_000)]);
    expect(result).toEqual({ drained: true, pending: 0 });
    expect(performance.now() - t0).toBeLessThan(300 + 1_000);
    expect(names).toContain('downlink.abandoned');
    for (const n of FAILURES) expect(names).not.toContain(n);
    // the request was aborted: its connection to ThingPark is closed
    expect(await Promise.race([r.idle().then(() => 'idle' as const), late(3_000)])).toBe('idle');
    expect(tp.downlinks()).toHaveLength(0);
  });
});
