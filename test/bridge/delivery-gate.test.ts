/**
 * A fleet bridge checks its lease before a bind or push, and again right before it is written: a BIND or push that
 * waited (for a free slot, or in a process paused meanwhile) is withdrawn once the device's queue was lost, and the
 * report dropped as fenced: no Thing bound, nothing sent, on a session that no longer owns the queue (README "Fleet
 * guarantees").
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PropertyUpdate, SinkPushOptions } from '../../src/bridge/ports.js';
import { Spool } from '../../src/bridge/spool.js';
import { FakeSink } from './fakes.js';
import { deliveryFor, tempDir, uplinkDoc } from './helpers.js';

const A = '0018B2000000000A';

/** A sink that holds each push until released, then asks the push whether it is still wanted, as the client does. */
class HeldSink extends FakeSink {
  private release: (() => void) | undefined;
  private holding: (() => void) | undefined;
  /** Resolves once a push waits in the sink. */
  readonly held = new Promise<void>((resolve) => {
    this.holding = resolve;
  });
  withdrawn = 0;

  override async push(thing: string, values: PropertyUpdate[], options?: SinkPushOptions): Promise<void> {
    await new Promise<void>((resolve) => {
      this.release = resolve;
      this.holding?.();
    });
    if (options?.stillValid && !options.stillValid()) {
      this.withdrawn += 1;
      throw new Error('withdrawn before it was sent');
    }
    return super.push(thing, values);
  }

  letGo(): void {
    this.release?.();
  }
}

/** A sink whose BINDs wait until released, then ask whether they are still wanted, as the client does. */
class HeldBindSink extends FakeSink {
  private release: (() => void) | undefined;
  private holding: (() => void) | undefined;
  /** Resolves once a BIND waits in the sink. */
  readonly held = new Promise<void>((resolve) => {
    this.holding = resolve;
  });
  withdrawn = 0;

  override async bind(names: string[], options?: SinkPushOptions) {
    await new Promise<void>((resolve) => {
      this.release = resolve;
      this.holding?.();
    });
    if (options?.stillValid && !options.stillValid()) {
      this.withdrawn += 1;
      throw new Error('withdrawn before it was sent');
    }
    return super.bind(names);
  }

  letGo(): void {
    this.release?.();
  }
}

describe('delivery with a fleet gate', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /**
   * One report of A delivered through `sink`, which holds the first push or BIND; the lease is lost while it is held,
   * then the sink lets it go. Resolves once the report was fenced, with what was seen.
   */
  async function lostWhileHeld(sink: HeldSink | HeldBindSink, bound: boolean) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const spool = new Spool(t.dir);
    cleanups.push(() => spool.close());
    let lease: 'ok' | 'lost' = 'ok';
    const dropped: number[] = [];
    const { delivery, events } = await deliveryFor(
      spool,
      sink,
      A,
      { gate: () => lease, dropped: (seq) => dropped.push(seq) },
      { bound },
    );
    const failed: unknown[] = [];
    events.on('push.failed', (e) => failed.push(e));
    const fenced = events.waitFor('push.fenced');
    const seq = await spool.append({
      devEui: A,
      kind: 'uplink',
      receivedAt: Date.now(),
      document: JSON.stringify(uplinkDoc(A, 1)),
      query: '',
    });
    delivery.fill();
    await sink.held;
    lease = 'lost';
    sink.letGo();
    expect(await fenced).toEqual({ seq, thing: A });
    return { seq, dropped, failed };
  }

  it('withdraws a push that waited while the queue was lost: dropped as fenced, not sent, not retried', async () => {
    // the push passed the first check and waits in the sink; meanwhile the broker gave the queue to another bridge
    const sink = new HeldSink();
    const { seq, dropped, failed } = await lostWhileHeld(sink, true);
    expect(sink.withdrawn).toBe(1);
    expect(sink.pushes).toEqual([]);
    expect(dropped).toEqual([seq]);
    expect(failed).toEqual([]);
  });

  it('withdraws a BIND that waited while the queue was lost: the Thing is not bound, the report dropped as fenced', async () => {
    // the Thing's first report: its BIND passed the gate and waits in the sink; meanwhile the queue moved
    const sink = new HeldBindSink();
    const { seq, dropped, failed } = await lostWhileHeld(sink, false);
    expect(sink.withdrawn).toBe(1);
    expect(sink.bindCalls).toEqual([]);
    expect(sink.bound.has(A)).toBe(false);
    expect(sink.pushes).toEqual([]);
    expect(dropped).toEqual([seq]);
    expect(failed).toEqual([]);
  });
});
