/**
 * The bridge: ingest (HTTP) -> spool (SQLite) -> delivery (provisioning + AlwaysOn push), downlinks from
 * property writes, /healthz, /readyz, /metrics. Everything it does is reported through `events`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { TpxError } from '../errors.js';
import { Delivery } from './delivery.js';
import { Downlinks } from './downlinks.js';
import { BridgeEvents } from './events.js';
import { addFleetMetrics } from './fleet/metrics.js';
import type { FleetQueue } from './fleet/queue.js';
import { fleetQueueFor } from './fleet/wire.js';
import { Ingest, sendJson, UnavailableError } from './ingest.js';
import { type AcceptResult, Intake, type RawRequest } from './intake.js';
import { lockSpool } from './lock.js';
import { createMetrics } from './metrics.js';
import { BRIDGE_DEFAULTS, type BridgeOptions, type BridgeStats, parseListen } from './options.js';
import type { TunnelReport } from './ports.js';
import { Provisioner } from './provisioning.js';
import { tunnelReportCodec } from './report-parser.js';
import { Spool } from './spool.js';

export {
  BRIDGE_DEFAULTS,
  type BridgeOptions,
  type BridgeStats,
  type FleetOptions,
  parseListen,
} from './options.js';

export class Bridge {
  readonly events: BridgeEvents;
  /** The report queue: the SQLite spool, or the fleet's broker with `fleet`. */
  private readonly queue: Spool | FleetQueue;
  /** The fleet queue (with `fleet`). */
  readonly fleet: FleetQueue | undefined;
  readonly metrics: Registry;
  /** http://host:port of the listening server (after start()). */
  url = '';
  readonly path: string;
  private readonly server: Server;
  private readonly ingest: Ingest;
  private readonly delivery: Delivery;
  private readonly provisioner: Provisioner;
  private readonly downlinks: Downlinks;
  private readonly intake: Intake;
  private readonly unlock: () => void;
  private stopping = false;
  private ready = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private connectLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: BridgeOptions) {
    this.events = o.events ?? new BridgeEvents();
    this.path = o.path ?? BRIDGE_DEFAULTS.path;
    const codec = o.codec ?? tunnelReportCodec();
    this.fleet = o.fleet
      ? fleetQueueFor(o.fleet, {
          events: this.events,
          codec,
          directory: o.directory,
          provisioner: () => this.provisioner,
          url: () => this.url,
          ready: () => this.ready,
        })
      : undefined;
    this.unlock = this.fleet ? () => undefined : lockSpool(o.spoolDir);
    try {
      this.queue =
        this.fleet ??
        new Spool(o.spoolDir, {
          durability: o.durability,
          writer: o.spoolWriter ?? (o.durability === 'normal' ? 'inline' : 'worker'),
          maxDepth: o.maxSpool ?? BRIDGE_DEFAULTS.maxSpool,
          ...(o.replayPollMs ? { pollMs: o.replayPollMs } : {}),
          ...o.spool,
        });
    } catch (err) {
      this.unlock();
      throw err;
    }
    this.provisioner = new Provisioner(o.directory, o.sink, this.events, {
      template: o.template,
      maxDevices: o.maxDevices ?? BRIDGE_DEFAULTS.maxDevices,
      ...(o.rebindRetryMs ? { rebindRetryMs: o.rebindRetryMs } : {}),
      ...(o.decoder ? { templateFor: (n: string) => o.decoder?.templateFor(n) } : {}),
      ...(o.fleet ? { bindKnown: false } : {}),
    });
    const fleet = this.fleet;
    this.delivery = new Delivery(
      this.queue,
      (text) => codec.parse(JSON.parse(text)),
      o.sink,
      this.provisioner,
      this.events,
      {
        maxInFlight: o.maxInFlight,
        retryBaseMs: o.retryBaseMs,
        retryMaxMs: o.retryMaxMs,
        decoder: o.decoder,
        ...(fleet ? { gate: (seq: number) => fleet.mayDeliver(seq), dropped: (seq: number) => fleet.forget(seq) } : {}),
      },
    );
    const dedupWindowMs = o.dedupWindowMs ?? BRIDGE_DEFAULTS.dedupWindowMs;
    this.intake = new Intake(this.queue, this.delivery, this.events, {
      dedupWindowMs,
      replayWindowMs: Math.max(o.maxTimeSkewMs ?? BRIDGE_DEFAULTS.maxTimeSkewMs, dedupWindowMs, 60_000),
      verifyTokens: o.verifyTokens ?? true,
    });
    this.downlinks = new Downlinks(o.sink, o.downlinks, this.events, o.decoder);
    this.ingest = new Ingest(
      {
        asId: o.asId,
        asKey: o.asKey,
        verifyTokens: o.verifyTokens ?? true,
        maxTimeSkewMs: o.maxTimeSkewMs ?? BRIDGE_DEFAULTS.maxTimeSkewMs,
        maxBodyBytes: o.maxBodyBytes ?? BRIDGE_DEFAULTS.maxBodyBytes,
      },
      codec,
      this.events,
      (r, raw) => this.accept(r, raw),
    );
    this.metrics = createMetrics(this.events, {
      spoolDepth: () => this.queue.depth(),
      storage: () => this.queue.health(),
      things: () => this.provisioner.known.size,
      unbound: () => this.provisioner.unboundCount,
      connected: () => o.sink.isConnected(),
    });
    if (fleet) addFleetMetrics(this.metrics, () => fleet.status());
    // ThingPark keeps few connections open: a short idle keep-alive and a cap keep idle sockets from using up
    // the process's file descriptors (each refused connection is reported: ingest.capped)
    const serverOptions = { keepAliveTimeout: o.keepAliveMs ?? BRIDGE_DEFAULTS.keepAliveMs, requestTimeout: 30_000 };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.route(req, res);
    this.server = o.tls
      ? (createHttpsServer({ ...serverOptions, ...o.tls, minVersion: 'TLSv1.2' }, handler) as unknown as Server)
      : createServer(serverOptions, handler);
    this.server.headersTimeout = 20_000;
    this.server.maxConnections = o.maxConnections ?? BRIDGE_DEFAULTS.maxConnections;
    let lastCapped = 0;
    this.server.on('drop', () => {
      const now = Date.now();
      if (now - lastCapped < 1000) return;
      lastCapped = now;
      this.events.emit('ingest.capped', { max: this.server.maxConnections });
    });
  }

  /** The SQLite spool (not there when a fleet queue replaces it). */
  get spool(): Spool {
    if (!(this.queue instanceof Spool)) throw new Error('This bridge runs on a fleet queue, not on a spool.');
    return this.queue;
  }

  /** Opens the ingest, loads the spool, and connects to ThingWorx in the background (see `ready`). */
  async start(): Promise<void> {
    if (this.o.verifyTokens !== false && !this.o.asKey) {
      throw new TpxError('TPX_USAGE', 'Token verification needs the tunnel AS key.', {
        fix: { id: 'bridge-as-key' },
        details: { setting: 'asKey' },
      });
    }
    this.intake.load();
    this.queue.onReplayed((count) => this.events.emit('dead.replayed', { count }));
    this.queue.onAvailable(() => this.delivery.fill());
    this.fleet?.onGate((open) => {
      if (this.ready) this.delivery.setGate(open);
    });
    this.fleet?.start();
    this.queue.onHealth((h) => {
      const free = h.freeBytes !== undefined ? { freeBytes: h.freeBytes } : {};
      if (h.writable) this.events.emit('spool.writable', free);
      else this.events.emit('spool.unwritable', { reason: h.reason ?? 'unknown', ...free });
    });
    this.delivery.fill();
    this.o.sink.onStatus((s) => {
      if (s.type === 'unbound') {
        this.provisioner.lostBinds(s.names, s.error);
        return;
      }
      if (s.type === 'down') this.events.emit('pipe.down', { pipe: s.pipe, error: s.error });
      else if (s.type === 'reconnect') this.events.emit('sink.reconnect', { pipe: s.pipe });
      else this.events.emit('pipe.up', { pipe: s.pipe });
      if (s.type === 'up' && this.ready) this.delivery.pump();
    });
    this.o.sink.onPropertyWrite((w) => this.downlinks.onWrite(w));
    const { host, port } = parseListen(this.o.listen ?? BRIDGE_DEFAULTS.listen);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new TpxError('TPX_LISTEN', `The bridge cannot listen on ${host}:${port}: ${err.code ?? err.message}.`, {
            fix: { id: 'bridge-listen', inUse: err.code === 'EADDRINUSE' },
            details: { setting: 'listen', host, port },
            cause: err,
          }),
        ),
      );
      this.server.listen(port, host, () => {
        this.server.removeAllListeners('error');
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${this.o.tls ? 'https' : 'http'}://${h}:${addr.port}`;
    this.events.emit('bridge.listening', { url: this.url, path: this.path });
    this.timers.push(setInterval(() => this.intake.prune(), 60_000).unref());
    this.connectLoop = this.connect();
  }

  private async connect(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      try {
        await this.o.sink.start();
        await this.provisioner.init();
        if (this.stopping) return;
        this.ready = true;
        this.events.emit('bridge.ready', { things: this.provisioner.bound.size, pipes: this.o.sink.pipeCount });
        this.delivery.setGate(this.fleet ? this.fleet.gateOpen() : true);
        return;
      } catch (err) {
        if (this.stopping) return;
        attempt += 1;
        const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5));
        this.events.emit('error', {
          where: 'thingworx',
          error: `${(err as Error).message}${fixOf(err)} (retrying in ${delay < 1000 ? `${delay} ms` : `${delay / 1000} s`})`,
        });
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
          if (this.stopping) this.wake();
        });
        this.wake = undefined;
      }
    }
  }

  private async accept(r: TunnelReport, raw: RawRequest): Promise<AcceptResult> {
    if (this.stopping) throw new UnavailableError('stopping', 'The bridge is stopping; retry later.');
    return this.intake.accept(r, raw);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname === this.path) {
      this.ingest.handle(req, res, q < 0 ? '' : url.slice(q + 1));
      return;
    }
    req.resume();
    if (req.method === 'GET' && pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else if (req.method === 'GET' && pathname === '/readyz') {
      const s = this.stats();
      const ok = s.ready && s.connected && s.storage.writable && !this.stopping && (!s.fleet || s.fleet.leased);
      sendJson(res, ok ? 200 : 503, {
        ready: ok,
        thingworx: s.connected ? 'connected' : 'disconnected',
        bound: s.bound,
        spoolDepth: s.spoolDepth,
        ...(s.storage.writable ? {} : { spool_unwritable: s.storage.reason ?? true }),
        ...(s.fleet ? { fleet: s.fleet } : {}),
      });
    } else if (req.method === 'GET' && pathname === '/metrics') {
      this.metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(text);
        },
        (err: Error) => sendJson(res, 500, { error: 'metrics', message: err.message }),
      );
    } else {
      this.ingest.reject(res, 'not_found', `Nothing at ${pathname}; ThingPark reports go to ${this.path}.`);
    }
  }

  stats(): BridgeStats {
    return {
      ready: this.ready,
      connected: this.o.sink.isConnected(),
      things: this.provisioner.known.size,
      bound: this.provisioner.bound.size,
      unbound: this.provisioner.unboundCount,
      spoolDepth: this.queue.depth(),
      storage: this.queue.health(),
      devicesWaiting: this.delivery.deviceCount,
      inFlight: this.delivery.inFlightCount,
      ...(this.fleet ? { fleet: this.fleet.status() } : {}),
    };
  }

  /** Resolves when ThingWorx is connected and the known Things are bound. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return this.events.waitFor('bridge.ready').then(() => undefined);
  }

  /** Resolves when every accepted report is delivered (or dead-lettered). */
  whenDrained(timeoutMs = 30_000): Promise<boolean> {
    return this.delivery.drain(timeoutMs);
  }

  /**
   * Stops intake (new requests get 503, the listener closes), drains delivery for up to drainTimeoutMs (what is
   * left stays in the spool for the next start), unbinds the Things and closes everything.
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<{ drained: boolean; pending: number }> {
    if (this.stopping) return { drained: this.queue.depth() === 0, pending: this.queue.depth() };
    this.stopping = true;
    this.events.emit('bridge.stopping', { pending: this.queue.depth() });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    while (this.intake.pending > 0) await new Promise((r) => setImmediate(r));
    await this.queue.settle();
    const timeout = options.drainTimeoutMs ?? this.o.drainTimeoutMs ?? BRIDGE_DEFAULTS.drainTimeoutMs;
    // a fleet bridge hands its queues over: what it was given is delivered, the rest goes back to the broker
    if (this.fleet) await this.fleet.releaseAll(timeout);
    const drained =
      this.ready && this.o.sink.isConnected() ? await this.delivery.drain(timeout) : this.queue.depth() === 0;
    await this.delivery.stop();
    this.provisioner.close();
    await this.downlinks.settle();
    for (const t of this.timers) clearTimeout(t);
    this.wake?.();
    if (this.ready && this.o.sink.isConnected()) {
      try {
        await this.provisioner.unbindAll();
      } catch (err) {
        this.events.emit('error', { where: 'unbind', error: (err as Error).message });
      }
    }
    await this.o.sink.close().catch(() => undefined);
    await this.o.directory.close?.().catch(() => undefined);
    await this.connectLoop?.catch(() => undefined);
    this.server.closeAllConnections();
    await closed;
    const pending = this.queue.depth();
    await this.queue.close();
    this.unlock();
    this.events.emit('bridge.stopped', { pending, drained });
    return { drained, pending };
  }
}

/** Creates and starts a bridge. */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const b = new Bridge(options);
  try {
    await b.start();
  } catch (err) {
    await b.stop({ drainTimeoutMs: 0 }).catch(() => undefined);
    throw err;
  }
  return b;
}

function fixOf(err: unknown): string {
  const fix = (err as { fix?: unknown }).fix;
  return typeof fix === 'string' && fix ? ` Fix: ${fix}` : '';
}
