/**
 * The bridge's typed events. Everything the bridge does is reported here; logs, metrics, the live status line
 * and the sandbox's table are listeners of the same events (architecture.md).
 */
import { EventEmitter } from 'node:events';

export type ReportKind = 'uplink' | 'notification' | 'downlink_sent' | 'location';

/** Why ingest refused a request (HTTP 4xx/5xx), stable strings used in logs, metrics and JSON answers. */
export type RejectReason =
  | 'bad_json'
  | 'bad_document'
  | 'bad_token'
  | 'missing_token'
  | 'stale_time'
  | 'bad_hex'
  | 'too_large'
  | 'content_type'
  | 'method'
  | 'not_found'
  | 'too_deep'
  | 'spool_full'
  | 'spool_unwritable'
  | 'stopping';

/** A platform -> edge request (property write or read, service) answered with `code` (SUCCESS, BAD_REQUEST…). */
export interface PlatformRequest {
  pipe?: number;
  method: string;
  thing: string;
  name: string;
  code: string;
  error?: string;
}

export interface BridgeEventMap {
  'bridge.listening': { url: string; path: string };
  /** `things`: bound; `expected`: the bridge's Things (fewer bound: /readyz answers 503). */
  'bridge.ready': { things: number; pipes: number; expected?: number };
  'bridge.stopping': { pending: number };
  /** `connected`: whether ThingWorx was ever connected during this run (absent: not known). */
  'bridge.stopped': { pending: number; drained: boolean; connected?: boolean; ready?: boolean };
  'uplink.received': { kind: ReportKind | 'unknown'; devEui?: string };
  'uplink.accepted': { seq: number; kind: ReportKind; devEui: string; fcnt?: number; spoolDepth: number };
  'uplink.duplicate': { kind: ReportKind; devEui: string; fcnt?: number };
  /** One refused request (every one is counted; the log says them as uplink.rejecting). */
  'uplink.rejected': { reason: RejectReason; status: number; message: string; devEui?: string };
  /**
   * Requests refused with one `status` and `reason`: the first at once (`count` 1), the repeats of a `windowMs` window
   * in one event at its end with their `count`, the last `message` and the last `devEui`.
   */
  'uplink.rejecting': {
    reason: RejectReason;
    status: number;
    message: string;
    devEui?: string;
    count: number;
    windowMs: number;
    /** The repeats of a window (not the first at once), whatever their count. */
    folded?: boolean;
  };
  /**
   * Requests found the spool full: the first at once (`count` 1), the repeats of a `windowMs` window in one event at
   * its end with their `count` (each refused request is also an uplink.rejected, said by uplink.rejecting).
   */
  'spool.full': { depth: number; max: number; count: number; windowMs?: number; folded?: boolean };
  /** The spool cannot store reports (e.g. a full disk): ingest answers 503, /readyz is not ready. */
  'spool.unwritable': { reason: string; freeBytes?: number };
  /** The spool can store reports again. */
  'spool.writable': { freeBytes?: number };
  /**
   * The ingest refused connections: `max` connections are open (BridgeOptions.maxConnections). The first at once
   * (`count` 1), the repeats of a `windowMs` window in one event at its end with their `count`.
   */
  'ingest.capped': { max: number; count: number; windowMs: number; folded?: boolean };
  'things.listed': { count: number; pages: number };
  'things.bound': { count: number };
  /** Things ThingWorx refused to bind again after a reconnect (a ghost session under "First in wins"). */
  'things.unbound': { count: number; names: string[]; reason: string; retryInMs: number };
  /** Things bound again by the retry; `remaining` still refused. */
  'things.rebound': { count: number; remaining: number };
  /**
   * Another session bound Things this bridge held (Last in wins): found by the bind check. `sample`: at most 5
   * names; `holder`: the other session when known. The bridge does not take them back while it holds them.
   */
  'things.taken': { count: number; sample: string[]; holder?: string };
  /** ThingWorx refused to bind Things (First in wins: another session holds them); `sample`: at most 5 names. */
  'things.refused': { count: number; sample: string[]; reason: string };
  /** Things taken or refused before are bound again: their holder let them go. */
  'things.recovered': { count: number; sample: string[] };
  /** Things held by another session taken deliberately, once (the take-over option). */
  'things.took_over': { count: number; sample: string[] };
  'thing.created': { thing: string; template: string };
  'thing.refused': { thing: string; reason: string };
  'push.acked': { seq: number; thing: string; kind: ReportKind; latencyMs: number };
  /** One failed push, retried in `retryInMs` (every one is counted; the log says them as push.failing). */
  'push.failed': { seq: number; thing: string; error: string; attempt: number; retryInMs: number };
  /**
   * Pushes failing for one `cause` (push-failures.ts: the sink's cause code such as request_timeout, else the error's
   * code, else its message without the Thing's name and numbers): the first at once (`count` 1), the repeats of a
   * `windowMs` window in one event at its end with their `count`, the number of distinct `things`, the last one
   * (`thing`), the last `error` and the last `retryInMs`. `outage`: every one failed while a pipe was down for this
   * cause (pipe.down said it: the log line is info, not a second warning).
   */
  'push.failing': {
    cause: string;
    error: string;
    count: number;
    things: number;
    thing: string;
    retryInMs: number;
    windowMs: number;
    outage?: boolean;
    /** The repeats of a window (not the first at once), whatever their count. */
    folded?: boolean;
  };
  /**
   * A push the stop cut short or gave up on at its limit (`error`: what the cut-short call said, when it came back):
   * not a failure of ThingWorx, not retried in this run; the report stays in the spool for the next start.
   */
  'push.abandoned': { seq: number; thing: string; error?: string };
  'dead.letter': { seq: number; devEui: string; kind: ReportKind; reason: string };
  'dead.replayed': { count: number };
  'downlink.received': { thing: string };
  'downlink.invalid': { thing: string; reason: string };
  'downlink.sent': {
    thing: string;
    fport: number;
    correlationId: string;
    result: 'queued' | 'rejected';
    reason?: string;
  };
  'downlink.failed': { thing: string; error: string };
  /**
   * A downlink whose ThingPark call the stop aborted at its limit: not a failure, not retried; ThingPark may or may
   * not have queued it (its downlinkStatus says `abandoned`).
   */
  'downlink.abandoned': { thing: string; fport: number; correlationId: string };
  'downlink.report': { thing: string; correlationId?: string; delivered: boolean };
  /**
   * An AlwaysOn pipe was lost; `cause` is a stable code (auth_timeout, ping_timeout, closed_by_platform…).
   * `pipesDown`: other pipes already down for the same cause (the first one's line was the warning).
   */
  'pipe.down': { pipe?: number; error?: string; cause?: string; pipesDown?: number };
  'pipe.up': { pipe?: number };
  /**
   * A reconnect of a pipe is scheduled in `delayMs` because of `cause`/`error`. Repeats of the same cause on a pipe
   * within a window are reported once at its end, `count` attempts in all.
   */
  'sink.reconnect': {
    pipe?: number;
    attempt?: number;
    delayMs?: number;
    cause?: string;
    error?: string;
    count?: number;
  };
  /**
   * Frames from ThingWorx dropped (`cause`: bad_message, text_frame, incomplete_multipart, bad_answer): the first at
   * once, the repeats of a window in one event with their `count`.
   */
  'protocol.error': { pipe?: number; cause: string; error: string; count: number; folded?: boolean };
  /** ThingWorx said nothing (no frame, no pong) for `silentMs` >= `deadlineMs`: the pipe is dropped and reconnected. */
  'ping.timeout': { pipe?: number; silentMs: number; deadlineMs: number };
  /** ThingWorx asked to synchronise a Thing (NotifyPropertyUpdate, SynchronizeModelState). */
  'thing.sync': { pipe?: number; thing: string; service: string };
  /** ThingWorx sent the edge a request (property write or read, service) and it was answered with `code`. */
  'platform.request': PlatformRequest;
  /** ThingWorx refused to bind Things (each is also reported as thing.refused or things.unbound). */
  'bind.rejected': { pipe?: number; count: number; names: string[]; reason: string };
  /** Something about the ThingWorx connection the operator should know (e.g. TPX_TLS_INSECURE). */
  'sink.warning': { code: string; message: string };
  /**
   * The bridge gave up: a failure waiting cannot cure (`code` TPX_AUTH_FAILED: ThingWorx refused the application
   * key). Reports already accepted stay in the spool; the owner stops the bridge (the CLI exits 1).
   */
  'bridge.failed': { where: string; code: string; cause: string; error: string };
  /**
   * `cause`: for where 'thingworx', the failure's stable cause code (as in sink.reconnect). The first connection's
   * failed attempts of one cause within a window are one event at its end, `count` attempts in all.
   */
  error: { where: string; error: string; cause?: string; count?: number };
  /** Fleet queue (fleet/queue.ts): connected to the broker, topology declared, lease held. */
  'fleet.connected': { bridgeId: string; queues: number };
  /** The broker connection is gone: nothing more is pushed for what it held, its Things are released. */
  'fleet.fenced': { reason: string; queues: number; things: number };
  /** This bridge became the active consumer of a queue (its first delivery). */
  'fleet.acquired': { queue: string };
  /** This bridge handed a queue back (rebalance, stop) or lost it; its Things were unbound. */
  'fleet.released': { queue: string; reason: string; things: number };
  /** A redelivered report already pushed (DevEUI, FCntUp, payload): acked without a push. */
  'fleet.duplicate': { devEui: string; fcnt: number; queue: string };
  /** A report of a queue this bridge no longer owns was dropped before its push (the new owner delivers it). */
  'push.fenced': { seq: number; thing: string };
}

