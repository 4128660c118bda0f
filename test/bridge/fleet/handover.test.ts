/**
 * The fleet queue's hand-over (issue 18) against the RabbitMQ at 127.0.0.1:5672, on a fleet of a random prefix
 * deleted afterwards: what a bridge hands out of a queue it is handing over. Skipped, saying so, without a broker.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeEvents } from '../../../src/bridge/events.js';
import { FleetQueue } from '../../../src/bridge/fleet/queue.js';
import { fleetNames } from '../../../src/bridge/fleet/types.js';
import { brokerAnswers, NO_BROKER } from '../../helpers/broker.js';

const BROKER = 'amqp://guest:guest@127.0.0.1:5672';
const hasBroker = await brokerAnswers();

describe.skipIf(!hasBroker)(`fleet queue hand-over${hasBroker ? '' : ` (${NO_BROKER})`}`, () => {
  const prefix = `tpxtest-ho-${randomBytes(4).toString('hex')}`;
  const names = fleetNames(prefix);
  let q: FleetQueue | undefined;

  afterAll(async () => {
    await q?.close();
    const amqp = await import('amqplib');
    const c = await amqp.connect(BROKER);
    const ch = await c.createChannel();
    await ch.deleteQueue(names.queue(0));
    await ch.deleteQueue(names.dead);
    await ch.deleteExchange(names.uplinks);
    await ch.deleteExchange(names.status);
    await c.close();
  });

  it('hands out nothing of a queue it is handing over: a take that waited for a dedup seed across the release gets nothing', async () => {
    const doc = (dev: string) => JSON.stringify({ dev, fcnt: 1, payload: '00' });
    // Two reports given once to another consumer that went away without acknowledging them: the broker gives them
    // again, marked redelivered, so that taking each reads its device's dedup seed first.
    const amqp = await import('amqplib');
    const c = await amqp.connect(BROKER);
    const ch = await c.createChannel();
    await ch.assertQueue(names.queue(0), {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
    });
    for (const dev of ['AA', 'BB']) ch.sendToQueue(names.queue(0), Buffer.from(doc(dev)), { persistent: true });
    await new Promise<void>((resolve) => {
      let n = 0;
      void ch.consume(names.queue(0), () => {
        if (++n === 2) resolve();
      });
    });
    await c.close();

    // the seed of BB answers when the test says so (AA's at once)
    let answerSeedOfBB: (() => void) | undefined;
    let seedOfBBAsked: () => void = () => undefined;
    const bbAsked = new Promise<void>((r) => {
      seedOfBBAsked = r;
    });
    const lastUplink = (thing: string) =>
      new Promise<undefined>((resolve) => {
        if (thing !== 'BB') return resolve(undefined);
        answerSeedOfBB = () => resolve(undefined);
        seedOfBBAsked();
      });
    const events = new BridgeEvents();
    let released: string[] = [];
    let duringRelease: (() => Promise<void>) | undefined;
    q = new FleetQueue({
      url: BROKER,
      queues: 1,
      prefix,
      bridgeId: 'a',
      heartbeatMs: 1000,
      events,
      facts: (d) => {
        const r = JSON.parse(d) as { dev: string; fcnt: number; payload: string };
        return { devEui: r.dev, kind: 'uplink', fcnt: r.fcnt, payload: r.payload };
      },
      lastUplink,
      release: async (things) => {
        released = [...things];
        await duringRelease?.();
      },
    });
    const fleet = q;
    const both = new Promise<void>((resolve) => {
      fleet.onAvailable(() => {
        if (fleet.depth() === 2) resolve();
      });
    });
    fleet.start();
    await both;

    // AA is taken and delivered: the queue holds a Thing
    const [aa] = await fleet.take(1);
    expect(aa?.devEui).toBe('AA');
    await fleet.ack(aa!.seq);
    // BB's take waits for its seed while the queue is handed over (a rebalance, a clean stop)
    const taking = fleet.take(1);
    await bbAsked;
    let handedDuringRelease: Awaited<typeof taking> | undefined;
    let gateDuringRelease: string | undefined;
    duringRelease = async () => {
      answerSeedOfBB!();
      handedDuringRelease = await taking;
      const bb = handedDuringRelease[0];
      if (bb) gateDuringRelease = fleet.mayDeliver(bb.seq);
    };
    await fleet.releaseAll(1000);
    expect(released).toEqual(['AA']);
    // nothing of the queue was handed out while its Things were being unbound: BB goes back to the broker, for the
    // queue's next owner (here, it would have been bound and pushed by a bridge that no longer owns the queue)
    expect({ handed: handedDuringRelease?.map((r) => r.devEui), gate: gateDuringRelease }).toEqual({
      handed: [],
      gate: undefined,
    });
  }, 20_000);
});
