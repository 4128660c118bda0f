/**
 * The bridge: ingest (HTTP) -> spool (SQLite) -> delivery (provisioning + AlwaysOn push), downlinks from
 * property writes, /healthz, /readyz, /metrics. Everything it does is reported through `events`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { TpxError } from '../errors.js';
import { backoffDelay } from '../util/backoff.js';
import { formatElapsed } from '../util/duration.js';
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
import { type PipesHealth, type SinkStatus, StoppedError, type TunnelReport } from './ports.js';
import { Provisioner } from './provisioning.js';
import { PushFailures } from './push-failures.js';
import { Repeats } from './repeats.js';
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
  /** The ingest listened (start() got that far): a bridge that never did stops without a word (no stopping/stopped). */
  private listening = false;
  /** Aborted when ThingWorx goes away during the stop's drain: nothing more can be delivered, the drain ends. */
  private readonly sinkGone = new AbortController();
  /** The sink's close, once begun (at most once). */
  private sinkClosing: Promise<void> | undefined;
  private ready = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private connectLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** ThingWorx was connected (the bridge was ready) at some point of this run. */
  /** ThingWorx was reached (the sink started) in this run; and the bridge was ready. */
  private everConnected = false;
  private everReady = false;
  /** Why the bridge gave up (see whenFailed()). */
  private fatal: Error | undefined;
  private readonly failed: Promise<Error>;
  private onFailed: ((err: Error) => void) | undefined;
  /** Warning codes of the sink already reported. */
  private readonly warned = new Set<string>();
  /** Open ingest connections (the spool's gather window waits only while one of them could send a report). */
  private ingestSockets = 0;
  /** Repeated protocol errors, reconnects, push failures (by cause) and refusals fold into one log line per window. */
  private readonly repeats: Repeats;
  /** The pipes that are down, with the cause their pipe.down said (until pipe.up). */
  private readonly down = new Map<number | undefined, string | undefined>();

  constructor(private readonly o: BridgeOptions) {
    this.events = o.events ?? new BridgeEvents();
    this.path = o.path ?? BRIDGE_DEFAULTS.path;
    this.repeats = new Repeats(o.repeatWindowMs ?? BRIDGE_DEFAULTS.repeatWindowMs);
    this.failed = new Promise<Error>((resolve) => {
      this.onFailed = resolve;
    });
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
          gatherMs: o.spoolGatherMs ?? BRIDGE_DEFAULTS.spoolGatherMs,
          // a request waits for the commit on its connection: more open connections than writes waiting, more may come
          gatherSources: () => this.ingestSockets,
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
      bindCheckMs: o.bindCheckMs ?? BRIDGE_DEFAULTS.bindCheckMs,
      takeOver: o.takeOver ?? false,
      ...(o.holderOf ? { holderOf: o.holderOf } : {}),
      ...(o.holderWaitMs !== undefined ? { holderWaitMs: o.holderWaitMs } : {}),
      ...(o.decoder ? { templateFor: (n: string) => o.decoder?.templateFor(n) } : {}),
      ...(o.fleet ? { bindKnown: false } : {}),
    });
    const fleet = this.fleet;
    // a push failing for the cause of a pipe that is down is part of that outage: its pipe.down was the warning
    const inOutage = (cause: string) => [...this.down.values()].includes(cause);
    const failures = new PushFailures(this.repeats, this.events, (err) => o.sink.causeOf?.(err) ?? 'unknown', inOutage);
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
        failed: (thing, err, retryInMs) => failures.failed(thing, err, retryInMs),
        ...(fleet ? { gate: (seq: number) => fleet.mayDeliver(seq), dropped: (seq: number) => fleet.forget(seq) } : {}),
      },
    );
    const dedupWindowMs = o.dedupWindowMs ?? BRIDGE_DEFAULTS.dedupWindowMs;
    this.intake = new Intake(this.queue, this.delivery, this.events, {
      dedupWindowMs,
      replayWindowMs: Math.max(o.maxTimeSkewMs ?? BRIDGE_DEFAULTS.maxTimeSkewMs, dedupWindowMs, 60_000),
      verifyTokens: o.verifyTokens ?? true,
      repeats: this.repeats,
    });
    // every refusal stays an uplink.rejected (counted); the log says them once per status, reason and window
    this.events.on('uplink.rejected', (r) =>
      this.repeats.add(`reject ${r.status} ${r.reason}`, (count, first) =>
        this.events.emit('uplink.rejecting', {
          ...r,
          count,
          windowMs: this.repeats.windowMs,
          ...(first ? {} : { folded: true }),
        }),
      ),
    );
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
      taken: () => this.provisioner.taken.size,
      bound: () => this.boundNow(o.sink.pipes?.()),
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
    this.server.on('connection', (socket: Socket) => {
      this.ingestSockets += 1;
      socket.once('close', () => {
        this.ingestSockets -= 1;
      });
    });
    // every refused connection counted, said once per window (a client retrying in a loop refuses thousands)
    this.server.on('drop', () =>
      this.repeats.add('capped', (count, first) =>
        this.events.emit('ingest.capped', {
          max: this.server.maxConnections,
          count,
          windowMs: this.repeats.windowMs,
          ...(first ? {} : { folded: true }),
        }),
      ),
    );
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
    this.o.sink.onStatus((s) => this.onSinkStatus(s));
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
    this.listening = true;
    this.events.emit('bridge.listening', { url: this.url, path: this.path });
    this.timers.push(setInterval(() => this.intake.prune(), 60_000).unref());
    this.connectLoop = this.connect();
  }

  /** Every event of the sink (the pool's ten), as bridge events: each one logged with its cause, and counted. */
  private onSinkStatus(s: SinkStatus): void {
    const e = this.events;
    const pipe = 'pipe' in s && s.pipe !== undefined ? { pipe: s.pipe } : {};
    switch (s.type) {
      case 'unbound':
        this.provisioner.lostBinds(s.names, s.error);
        return;
      case 'up':
        this.down.delete(pipe.pipe);
        e.emit('pipe.up', pipe);
        this.provisioner.pipeUp();
        if (this.ready) this.delivery.pump();
        return;
      case 'down': {
        // the other pipes already down for this cause: one outage of many pipes is one warning, the first pipe's
        let others = 0;
        for (const [p, c] of this.down) if (p !== pipe.pipe && c === s.cause) others += 1;
        this.down.set(pipe.pipe, s.cause);
        e.emit('pipe.down', {
          ...pipe,
          error: s.error,
          ...(s.cause ? { cause: s.cause } : {}),
          ...(others > 0 ? { pipesDown: others } : {}),
        });
        // stopping: no reconnect (the pool schedules one right after this event; closing it cancels that)
        if (this.stopping && !this.o.sink.isConnected()) {
          this.sinkGone.abort();
          void this.closeSink();
        }
        return;
      }
      case 'reconnect': {
        const { type: _t, ...fields } = s;
        this.repeats.add(`reconnect ${s.pipe} ${s.cause}`, (count, first) =>
          e.emit('sink.reconnect', { ...fields, ...(first ? {} : { count }) }),
        );
        return;
      }
      case 'failed':
        this.fail(s.error);
        return;
      case 'protocol.error':
        this.repeats.add(`protocol ${s.pipe} ${s.cause}`, (count, first) =>
          e.emit('protocol.error', {
            ...pipe,
            cause: s.cause,
            error: s.error,
            count,
            ...(first ? {} : { folded: true }),
          }),
        );
        return;
      case 'ping.timeout':
        e.emit('ping.timeout', { ...pipe, silentMs: s.silentMs, deadlineMs: s.deadlineMs });
        return;
      case 'thing.sync':
        e.emit('thing.sync', { ...pipe, thing: s.thing, service: s.service });
        return;
      case 'platform.request': {
        const { type: _t, ...fields } = s;
        e.emit('platform.request', fields);
        return;
      }
      case 'bind.rejected':
        e.emit('bind.rejected', {
          ...pipe,
          count: s.names.length,
          names: s.names.slice(0, 10),
          reason: s.error,
        });
        return;
      case 'warning':
        // once per run: a pool is built again on every attempt at start, and says it again
        if (this.warned.has(s.code)) return;
        this.warned.add(s.code);
        e.emit('sink.warning', { code: s.code, message: s.message });
        return;
    }
  }

  /**
   * Gives up on ThingWorx for a failure waiting cannot cure (the application key refused): delivery stops, accepted
   * reports stay in the spool, `bridge.failed` says what failed; the owner stops the bridge (see whenFailed()).
   */
  private fail(err: Error): void {
    if (this.fatal || this.stopping) return;
    this.fatal = err;
    this.ready = false;
    this.delivery.setGate(false);
    const code = (err as { code?: unknown }).code;
    this.events.emit('bridge.failed', {
      where: 'thingworx',
      code: typeof code === 'string' ? code : 'TPX_ERROR',
      cause: code === 'TPX_AUTH_FAILED' || code === 'TPX_TWX_UNAUTHORIZED' ? 'auth_refused' : 'unknown',
      error: err.message,
    });
    this.onFailed?.(err);
  }

  /** Resolves with the error when the bridge gave up (never for transient failures, which it retries). */
  whenFailed(): Promise<Error> {
    return this.failed;
  }

  private async connect(): Promise<void> {
    let attempt = 0;
    while (!this.stopping && !this.fatal) {
      try {
        await this.o.sink.start();
        this.everConnected = true;
        await this.provisioner.init();
        if (this.stopping || this.fatal) return;
        this.ready = true;
        this.everReady = true;
        this.events.emit('bridge.ready', {
          things: this.provisioner.bound.size,
          pipes: this.o.sink.pipeCount,
          expected: this.provisioner.known.size,
        });
        this.delivery.setGate(this.fleet ? this.fleet.gateOpen() : true);
        return;
      } catch (err) {
        if (this.stopping) return;
        if (isFatal(err)) {
          this.fail(err as Error);
          return;
        }
        attempt += 1;
        const delay = backoffDelay(attempt, { initialMs: 500, maxMs: 5_000 });
        const cause = this.o.sink.causeOf?.(err);
        const failure = {
          where: 'thingworx',
          error: `${(err as Error).message}${fixOf(err)} (retrying in ${formatElapsed(delay)})`,
          ...(cause ? { cause } : {}),
        };
        // a platform that stays unreachable fails every attempt the same way: one line per cause and window
        this.repeats.add(`start ${cause ?? (err as Error).message}`, (count, first) =>
          this.events.emit('error', { ...failure, ...(first ? {} : { count }) }),
        );
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

  /** Not async: intake's promise is returned as it is (an async wrapper would add a promise and ticks per uplink). */
  private accept(r: TunnelReport, raw: RawRequest): Promise<AcceptResult> {
    if (this.stopping) return Promise.reject(new UnavailableError('stopping', 'The bridge is stopping; retry later.'));
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
      const r = this.readiness();
      sendJson(res, r.ready ? 200 : 503, r);
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

  /**
   * What /readyz answers: ready only when the bridge can deliver to every one of its Things. `reasons` (stable
   * strings): `stopping`, `thingworx_down` (no AlwaysOn connection), `starting` (connected, Things not bound
   * yet), `pipe_down` (some AlwaysOn pipes down: their Things are not bound until they are back), `spool_unwritable`, `things_taken` (another session bound some of them: Last in wins), `bind_refused`
   * (ThingWorx refused to bind some: First in wins), `fleet_fenced` (a fleet bridge without its broker lease).
   * `reason` is the first of them.
   */
  readiness(): Readiness {
    const s = this.stats();
    const reasons: ReadinessReason[] = [];
    if (this.stopping) reasons.push('stopping');
    if (!s.connected) reasons.push('thingworx_down');
    else if (!s.ready) reasons.push('starting');
    else if (s.pipes.up < s.pipes.count) reasons.push('pipe_down');
    if (!s.storage.writable) reasons.push('spool_unwritable');
    if (s.taken > 0) reasons.push('things_taken');
    if (s.refused > 0 || s.unbound - s.taken - s.refused > 0) reasons.push('bind_refused');
    if (s.fleet && !s.fleet.leased) reasons.push('fleet_fenced');
    return {
      ready: reasons.length === 0,
      reason: reasons[0] ?? null,
      reasons,
      bound: s.bound,
      expected: s.things,
      taken: s.taken,
      refused: s.unbound - s.taken,
      thingworx: s.connected ? 'connected' : 'disconnected',
      pipes: s.pipes,
      spoolDepth: s.spoolDepth,
      ...(s.storage.writable ? {} : { spool_unwritable: s.storage.reason ?? 'unknown' }),
      ...(s.fleet ? { fleet: s.fleet } : {}),
    };
  }

  /** Where the bridge stands with one Thing: bound, taken (by another session), refused, unbound; undefined if unknown. */
  bindingOf(thing: string): 'bound' | 'taken' | 'refused' | 'unbound' | undefined {
    return this.provisioner.bindingOf(thing);
  }

  stats(): BridgeStats {
    const connected = this.o.sink.isConnected();
    const pipes = this.o.sink.pipes?.();
    return {
      ready: this.ready,
      connected,
      pipes: pipes ? { up: pipes.up, count: pipes.count } : { up: connected ? 1 : 0, count: 1 },
      things: this.provisioner.known.size,
      bound: this.boundNow(pipes),
      unbound: this.provisioner.unboundCount,
      taken: this.provisioner.taken.size,
      refused: this.provisioner.refused.size,
      spoolDepth: this.queue.depth(),
      storage: this.queue.health(),
      devicesWaiting: this.delivery.deviceCount,
      inFlight: this.delivery.inFlightCount,
      ...(this.fleet ? { fleet: this.fleet.status() } : {}),
    };
  }

  /**
   * The Things bound on a live session: a binding dies with its AlwaysOn session, so those of a pipe that is down
   * are not counted (they are bound again when it is back); without the sink's pipes, none while it is not connected.
   */
  private boundNow(pipes: PipesHealth | undefined): number {
    const held = this.provisioner.bound.size;
    if (pipes) return Math.max(0, held - pipes.boundOnDown);
    return this.o.sink.isConnected() ? held : 0;
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
   * left stays in the spool for the next start), unbinds the Things and closes everything. The limit bounds the whole
   * stop: at it, pushes and ThingWorx calls still in flight are abandoned (aborted; their reports stay in the spool,
   * unacknowledged), and so are ThingPark downlink calls (aborted, said downlink.abandoned, never claimed sent). Without ThingWorx connected there is nothing to drain: the connection is closed at once (no
   * reconnect attempt once stopping). Nothing it started (timers, sockets) outlives it.
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<{ drained: boolean; pending: number }> {
    if (this.stopping) return { drained: this.queue.depth() === 0, pending: this.queue.depth() };
    this.stopping = true;
    const timeout = options.drainTimeoutMs ?? this.o.drainTimeoutMs ?? BRIDGE_DEFAULTS.drainTimeoutMs;
    const deadline = Date.now() + timeout;
    const left = () => Math.max(0, deadline - Date.now());
    // a bridge that never listened (start() failed) only releases what it holds: it never ran, so it says nothing
    const say = this.listening;
    if (say) this.events.emit('bridge.stopping', { pending: this.queue.depth() });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    this.wake?.(); // the connect loop's wait ends: no new attempt
    while (this.intake.pending > 0) await new Promise((r) => setImmediate(r));
    await this.queue.settle();
    // a fleet bridge hands its queues over: what it was given is delivered, the rest goes back to the broker
    if (this.fleet) await this.fleet.releaseAll(left());
    const draining = this.ready && this.o.sink.isConnected();
    if (!draining) void this.closeSink();
    const drained = draining ? await this.delivery.drain(left(), this.sinkGone.signal) : this.queue.depth() === 0;
    // at the limit, the pushes in flight are abandoned (their reports stay), and their REST calls aborted below
    const settled = await this.delivery.stop(left());
    this.provisioner.close();
    // ThingPark calls still in flight at the limit are aborted (downlink.abandoned), not waited for
    await this.downlinks.settle(left());
    for (const t of this.timers) clearTimeout(t);
    if (settled && this.ready && this.o.sink.isConnected() && left() > 0) {
      try {
        await this.withinLimit(this.provisioner.unbindAll(), left());
      } catch (err) {
        // cut short at the limit: the socket's end unbinds them on the platform
        if (!(err instanceof StoppedError))
          this.events.emit('error', { where: 'unbind', error: (err as Error).message });
      }
    }
    // past the limit: closed without waiting for ThingWorx (the socket's end unbinds the Things on the platform)
    const graceful = this.withinLimit(this.closeSink({ now: !settled || left() === 0 }), left());
    if (
      !(await graceful.then(
        () => true,
        () => false,
      ))
    )
      await this.closeSink({ now: true });
    // past the limit, the REST pool is destroyed: a call the abort could not end (a socket the frozen platform
    // holds) would keep the stop, then the process, waiting
    await this.o.directory.close?.({ now: !settled || left() === 0 }).catch(() => undefined);
    await this.connectLoop?.catch(() => undefined);
    this.server.closeAllConnections();
    await closed;
    const pending = this.queue.depth();
    await this.queue.close();
    this.unlock();
    this.repeats.flush();
    if (say)
      this.events.emit('bridge.stopped', { pending, drained, connected: this.everConnected, ready: this.everReady });
    return { drained, pending };
  }

  /** Closes the sink once: no reconnect after it, pushes still in flight reject (their reports stay). */
  private closeSink(options: { now?: boolean } = {}): Promise<void> {
    if (this.sinkClosing && !options.now) return this.sinkClosing;
    // `now` on a close under way cuts its wait short (a second close of the pool skips what the first waits for)
    const closing = this.o.sink.close(options).catch(() => undefined);
    this.sinkClosing = this.sinkClosing ? Promise.all([this.sinkClosing, closing]).then(() => undefined) : closing;
    return this.sinkClosing;
  }

  /** `work`, or a timeout error once `ms` have passed (its timer cleared either way). */
  private async withinLimit<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StoppedError("the stop's limit passed")), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export type ReadinessReason =
  | 'stopping'
  | 'thingworx_down'
  | 'pipe_down'
  | 'starting'
  | 'spool_unwritable'
  | 'things_taken'
  | 'bind_refused'
  | 'fleet_fenced';

/** The body of /readyz (200 when `ready`, else 503). */
export interface Readiness {
  ready: boolean;
  reason: ReadinessReason | null;
  reasons: ReadinessReason[];
  /** Things this bridge holds. */
  bound: number;
  /** Things of this bridge (the template's, and those it created). */
  expected: number;
  /** Things another session bound after this bridge. */
  taken: number;
  /** Things not bound for another reason (refused by the platform, lost on a reconnect). */
  refused: number;
  /** Any pipe up: 'connected' (`pipes` tells whether all are). */
  thingworx: 'connected' | 'disconnected';
  /** AlwaysOn pipes up, of all. */
  pipes: { up: number; count: number };
  spoolDepth: number;
  /** Why the spool cannot store reports (only when it cannot). */
  spool_unwritable?: string;
  /** With a fleet queue: this bridge's queues, the fleet's members, whether its broker lease holds. */
  fleet?: ReturnType<FleetQueue['status']>;
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

/** Failures waiting cannot cure: ThingWorx refused the application key (AlwaysOn AUTH, or REST 401). */
function isFatal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'TPX_AUTH_FAILED' || code === 'TPX_TWX_UNAUTHORIZED';
}

function fixOf(err: unknown): string {
  const fix = (err as { fix?: unknown }).fix;
  return typeof fix === 'string' && fix ? ` Fix: ${fix}` : '';
}
