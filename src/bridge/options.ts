/** The bridge's options, defaults and statistics. */

import { DEFAULT_TEMPLATE_NAME } from '../thingworx/template-name.js';
import type { BridgeEvents } from './events.js';
import type { FleetStatus } from './fleet/queue.js';
import type { DownlinkSender, PayloadDecoder, ReportCodec, ThingDirectory, ThingWorxSink } from './ports.js';
import type { QueueHealth } from './queue.js';
import type { SpoolOptions } from './spool.js';

export interface BridgeOptions {
  /** HOST:PORT; default 127.0.0.1:8080 (port 0 picks a free port). */
  listen?: string;
  /** Serve the ingest over HTTPS (TLS 1.2+) with this certificate and key (PEM contents). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Ingest path; default /uplink. */
  path?: string;
  spoolDir: string;
  asId?: string;
  asKey?: string;
  /** Token verification; default true (needs asKey). */
  verifyTokens?: boolean;
  /** Largest accepted |now - Time| in ms; 0 turns the check off. Default 5 minutes. */
  maxTimeSkewMs?: number;
  /** Default 64 KiB. */
  maxBodyBytes?: number;
  /** Default 10000. */
  maxDevices?: number;
  /** Reports kept waiting before ingest answers 503. Default 100000. */
  maxSpool?: number;
  /** (DevEUI, FCntUp) repeat window. Default 10 minutes; 0 turns dedup off. */
  dedupWindowMs?: number;
  /** Thing Template of new Things. */
  template: string;
  /** 'full' (default): every group commit is synced to disk; 'normal': survives a process crash, not a power cut. */
  durability?: 'full' | 'normal';
  /**
   * Where the spool's one writer commits: 'worker' (the writer thread: an fsync does not stop the event loop) or
   * 'inline' (cheaper per commit). Default: 'worker' with durability 'full', 'inline' with 'normal'.
   */
  spoolWriter?: 'worker' | 'inline';
  /**
   * The spool's gather window, ms: under a steady load, a group commit asked for within this long after the previous
   * one waits out the rest of it while an ingest connection could still send a report (fewer fsyncs and thread
   * hand-offs per report; about a third less CPU per uplink at 1,000–3,000/s). A report after a quiet spell, or when
   * every connection waits for its answer, is committed at once. Default 4; 0 turns it off.
   */
  spoolGatherMs?: number;
  /** Spool storage tuning and test faults (reserve, WAL limit, max_page_count, free-space probe). */
  spool?: Omit<SpoolOptions, 'durability' | 'maxDepth' | 'writer'>;
  /** Open ingest connections at most; further connections are refused (and reported). Default 512 (under a 1,024 open-file limit, with room for the pipes and the spool). */
  maxConnections?: number;
  /** How long an idle keep-alive ingest connection stays open. Default 5 s. */
  keepAliveMs?: number;
  /** How long stop() waits for delivery. Default 10 s. */
  drainTimeoutMs?: number;
  maxInFlight?: number;
  /** How often dead letters replayed by another process are picked up. Default 1 s. */
  replayPollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How often Things refused on a re-bind after a reconnect are bound again. Default 30 s. */
  rebindRetryMs?: number;
  /**
   * Repeats of a protocol error or reconnect (same pipe, same cause), or of a push failure (same cause), within this
   * window make one log line. 10 s.
   */
  repeatWindowMs?: number;
  /** How often the bridge verifies it still holds its Things (a takeover by another session). Default 10 s; 0 = off. */
  bindCheckMs?: number;
  /** Take Things another session holds, once, deliberately (Last in wins), instead of waiting for their release. */
  takeOver?: boolean;
  /**
   * Who holds Things another session took (a short description: its session, key, address), when the caller can
   * tell (listing sessions needs an administrator's key): `things.taken` carries it as `holder` when it answers
   * within `holderWaitMs` (default 3 s).
   */
  holderOf?: (names: string[]) => Promise<string | undefined>;
  holderWaitMs?: number;
  sink: ThingWorxSink;
  directory: ThingDirectory;
  downlinks?: DownlinkSender;
  codec?: ReportCodec;
  events?: BridgeEvents;
  /** Payload drivers (src/drivers): decoded values on uplinks, JSON downlinks encoded. */
  decoder?: PayloadDecoder;
  /** Several bridges, one fleet: a RabbitMQ queue replaces the SQLite spool (fleet/queue.ts). */
  fleet?: FleetOptions;
}

/** The fleet queue's settings (the names and defaults: fleet/types.ts). */
export interface FleetOptions {
  /** amqp://user:pass@host:5672/vhost */
  url: string;
  /** Queues of the fleet (fixed per fleet). */
  queues: number;
  prefix: string;
  bridgeId: string;
  /** Status heartbeat period; the AMQP heartbeat (rounded up to whole seconds) and the lease follow it. Default 2 s. */
  heartbeatMs?: number;
  /** Unacknowledged reports per queue held by this bridge. Default 32. */
  prefetch?: number;
}

export interface BridgeStats {
  ready: boolean;
  connected: boolean;
  /** AlwaysOn pipes up, of all: with one down, its Things are not bound until it is back. */
  pipes: { up: number; count: number };
  things: number;
  /** Things bound on a live AlwaysOn session (a pipe that is down holds none: they are bound again when it is back). */
  bound: number;
  /** Things not bound to this bridge: lost on a reconnect, taken by another session or refused. */
  unbound: number;
  /** Things another session bound after this bridge (Last in wins). */
  taken: number;
  /** Things ThingWorx refused to bind (First in wins: another session holds them). */
  refused: number;
  spoolDepth: number;
  /** The spool's health: writable or not (and why), free bytes of its disk. */
  storage: QueueHealth;
  devicesWaiting: number;
  inFlight: number;
  /** The fleet queue's view (with a fleet queue): owned queues, members. */
  fleet?: FleetStatus;
}

export const BRIDGE_DEFAULTS = {
  listen: '127.0.0.1:8080',
  path: '/uplink',
  maxTimeSkewMs: 5 * 60_000,
  bindCheckMs: 10_000,
  maxBodyBytes: 64 * 1024,
  maxDevices: 10_000,
  maxSpool: 100_000,
  dedupWindowMs: 10 * 60_000,
  spoolGatherMs: 4,
  drainTimeoutMs: 10_000,
  repeatWindowMs: 10_000,
  maxConnections: 512,
  keepAliveMs: 5_000,
  template: DEFAULT_TEMPLATE_NAME,
} as const;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim()) ?? /^()()(\d{1,5})$/.exec(listen.trim());
  if (!m || Number(m[3]) > 65535) throw new Error(`"${listen}" is not HOST:PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port: Number(m[3]) };
}
