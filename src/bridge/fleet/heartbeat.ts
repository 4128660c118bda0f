/**
 * Heartbeats on the fleet's status exchange (fleet/types.ts): encoding, parsing, and reading them for a while
 * (`tpx fleet status`, the owner of a Thing in `thing show`).
 */
import type { Channel } from 'amqplib';
import type { BridgeHeartbeat, FleetNames } from './types.js';

export function encodeHeartbeat(hb: BridgeHeartbeat): Buffer {
  return Buffer.from(JSON.stringify(hb), 'utf8');
}

/**
 * Publishes one heartbeat on the fleet's status exchange (fanout, durable, declared by the bridges), on the caller's
 * channel; expires after a minute in queues nobody reads. Returns the channel's write-buffer answer (false: full).
 */
export function publishHeartbeat(ch: Pick<Channel, 'publish'>, names: FleetNames, hb: BridgeHeartbeat): boolean {
  return ch.publish(names.status, '', encodeHeartbeat(hb), { contentType: 'application/json', expiration: '60000' });
}

/** A heartbeat, or undefined for anything else on the exchange. */
export function parseHeartbeat(content: Buffer | string): BridgeHeartbeat | undefined {
  try {
    const v = JSON.parse(typeof content === 'string' ? content : content.toString('utf8')) as Partial<BridgeHeartbeat>;
    if (!v || typeof v.bridgeId !== 'string' || typeof v.time !== 'string' || !Array.isArray(v.queues))
      return undefined;
    return v as BridgeHeartbeat;
  } catch {
    return undefined;
  }
}

/** The bridge that holds the Thing bound, from a set of heartbeats (the newest per bridge). */
export function fleetOwnerOf(thing: string, heartbeats: Iterable<BridgeHeartbeat>): string | undefined {
  const name = thing.toUpperCase();
  let best: BridgeHeartbeat | undefined;
  for (const hb of heartbeats) {
    if (!hb.bound?.some((b) => b.toUpperCase() === name)) continue;
    if (!best || hb.time > best.time) best = hb;
  }
  return best?.bridgeId;
}

/**
 * Listens to the status exchange for `durationMs` and returns the newest heartbeat of each bridge heard. Opens its
 * own connection (amqplib, loaded here); rejects when the broker cannot be reached.
 */
export async function readHeartbeats(
  url: string,
  names: FleetNames,
  durationMs: number,
): Promise<Map<string, BridgeHeartbeat>> {
  const amqp = await import('amqplib');
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  const seen = new Map<string, BridgeHeartbeat>();
  try {
    const ch = await conn.createChannel();
    await ch.checkExchange(names.status);
    // acked with a prefetch into a short queue: a reader that stalls never throttles the bridges (credit flow)
    const q = await ch.assertQueue('', {
      exclusive: true,
      autoDelete: true,
      arguments: { 'x-max-length': 100, 'x-overflow': 'drop-head' },
    });
    await ch.bindQueue(q.queue, names.status, '');
    await ch.prefetch(20);
    await ch.consume(q.queue, (m) => {
      if (!m) return;
      const hb = parseHeartbeat(m.content);
      if (hb) seen.set(hb.bridgeId, hb);
      ch.ack(m);
    });
    await new Promise((r) => setTimeout(r, durationMs));
  } finally {
    await conn.close().catch(() => undefined);
  }
  return seen;
}
