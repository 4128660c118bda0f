/**
 * The pipe pool: `pipeCount` AlwaysOn connections (1..255, default 1) sharing one app key. Each Thing lives on one
 * pipe, chosen by a stable hash of its name, so its pushes stay in order and its platform requests arrive there.
 * This is the one AlwaysOn API the rest of tpx uses.
 *
 * @example
 * const pool = new AlwaysOnPool({ url: 'https://twx:8443', appKey, ca: readFileSync(caFile), pipeCount: 4 });
 * pool.on('pipe.down', ({ pipe, error }) => log(pipe, error.message));
 * pool.on('bind.rejected', ({ error }) => log(error.message, error.fix));
 * pool.onPropertyWrite(async (thing, property, value) => { if (property === 'downlink') await queue(thing, value); });
 * await pool.start();                      // ConnectError / AuthFailedError
 * await pool.bind(things);                 // BindRejectedError (TPX_BIND_REJECTED) lists refused names
 * await pool.push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 21.5 }, time: Date.now() }]);
 * await pool.close();
 *
 * Push failures are AlwaysOnErrors: `retryable` true for DisconnectedError, RequestTimeoutError, BusyError and
 * platform 5xx answers (send again later), false for refusals (unknown Thing, no permission).
 */
import { EventEmitter } from 'node:events';
import { AlwaysOnClient, type AlwaysOnClientOptions, type ClientState, type PushOptions } from './client.js';
import type { TwValue } from './codec/types.js';
import type { MetadataProvider, PropertyReadHandler, PropertyWriteHandler } from './edge.js';
import {
  type AlwaysOnError,
  AlwaysOnOptionsError,
  BindRejectedError,
  type FailureCause,
  type ProtocolErrorCause,
} from './errors.js';
import type { PropertyValue } from './message-builders.js';
import { pipeFor } from './shard.js';

export interface AlwaysOnPoolOptions extends Omit<AlwaysOnClientOptions, 'label'> {
  /** Number of WebSockets, 1..255 (default 1). */
  pipeCount?: number;
}

export interface BindResult {
  /** Every requested name now bound (including those that already were). */
  bound: string[];
}

export interface PipeStatus {
  pipe: number;
  state: ClientState;
  sessionId: number;
  bound: number;
  inFlight: number;
  queued: number;
}

/** Pool events: the client events (see ClientEvents) with the pipe index added. */
export interface PoolEvents {
  /** A pipe authenticated and bound its Things again: pushes flow on it. */
  'pipe.up': [{ pipe: number; sessionId: number; bound: number }];
  /** A pipe's socket went away; `failed` requests were rejected with DisconnectedError. It reconnects by itself. */
  'pipe.down': [{ pipe: number; error: Error; failed: number; cause: FailureCause }];
  /** A reconnect attempt of a pipe is scheduled in `delayMs` (capped exponential backoff with jitter). */
  reconnect: [{ pipe: number; attempt: number; delayMs: number; error: Error; cause: FailureCause }];
  /** A pipe gave up for good (ThingWorx refused the application key on a reconnect): it is closed. */
  'pipe.failed': [{ pipe: number; error: AlwaysOnError; cause: FailureCause }];
  /** The platform refused to bind Things (on bind(), or when binding them again after a reconnect). */
  'bind.rejected': [{ pipe: number; error: BindRejectedError }];
  /** Things refused when a pipe bound them again after a reconnect: no longer bound until bound again. */
  'rebind.rejected': [{ pipe: number; error: BindRejectedError }];
  /** The platform stayed silent past the deadline: the pipe is dropped and reconnected. */
  'ping.timeout': [{ pipe: number; pongTimeoutMs: number; silentMs: number }];
  /** The platform asked to (re)synchronise a Thing (NotifyPropertyUpdate, SynchronizeModelState): push its values. */
  'thing.sync': [{ pipe: number; thing: string; service: string }];
  /** A platform → edge request was answered with `code` (handler failures carry `error`). */
  'platform.request': [{ pipe: number; method: string; thing: string; name: string; code: string; error?: unknown }];
  /** A frame from the platform was dropped (`cause`: bad_message, text_frame, incomplete_multipart, bad_answer). */
  'protocol.error': [{ pipe: number; error: Error; cause: ProtocolErrorCause }];
  /** Emitted once per code, e.g. TPX_TLS_INSECURE when certificate verification is off. */
  warning: [{ code: string; message: string }];
}

