/**
 * Adapters from the bridge's ports to the real modules: the AlwaysOn pipe pool (ThingWorxSink), the ThingWorx
 * REST client (ThingDirectory) and the ThingPark tunnel downlink (DownlinkSender).
 */
import type { Dispatcher } from 'undici';
import {
  type AlwaysOnPool,
  BindRejectedError,
  ClientClosedError,
  EdgeStatusError,
  failureCause,
} from '../alwayson/index.js';
import { plainWords, TpxError } from '../errors.js';
import { sendDownlink } from '../thingpark/downlink.js';
import { ThingWorxError } from '../thingworx/errors.js';
import type { ThingWorxRest } from '../thingworx/rest.js';
import { DownlinkWriteError } from './downlinks.js';
import {
  type CallOptions,
  type DownlinkRequest,
  type DownlinkResult,
  type DownlinkSender,
  PermanentError,
  type PipesHealth,
  type PropertyUpdate,
  type PropertyWrite,
  type SinkPushOptions,
  type SinkStatus,
  type ThingConnection,
  type ThingDirectory,
  type ThingWorxSink,
} from './ports.js';

/**
 * The pool as a ThingWorxSink. A pool that failed to start is closed for good, so start() builds a new one from
 * the factory on every attempt and wires the handlers again.
 */
export class PoolSink implements ThingWorxSink {
  private pool: AlwaysOnPool | undefined;
  private started = false;
  /** Closed by its owner: never started again (a connect loop that was on its way gets ClientClosedError). */
  private closed = false;
  private writeHandler: ((w: PropertyWrite) => Promise<void>) | undefined;
  private statusHandler: ((s: SinkStatus) => void) | undefined;
  readonly pipeCount: number;

  constructor(private readonly factory: () => AlwaysOnPool) {
    const probe = factory();
    this.pipeCount = probe.pipeCount;
    this.pool = probe;
    this.wire(probe);
  }

  private wire(pool: AlwaysOnPool): void {
    // Every pool event reaches the bridge (PoolEvents): each is logged with its cause and counted.
    const say = (s: SinkStatus) => this.statusHandler?.(s);
    pool.on('pipe.up', (e) => say({ type: 'up', pipe: e.pipe }));
    pool.on('pipe.down', (e) => say({ type: 'down', pipe: e.pipe, error: e.error.message, cause: e.cause }));
    pool.on('reconnect', (e) =>
      say({
        type: 'reconnect',
        pipe: e.pipe,
        error: e.error.message,
        cause: e.cause,
        attempt: e.attempt,
        delayMs: e.delayMs,
      }),
    );
    pool.on('pipe.failed', (e) => say({ type: 'failed', pipe: e.pipe, error: e.error, cause: e.cause }));
    pool.on('rebind.rejected', (e) =>
      say({ type: 'unbound', pipe: e.pipe, names: e.error.names, error: e.error.message }),
    );
    pool.on('bind.rejected', (e) =>
      say({ type: 'bind.rejected', pipe: e.pipe, names: e.error.names, error: e.error.message }),
    );
    pool.on('protocol.error', (e) =>
      say({ type: 'protocol.error', pipe: e.pipe, cause: e.cause, error: e.error.message }),
    );
    pool.on('ping.timeout', (e) =>
      say({ type: 'ping.timeout', pipe: e.pipe, silentMs: e.silentMs, deadlineMs: e.pongTimeoutMs }),
    );
    pool.on('thing.sync', (e) => say({ type: 'thing.sync', pipe: e.pipe, thing: e.thing, service: e.service }));
    pool.on('platform.request', (e) =>
      say({
        type: 'platform.request',
        pipe: e.pipe,
        method: e.method,
        thing: e.thing,
        name: e.name,
        code: e.code,
        ...(e.error === undefined ? {} : { error: e.error instanceof Error ? e.error.message : String(e.error) }),
      }),
    );
    pool.on('warning', (e) => say({ type: 'warning', code: e.code, message: e.message }));
    pool.onPropertyWrite(async (thing, property, value) => {
      if (!this.writeHandler) throw new EdgeStatusError('NOT_FOUND', 'the bridge takes no writes yet');
      try {
        await this.writeHandler({ thing, property, value });
      } catch (err) {
        if (err instanceof DownlinkWriteError) throw new EdgeStatusError('BAD_REQUEST', err.message);
        throw err;
      }
    });
  }