export type BridgeEventName = keyof BridgeEventMap;

/** A typed EventEmitter; every event is also re-emitted as '*' with (name, payload) for generic listeners. */
export class BridgeEvents {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(100);
  }

  on<K extends BridgeEventName>(name: K, fn: (payload: BridgeEventMap[K]) => void): this {
    this.ee.on(name, fn as (p: unknown) => void);
    return this;
  }

  off<K extends BridgeEventName>(name: K, fn: (payload: BridgeEventMap[K]) => void): this {
    this.ee.off(name, fn as (p: unknown) => void);
    return this;
  }

  once<K extends BridgeEventName>(name: K, fn: (payload: BridgeEventMap[K]) => void): this {
    this.ee.once(name, fn as (p: unknown) => void);
    return this;
  }

  /** Every event: fn(name, payload). */
  onAny(fn: <K extends BridgeEventName>(name: K, payload: BridgeEventMap[K]) => void): this {
    this.ee.on('*', fn as (n: string, p: unknown) => void);
    return this;
  }

  offAny(fn: <K extends BridgeEventName>(name: K, payload: BridgeEventMap[K]) => void): this {
    this.ee.off('*', fn as (n: string, p: unknown) => void);
    return this;
  }

  emit<K extends BridgeEventName>(name: K, payload: BridgeEventMap[K]): void {
    // 'error' without a listener would throw in EventEmitter: route it through '*' only when nobody listens.
    if (name !== 'error' || this.ee.listenerCount('error') > 0) this.ee.emit(name, payload);
    this.ee.emit('*', name, payload);
  }

  /** Resolves on the next event of that name matching `filter`. */
  waitFor<K extends BridgeEventName>(
    name: K,
    filter: (p: BridgeEventMap[K]) => boolean = () => true,
  ): Promise<BridgeEventMap[K]> {
    return new Promise((resolve) => {
      const fn = (p: BridgeEventMap[K]) => {
        if (!filter(p)) return;
        this.off(name, fn);
        resolve(p);
      };
      this.on(name, fn);
    });
  }
}