export class AlwaysOnPool extends EventEmitter<PoolEvents> {
  readonly pipeCount: number;
  private readonly pipes: AlwaysOnClient[];
  private readonly warned = new Set<string>();

  constructor(options: AlwaysOnPoolOptions) {
    super();
    const pipeCount = options.pipeCount ?? 1;
    if (!Number.isInteger(pipeCount) || pipeCount < 1 || pipeCount > 255) {
      throw new AlwaysOnOptionsError(
        `Pipe count ${String(pipeCount)} is out of range.`,
        { id: 'setting-range', setting: 'pipeCount', min: 1, max: 255 },
        { setting: 'pipeCount', min: 1, max: 255, got: pipeCount },
      );
    }
    this.pipeCount = pipeCount;
    const { pipeCount: _omit, ...clientOptions } = options;
    this.pipes = Array.from({ length: pipeCount }, (_, pipe) =>
      this.wire(new AlwaysOnClient({ ...clientOptions, label: pipe }), pipe),
    );
  }

  /** Opens every pipe (in parallel). Rejects with the first failure (ConnectError, AuthFailedError) after closing all. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.pipes.map((p) => p.start()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await this.close();
      throw failure.reason;
    }
  }

  /** The pipe (0..pipeCount-1) that carries a Thing. */
  pipeOf(thing: string): number {
    return pipeFor(thing, this.pipeCount);
  }

  /** Whether a Thing is bound (or being bound again after a reconnect). */
  isBound(thing: string): boolean {
    return this.pipes[this.pipeOf(thing)]!.boundThings.has(thing);
  }

  /** Number of Things bound over all pipes. */
  get boundCount(): number {
    let n = 0;
    for (const p of this.pipes) n += p.boundThings.size;
    return n;
  }

