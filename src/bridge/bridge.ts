/**
 * The bridge: ingest (HTTP) -> spool (SQLite) -> delivery (provisioning + AlwaysOn push), downlinks from
 * property writes, /healthz, /readyz, /metrics. Everything it does is reported through `events`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { TpxError } from '../errors.js';
import { parseRawQuery } from '../thingpark/tunnel.js';
import { tunnelReportCodec } from './codec.js';
import { DedupWindow } from './dedup.js';
import { Delivery } from './delivery.js';
import { Downlinks } from './downlinks.js';
import { BridgeEvents } from './events.js';
import { type AcceptResult, Ingest, sendJson, UnavailableError } from './ingest.js';
import { lockSpool } from './lock.js';
import { createMetrics } from './metrics.js';
import { BRIDGE_DEFAULTS, type BridgeOptions, type BridgeStats, parseListen } from './options.js';
import type { TunnelReport } from './ports.js';
import { Provisioner } from './provisioning.js';
import { Spool } from './spool.js';

export { BRIDGE_DEFAULTS, type BridgeOptions, type BridgeStats, parseListen } from './options.js';

export class Bridge {
  readonly events: BridgeEvents;
  readonly spool: Spool;
  readonly metrics: Registry;
  /** http://host:port of the listening server (after start()). */
  url = '';
  readonly path: string;
  private readonly server: Server;
  private readonly ingest: Ingest;
  private readonly delivery: Delivery;
  private readonly provisioner: Provisioner;
  private readonly downlinks: Downlinks;
  private readonly dedup: DedupWindow;
  private readonly unlock: () => void;
  private storing = 0;
  private stopping = false;
  private ready = false;
  private lastFullEvent = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private connectLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: BridgeOptions) {
    this.events = o.events ?? new BridgeEvents();
    this.path = o.path ?? BRIDGE_DEFAULTS.path;
    this.unlock = lockSpool(o.spoolDir);
    try {
      this.spool = new Spool(o.spoolDir, {
        durability: o.durability,
        writer: o.spoolWriter ?? (o.durability === 'normal' ? 'inline' : 'worker'),
      });
    } catch (err) {
      this.unlock();
      throw err;
    }
    this.dedup = new DedupWindow(o.dedupWindowMs ?? BRIDGE_DEFAULTS.dedupWindowMs);
    this.provisioner = new Provisioner(o.directory, o.sink, this.events, {
      template: o.template,
      maxDevices: o.maxDevices ?? BRIDGE_DEFAULTS.maxDevices,
      ...(o.rebindRetryMs ? { rebindRetryMs: o.rebindRetryMs } : {}),
      ...(o.decoder ? { templateFor: (n: string) => o.decoder?.templateFor(n) } : {}),
    });
    this.delivery = new Delivery(this.spool, o.sink, this.provisioner, this.events, {
      maxInFlight: o.maxInFlight,
      retryBaseMs: o.retryBaseMs,
      retryMaxMs: o.retryMaxMs,
      decoder: o.decoder,
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
      o.codec ?? tunnelReportCodec(),
      this.events,
      (r) => this.accept(r),
    );
    this.metrics = createMetrics(this.events, {
      spoolDepth: () => this.delivery.depth,
      things: () => this.provisioner.known.size,
      unbound: () => this.provisioner.unboundCount,
      connected: () => o.sink.isConnected(),
    });
    const serverOptions = { keepAliveTimeout: 30 * 60_000, requestTimeout: 30_000 };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.route(req, res);
    this.server = o.tls
      ? (createHttpsServer({ ...serverOptions, ...o.tls, minVersion: 'TLSv1.2' }, handler) as unknown as Server)
      : createServer(serverOptions, handler);
    this.server.headersTimeout = 20_000;
  }

  /** Opens the ingest, loads the spool, and connects to ThingWorx in the background (see `ready`). */
  async start(): Promise<void> {
    if (this.o.verifyTokens !== false && !this.o.asKey) {
      throw new TpxError('TPX_USAGE', 'Token verification needs the tunnel AS key.', {
        fix: 'Pass --as-key (or TPX_AS_KEY), or turn verification off with --no-verify-tokens (never in production).',
        exitCode: 2,
      });
    }
    const window = this.dedup.windowMs;
    if (window > 0) this.dedup.load(this.spool.dedupSince(Date.now() - window));
    for (const e of this.spool.pending()) this.delivery.enqueue(e.devEui, e.seq);
    this.enqueueReplayed();
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
            fix:
              err.code === 'EADDRINUSE'
                ? 'Another process uses that port: stop it, or pass another --listen HOST:PORT.'
                : 'Check the --listen address (HOST:PORT of this machine).',
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
    this.timers.push(setInterval(() => this.enqueueReplayed(), this.o.replayPollMs ?? 1000).unref());
    this.timers.push(
      setInterval(() => {
        const before = Date.now() - window;
        this.dedup.prune(Date.now());
        this.spool.pruneDedup(before);
      }, 60_000).unref(),
    );
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
        this.delivery.setGate(true);
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

  private enqueueReplayed(): void {
    const replayed = this.spool.takeReplayed();
    for (const e of replayed) this.delivery.enqueue(e.devEui, e.seq);
    if (replayed.length) this.events.emit('dead.replayed', { count: replayed.length });
  }

  private async accept(r: TunnelReport): Promise<AcceptResult> {
    if (this.stopping) throw new UnavailableError('stopping', 'The bridge is stopping; retry later.');
    const max = this.o.maxSpool ?? BRIDGE_DEFAULTS.maxSpool;
    const depth = this.delivery.depth + this.storing;
    if (depth >= max) {
      const now = Date.now();
      if (now - this.lastFullEvent > 1000) {
        this.lastFullEvent = now;
        this.events.emit('spool.full', { depth, max });
      }
      throw new UnavailableError(
        'spool_full',
        `The spool is full (${max} reports waiting for ThingWorx); retry later.`,
      );
    }
    if (r.kind === 'notification' && r.notificationType?.toLowerCase() === 'join') {
      this.dedup.reset(r.devEui);
      this.spool.resetDedup(r.devEui);
    }
    let dedup: { fcnt: number; payload: string } | undefined;
    if (r.kind === 'uplink' && r.fcntUp !== undefined && this.dedup.windowMs > 0) {
      const payload = r.payloadHex ?? '';
      if (this.dedup.isDuplicate(r.devEui, r.fcntUp, payload, Date.now())) {
        this.events.emit('uplink.duplicate', { kind: r.kind, devEui: r.devEui, fcnt: r.fcntUp });
        return { status: 'duplicate' };
      }
      dedup = { fcnt: r.fcntUp, payload };
      this.dedup.remember(r.devEui, r.fcntUp, payload, Date.now());
    }
    const t0 = performance.now();
    this.storing += 1;
    let seq: number;
    try {
      seq = await this.spool.enqueue({
        devEui: r.devEui,
        kind: r.kind,
        receivedAt: Date.now(),
        body: JSON.stringify(r),
        dedup,
      });
    } catch (err) {
      if (dedup) this.dedup.forget(r.devEui, dedup.fcnt);
      throw err;
    } finally {
      this.storing -= 1;
    }
    this.delivery.enqueue(r.devEui, seq, t0, r);
    this.events.emit('uplink.accepted', {
      seq,
      kind: r.kind,
      devEui: r.devEui,
      fcnt: r.fcntUp,
      spoolDepth: this.delivery.depth,
    });
    return { status: 'accepted', seq };
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname === this.path) {
      this.ingest.handle(req, res, parseRawQuery(q < 0 ? '' : url.slice(q + 1)));
      return;
    }
    req.resume();
    if (req.method === 'GET' && pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else if (req.method === 'GET' && pathname === '/readyz') {
      const s = this.stats();
      const ok = s.ready && s.connected && !this.stopping;
      sendJson(res, ok ? 200 : 503, {
        ready: ok,
        thingworx: s.connected ? 'connected' : 'disconnected',
        bound: s.bound,
        spoolDepth: s.spoolDepth,
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
      spoolDepth: this.delivery.depth,
      devicesWaiting: this.delivery.deviceCount,
      inFlight: this.delivery.inFlightCount,
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
    if (this.stopping) return { drained: this.delivery.depth === 0, pending: this.delivery.depth };
    this.stopping = true;
    this.events.emit('bridge.stopping', { pending: this.delivery.depth });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    await this.spool.settle();
    while (this.storing > 0) await new Promise((r) => setImmediate(r));
    const timeout = options.drainTimeoutMs ?? this.o.drainTimeoutMs ?? BRIDGE_DEFAULTS.drainTimeoutMs;
    const drained =
      this.ready && this.o.sink.isConnected() ? await this.delivery.drain(timeout) : this.delivery.depth === 0;
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
    const pending = this.delivery.depth;
    await this.spool.close();
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