  async start(): Promise<void> {
    if (this.closed) throw new ClientClosedError();
    if (this.started && this.pool) return;
    if (!this.pool) {
      this.pool = this.factory();
      this.wire(this.pool);
    }
    try {
      await this.pool.start();
      this.started = true;
    } catch (err) {
      this.pool = undefined;
      throw err;
    }
  }

  private get live(): AlwaysOnPool {
    if (!this.pool) throw new Error('ThingWorx is not connected');
    return this.pool;
  }

  async bind(
    names: string[],
    options?: SinkPushOptions,
  ): Promise<{ refused: string[]; reason?: string; status?: number | null }> {
    try {
      await this.live.bind(names, options);
      return { refused: [] };
    } catch (err) {
      if (err instanceof BindRejectedError) return { refused: err.names, reason: err.message, status: err.status };
      throw err;
    }
  }

  async unbind(names: string[]): Promise<void> {
    await this.live.unbind(names);
  }

  forget(names: string[]): void {
    this.pool?.forget(names);
  }

  push(thing: string, values: PropertyUpdate[], options?: SinkPushOptions): Promise<void> {
    return this.live.push(thing, values, options);
  }

  onPropertyWrite(handler: (w: PropertyWrite) => Promise<void>): void {
    this.writeHandler = handler;
  }

  onStatus(handler: (s: SinkStatus) => void): void {
    this.statusHandler = handler;
  }

  isConnected(): boolean {
    return this.pool?.connected ?? false;
  }

  pipes(): PipesHealth {
    return this.pool?.health() ?? { count: this.pipeCount, up: 0, boundOnDown: 0 };
  }

  causeOf(error: unknown): string {
    return failureCause(error);
  }

  async close(options: { now?: boolean } = {}): Promise<void> {
    this.closed = true;
    await this.pool?.close(options);
  }
}

const PERMANENT_TWX = new Set([
  'TPX_TWX_UNAUTHORIZED',
  'TPX_TWX_SERVICE_DENIED',
  'TPX_TWX_DESIGN_TIME_DENIED',
  'TPX_TWX_NO_VISIBILITY',
  'TPX_TWX_NOT_FOUND',
  'TPX_TWX_SERVICE_FAILED',
]);

/**
 * ThingWorx REST as a ThingDirectory: QueryImplementingThingsOptimized in pages, CreateThing/Enable/Restart.
 * Listing asks for `pageConcurrency` pages at a time (offsets k..k+n-1 pages), until a page comes back short: 100,000
 * Things are 100 pages of 1,000, and one at a time their round trips add up (see bench/README.md).
 */
export class RestDirectory implements ThingDirectory {
  constructor(
    private readonly rest: ThingWorxRest,
    private readonly pageSize = 1000,
    private readonly pageConcurrency = 4,
  ) {}

  async list(template: string, options: CallOptions = {}): Promise<{ names: string[]; pages: number }> {
    const names: string[] = [];
    let pages = 0;
    const page = (offset: number) =>
      this.rest
        .service(
          `ThingTemplates/${template}`,
          'QueryImplementingThingsOptimized',
          { maxItems: this.pageSize, offset },
          { idempotent: true, signal: options.signal },
        )
        .catch((err: unknown) => {
          if (err instanceof ThingWorxError && err.code === 'TPX_TWX_NOT_FOUND') {
            throw new TpxError('TPX_TEMPLATE_MISSING', `The Thing Template ${template} does not exist in ThingWorx.`, {
              fix: { id: 'bridge-template-missing' },
              details: { setting: 'template', template },
              cause: err,
            });
          }
          throw err;
        });
    const window = Math.max(1, this.pageConcurrency);
    for (let first = 0; ; first += window) {
      const batch = await Promise.all(Array.from({ length: window }, (_, k) => page((first + k) * this.pageSize)));
      let short = false;
      for (const it of batch) {
        if (short) break;
        pages += 1;
        for (const r of it.rows) if (typeof r.name === 'string' && r.name) names.push(r.name);
        short = it.rows.length < this.pageSize;
      }
      if (short) break;
    }
    return { names, pages };
  }