  /**
   * Binds Things, each on its pipe. Rejects with BindRejectedError (code TPX_BIND_REJECTED; `names` = refused,
   * `bound` = bound) when the platform refused some; other names are bound all the same. Other failures
   * (DisconnectedError, RequestTimeoutError: retryable) reject as they are.
   */
  async bind(names: readonly string[], options?: PushOptions): Promise<BindResult> {
    const groups = this.group(names);
    const results = await Promise.allSettled(
      groups.map((g, pipe) => (g.length ? this.pipes[pipe]!.bind(g, options) : null)),
    );
    const refused: string[] = [];
    let status: number | null = null;
    let reason: string | null = null;
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (!(r.reason instanceof BindRejectedError)) throw r.reason;
      refused.push(...r.reason.names);
      status = r.reason.status;
      reason = r.reason.reason;
    }
    const bound = names.filter((n) => this.isBound(n));
    if (refused.length > 0) throw new BindRejectedError(refused, bound, status, reason);
    return { bound };
  }

  /** Unbinds Things; they are not bound again after a reconnect. */
  async unbind(names: readonly string[]): Promise<void> {
    const groups = this.group(names);
    await Promise.all(groups.map((g, pipe) => (g.length ? this.pipes[pipe]!.unbind(g) : null)));
  }

  /**
   * Forgets Things without sending UNBIND (another session holds them now): a reconnect does not bind them again,
   * and a later bind() sends a BIND for them.
   */
  forget(names: readonly string[]): void {
    const groups = this.group(names);
    groups.forEach((g, pipe) => {
      if (g.length) this.pipes[pipe]!.forget(g);
    });
  }

  /**
   * Pushes property values of a Thing on its pipe (UpdateSubscribedPropertyValues). Resolves on the platform's
   * acknowledgement; rejects with a typed AlwaysOnError otherwise (`retryable` says whether to try again).
   */
  push(thing: string, values: readonly PropertyValue[], options?: PushOptions): Promise<void> {
    return this.pipes[this.pipeFor(thing)]!.push(thing, values, options);
  }

  /** Handles platform writes of remote properties (e.g. `downlink`). A throw answers the platform with an error. */
  onPropertyWrite(handler: PropertyWriteHandler): void {
    for (const p of this.pipes) p.handlers.propertyWrite = handler;
  }

  /** Handles platform reads of remote properties; return undefined for an unknown property (NOT_FOUND). */
  onPropertyRead(handler: PropertyReadHandler): void {
    for (const p of this.pipes) p.handlers.propertyRead = handler;
  }

  /** Describes Things for GetMetadata (Composer's "Browse" of remote properties). */
  setMetadataProvider(provider: MetadataProvider): void {
    for (const p of this.pipes) p.handlers.metadata = provider;
  }

  /** Writes a property directly (PUT), on the Thing's pipe. */
  writeProperty(thing: string, name: string, value: TwValue): Promise<void> {
    return this.pipes[this.pipeFor(thing)]!.writeProperty(thing, name, value);
  }

  /** True when at least one pipe is ready (cheaper than status(): asked before every push). */
  get connected(): boolean {
    for (const p of this.pipes) if (p.state === 'ready') return true;
    return false;
  }

  /** Pipes up (ready) of all, and the Things bound on the pipes that are not (bound again when they come back). */
  health(): { count: number; up: number; boundOnDown: number } {
    let up = 0;
    let boundOnDown = 0;
    for (const p of this.pipes) {
      if (p.state === 'ready') up += 1;
      else boundOnDown += p.boundThings.size;
    }
    return { count: this.pipes.length, up, boundOnDown };
  }

  /** One line per pipe: state, session, bound Things, requests in flight and queued. */
  status(): PipeStatus[] {
    return this.pipes.map((p, pipe) => ({
      pipe,
      state: p.state,
      sessionId: p.session,
      bound: p.boundThings.size,
      inFlight: p.load.inFlight,
      queued: p.load.queued,
    }));
  }

  /** The client behind one pipe (for diagnostics and tests). */
  pipe(index: number): AlwaysOnClient {
    const p = this.pipes[index];
    if (!p) throw new RangeError(`no pipe ${index}`);
    return p;
  }

  /**
   * Closes every pipe (UNBIND, then WebSocket close); pending and queued requests fail with ClientClosedError.
   * `now`: without waiting for the platform (no UNBIND, sockets destroyed).
   */
  async close(options: { now?: boolean } = {}): Promise<void> {
    await Promise.all(this.pipes.map((p) => p.close(options)));
  }

  private pipeFor(thing: string): number {
    return pipeFor(thing, this.pipeCount);
  }

  private group(names: readonly string[]): string[][] {
    const groups: string[][] = Array.from({ length: this.pipeCount }, () => []);
    for (const n of names) groups[this.pipeFor(n)]!.push(n);
    return groups;
  }

  private wire(client: AlwaysOnClient, pipe: number): AlwaysOnClient {
    client.on('up', (e) => this.emit('pipe.up', { pipe, ...e }));
    client.on('down', (e) => this.emit('pipe.down', { pipe, ...e }));
    client.on('reconnect', (e) => this.emit('reconnect', { pipe, ...e }));
    client.on('failed', (e) => this.emit('pipe.failed', { pipe, ...e }));
    client.on('bind.rejected', (error) => this.emit('bind.rejected', { pipe, error }));
    client.on('rebind.rejected', (error) => this.emit('rebind.rejected', { pipe, error }));
    client.on('ping.timeout', (e) => this.emit('ping.timeout', { pipe, ...e }));
    client.on('thing.sync', (e) => this.emit('thing.sync', { pipe, ...e }));
    client.on('platform.request', (e) => this.emit('platform.request', { pipe, ...e }));
    client.on('protocol.error', (e) => this.emit('protocol.error', { pipe, ...e }));
    client.on('warning', (e) => {
      if (this.warned.has(e.code)) return;
      this.warned.add(e.code);
      this.emit('warning', e);
    });
    return client;
  }
}
