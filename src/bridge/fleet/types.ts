/**
 * The fleet's names and messages, shared by the bridges (fleet queue, ownership) and `tpx fleet status`.
 * A fleet is several bridges on one RabbitMQ virtual host: ingest publishes each uplink to a consistent-hash
 * exchange keyed by DevEUI, which feeds `queues` quorum queues declared with single active consumer.
 */

/** Defaults of the fleet settings (config/keys.ts: queue, fleetQueues, fleetPrefix, bridgeId). */
export const FLEET_DEFAULTS = { queues: 16, prefix: 'tpx', heartbeatMs: 2_000 } as const;

export interface FleetNames {
  /** x-consistent-hash exchange the ingests (or ThingPark's own AMQP connector) publish uplinks to. */
  readonly uplinks: string;
  /** Fanout exchange every bridge publishes its heartbeat to. */
  readonly status: string;
  /** Queue of the reports that failed for good (the reason in a header). */
  readonly dead: string;
  /** Queue i of the fleet (0-based). */
  queue(i: number): string;
}

export function fleetNames(prefix: string = FLEET_DEFAULTS.prefix): FleetNames {
  return {
    uplinks: `${prefix}.uplinks`,
    status: `${prefix}.status`,
    dead: `${prefix}.dead`,
    queue: (i) => `${prefix}.q.${String(i).padStart(3, '0')}`,
  };
}

/** What a bridge tells the fleet every heartbeat (JSON on the status exchange). */
export interface BridgeHeartbeat {
  readonly bridgeId: string;
  /** ISO 8601 time the heartbeat was sent. */
  readonly time: string;
  /** Queues this bridge is the active consumer of (names). */
  readonly queues: readonly string[];
  /** Things this bridge holds bound. */
  readonly things: number;
  /** Uplinks taken from the queues and not yet acknowledged (pushed to ThingWorx). */
  readonly inFlight: number;
  readonly ready: boolean;
  /** Where the bridge's /readyz and /metrics answer, when it listens (http://host:port). */
  readonly url?: string;
  readonly pid?: number;
  /** Things this bridge holds bound (names), so that `thing show` can name a Thing's owner (fleetOwnerOf). */
  readonly bound?: readonly string[];
}