  async close(options: { now?: boolean } = {}): Promise<void> {
    await this.rest.close(options);
  }

  /** isConnected and lastConnection of every Thing of the template, in pages (one call per page). */
  async connections(template: string, options: CallOptions = {}): Promise<Map<string, ThingConnection>> {
    const out = new Map<string, ThingConnection>();
    const propertyNames = {
      dataShape: { fieldDefinitions: { name: { name: 'name', baseType: 'STRING' } } },
      rows: [{ name: 'isConnected' }, { name: 'lastConnection' }],
    };
    for (let offset = 0; ; offset += this.pageSize) {
      const it = await this.rest.service(
        `ThingTemplates/${template}`,
        'QueryImplementingThingsOptimized',
        { maxItems: this.pageSize, offset, propertyNames },
        { idempotent: true, signal: options.signal },
      );
      for (const r of it.rows) {
        if (typeof r.name !== 'string' || !('isConnected' in r)) continue;
        out.set(r.name, { connected: r.isConnected === true, lastConnection: epochMs(r.lastConnection) });
      }
      if (it.rows.length < this.pageSize) break;
    }
    return out;
  }

  /** Each Thing's properties read on its own (GET Things/<name>/Properties), 4 at a time. */
  async connectionsOf(names: readonly string[], options: CallOptions = {}): Promise<Map<string, ThingConnection>> {
    const out = new Map<string, ThingConnection>();
    let next = 0;
    const lane = async () => {
      while (next < names.length && !options.signal?.aborted) {
        const name = names[next++]!;
        const row = await this.rest.getProperties(name, { signal: options.signal }).catch(() => undefined);
        if (!row || !('isConnected' in row)) continue;
        out.set(name, { connected: row.isConnected === true, lastConnection: epochMs(row.lastConnection) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, names.length) }, lane));
    return out;
  }

  properties(name: string): Promise<Record<string, unknown>> {
    return this.rest.getProperties(name);
  }

  async create(name: string, template: string, options: CallOptions = {}): Promise<'created' | 'exists'> {
    const opts = { signal: options.signal };
    let result: 'created' | 'exists' = 'created';
    try {
      await this.rest.createThing(name, template, 'LoRaWAN device (created by tpx bridge)', opts);
    } catch (err) {
      if (err instanceof ThingWorxError && err.code === 'TPX_TWX_ALREADY_EXISTS') result = 'exists';
      else throw classify(err, `CreateThing ${name}`);
    }
    try {
      await this.rest.enableThing(name, opts);
      await this.rest.restartThing(name, opts);
    } catch (err) {
      throw classify(err, `EnableThing/RestartThing ${name}`);
    }
    return result;
  }
}

/** A DATETIME from REST JSON: epoch ms, or an ISO text. */
function epochMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Date.parse(v);
    return Number.isNaN(n) ? Number(v) || 0 : n;
  }
  return 0;
}

function classify(err: unknown, what: string): Error {
  if (err instanceof ThingWorxError && PERMANENT_TWX.has(err.code)) {
    return new PermanentError(
      `${what} refused: ${err.message}${plainWords(err.fix) ? ` (${plainWords(err.fix)})` : ''}`,
    );
  }
  return err as Error;
}

/** The LRC tunnel (v2) as a DownlinkSender. */
export function tunnelSender(o: { url: string; asId: string; asKey: string; dispatcher?: Dispatcher }): DownlinkSender {
  return {
    async send(req: DownlinkRequest, options: CallOptions = {}): Promise<DownlinkResult> {
      const r = await sendDownlink({
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        url: o.url,
        asId: o.asId,
        asKey: o.asKey,
        devEui: req.devEui,
        fPort: req.fPort,
        payloadHex: req.payloadHex || undefined,
        confirmed: req.confirmed,
        flushQueue: req.flushQueue,
        validityTime: req.validityTime,
        correlationId: req.correlationId,
        fCntDn: req.fCntDn,
      });
      if (r.status === 'queued') return { result: 'queued', status: r.version === 2 ? 202 : 200 };
      return { result: 'rejected', status: r.version === 2 ? 409 : 350, code: r.code, reason: r.reason };
    },
  };
}
