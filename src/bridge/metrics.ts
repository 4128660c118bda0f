/** Prometheus metrics (prom-client), fed by the bridge's events; one registry per bridge. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BridgeEvents } from './events.js';
import type { QueueHealth } from './queue.js';

export interface MetricsSources {
  spoolDepth: () => number;
  /** The spool's health (writable, free bytes). */
  storage?: () => QueueHealth;
  things: () => number;
  /** Things not bound to this bridge (lost on a reconnect, taken by another session, refused). */
  unbound?: () => number;
  /** Things another session bound after this bridge. */
  taken?: () => number;
  /** Things bound to this bridge. */
  bound?: () => number;
  connected: () => boolean;
}

export function createMetrics(events: BridgeEvents, sources: MetricsSources): Registry {
  const registry = new Registry();
  const p = 'tpx_bridge_';
  // registered in the order /metrics lists them
  const m = {
    ...ingestCounters(registry, p),
    ...thingworxCounters(registry, p),
  };
  spoolGauges(registry, p, sources);
  const capped = new Counter({
    name: `${p}connections_capped_total`,
    help: 'Times the ingest refused connections because maxConnections were open (reported at most once a second)',
    registers: [registry],
  });
  thingGauges(registry, p, sources);
  const bindings = new Counter({
    name: `${p}binding_changes_total`,
    help: 'Things taken by another session, refused, recovered or taken over, by change',
    labelNames: ['change'],
    registers: [registry],
  });
  new Gauge({
    name: `${p}thingworx_connected`,
    help: '1 when ThingWorx is connected',
    registers: [registry],
    collect() {
      this.set(sources.connected() ? 1 : 0);
    },
  });
  countEvents(events, { ...m, capped, bindings });
  return registry;
}

/**
 * A counter of one label bumped once per uplink: counted in plain numbers (a Map by label value), added to the
 * prom-client counter when it is read (/metrics). prom-client's inc() hashes and validates the labels on each call.
 */
function tallied(config: { name: string; help: string; labelNames: [string]; registers: Registry[] }) {
  const pending = new Map<string, number>();
  const label = config.labelNames[0];
  const counter = new Counter({
    ...config,
    collect() {
      for (const [value, n] of pending) this.inc({ [label]: value }, n);
      pending.clear();
    },
  });
  return { counter, add: (value: string) => pending.set(value, (pending.get(value) ?? 0) + 1) };
}

/** The counters of ingest and delivery. */
function ingestCounters(registry: Registry, p: string) {
  const received = tallied({
    name: `${p}received_total`,
    help: 'Reports received by ingest',
    labelNames: ['kind'],
    registers: [registry],
  });
  const accepted = tallied({
    name: `${p}accepted_total`,
    help: 'Reports stored in the spool',
    labelNames: ['kind'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: `${p}rejected_total`,
    help: 'Requests refused by ingest, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: `${p}duplicates_total`,
    help: 'Repeated (DevEUI, FCntUp) answered 2xx and not delivered again',
    registers: [registry],
  });
  const pushed = tallied({
    name: `${p}pushed_total`,
    help: 'Reports delivered to ThingWorx (acknowledged)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const pushFailures = new Counter({
    name: `${p}push_failures_total`,
    help: 'Failed pushes (retried)',
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${p}push_latency_seconds`,
    help: 'From ingest to ThingWorx acknowledgement',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: `${p}dead_letters_total`,
    help: 'Reports moved to the dead-letter table',
    registers: [registry],
  });
  const created = new Counter({ name: `${p}things_created_total`, help: 'Things created', registers: [registry] });
  const spoolFull = new Counter({
    name: `${p}spool_full_total`,
    help: 'Requests refused because the spool was full',
    registers: [registry],
  });
  return { received, accepted, rejected, duplicates, pushed, pushFailures, latency, deadLetters, created, spoolFull };
}

/** The counters of the ThingWorx connection, its requests, downlinks and failures. */
function thingworxCounters(registry: Registry, p: string) {
  const reconnects = new Counter({
    name: `${p}reconnects_total`,
    help: 'ThingWorx pipe reconnects',
    registers: [registry],
  });
  const pipeDown = new Counter({ name: `${p}pipe_down_total`, help: 'ThingWorx pipes lost', registers: [registry] });
  const downlinks = new Counter({
    name: `${p}downlinks_total`,
    help: 'Downlinks by result (queued, rejected, invalid, failed)',
    labelNames: ['result'],
    registers: [registry],
  });
  // ThingWorx connection failures by cause (labels are stable cause codes, a bounded set: never messages)
  const connectionFailures = new Counter({
    name: `${p}thingworx_failures_total`,
    help: 'ThingWorx connections lost or attempts failed, by cause (auth_timeout, ping_timeout, closed_by_platform…)',
    labelNames: ['cause'],
    registers: [registry],
  });
  const protocolErrors = new Counter({
    name: `${p}protocol_errors_total`,
    help: 'Frames from ThingWorx dropped, by cause (bad_message, text_frame, incomplete_multipart, bad_answer)',
    labelNames: ['cause'],
    registers: [registry],
  });
  const pingTimeouts = new Counter({
    name: `${p}ping_timeouts_total`,
    help: 'ThingWorx pipes dropped because the platform went silent past the ping deadline',
    registers: [registry],
  });
  const syncs = new Counter({
    name: `${p}thing_syncs_total`,
    help: 'Synchronisation requests from ThingWorx (NotifyPropertyUpdate, SynchronizeModelState)',
    registers: [registry],
  });
  const platformRequests = new Counter({
    name: `${p}platform_requests_total`,
    help: 'Requests from ThingWorx to the bridge, by answer code (SUCCESS, BAD_REQUEST, NOT_FOUND…)',
    labelNames: ['code'],
    registers: [registry],
  });
  const bindRejected = new Counter({
    name: `${p}bind_rejected_total`,
    help: 'Things ThingWorx refused to bind',
    registers: [registry],
  });
  const warnings = new Counter({
    name: `${p}thingworx_warnings_total`,
    help: 'Warnings about the ThingWorx connection, by code (TPX_TLS_INSECURE…)',
    labelNames: ['code'],
    registers: [registry],
  });
  const failed = new Counter({
    name: `${p}failed_total`,
    help: 'Times the bridge gave up on ThingWorx (a failure waiting cannot cure, e.g. the app key refused), by cause',
    labelNames: ['cause'],
    registers: [registry],
  });
  return {
    reconnects,
    pipeDown,
    downlinks,
    connectionFailures,
    protocolErrors,
    pingTimeouts,
    syncs,
    platformRequests,
    bindRejected,
    warnings,
    failed,
  };
}

/** The spool's gauges: depth, writable, free bytes. */
function spoolGauges(registry: Registry, p: string, sources: MetricsSources) {
  new Gauge({
    name: `${p}spool_depth`,
    help: 'Reports accepted and not yet delivered',
    registers: [registry],
    collect() {
      this.set(sources.spoolDepth());
    },
  });
  new Gauge({
    name: `${p}spool_writable`,
    help: '1 when the spool can store reports (0: storage failing, ingest answers 503)',
    registers: [registry],
    collect() {
      this.set(sources.storage?.().writable === false ? 0 : 1);
    },
  });
  new Gauge({
    name: `${p}spool_free_bytes`,
    help: "Free bytes of the spool's file system",
    registers: [registry],
    collect() {
      const free = sources.storage?.().freeBytes;
      if (free !== undefined) this.set(free);
    },
  });
}

/** The Things' gauges: known, unbound, taken, bound. */
function thingGauges(registry: Registry, p: string, sources: MetricsSources) {
  new Gauge({
    name: `${p}things`,
    help: 'Things known to the bridge',
    registers: [registry],
    collect() {
      this.set(sources.things());
    },
  });
  new Gauge({
    name: `${p}things_unbound`,
    help: 'Things of the bridge not bound to it (taken by another session, refused, lost on a reconnect)',
    registers: [registry],
    collect() {
      this.set(sources.unbound?.() ?? 0);
    },
  });
  new Gauge({
    name: `${p}things_taken`,
    help: 'Things another session bound after this bridge (Last in wins); bound again once it lets them go',
    registers: [registry],
    collect() {
      this.set(sources.taken?.() ?? 0);
    },
  });
  new Gauge({
    name: `${p}things_bound`,
    help: 'Things bound to this bridge',
    registers: [registry],
    collect() {
      this.set(sources.bound?.() ?? 0);
    },
  });
}

type Counters = ReturnType<typeof ingestCounters> &
  ReturnType<typeof thingworxCounters> & { capped: Counter; bindings: Counter };

/** Counts the bridge's events. */
function countEvents(events: BridgeEvents, m: Counters) {
  const {
    received,
    accepted,
    rejected,
    duplicates,
    pushed,
    pushFailures,
    latency,
    deadLetters,
    created,
    spoolFull,
    reconnects,
    pipeDown,
    downlinks,
    connectionFailures,
    protocolErrors,
    pingTimeouts,
    syncs,
    platformRequests,
    bindRejected,
    warnings,
    failed,
    capped,
    bindings,
  } = m;
  events
    .on('uplink.received', (e) => received.add(e.kind))
    .on('uplink.accepted', (e) => accepted.add(e.kind))
    .on('uplink.rejected', (e) => {
      rejected.inc({ reason: e.reason });
      if (e.reason === 'spool_full') spoolFull.inc();
    })
    .on('uplink.duplicate', () => duplicates.inc())
    .on('ingest.capped', () => capped.inc())
    .on('push.acked', (e) => {
      pushed.add(e.kind);
      latency.observe(e.latencyMs / 1000);
    })
    .on('push.failed', () => pushFailures.inc())
    .on('dead.letter', () => deadLetters.inc())
    .on('thing.created', () => created.inc())
    .on('sink.reconnect', (e) => {
      const n = e.count ?? 1;
      reconnects.inc(n);
      // one reconnect per lost connection or failed attempt: its cause is the failure's
      connectionFailures.inc({ cause: e.cause ?? 'unknown' }, n);
    })
    .on('error', (e) => {
      // the first connection's failed attempts (the bridge retries them itself)
      if (e.where === 'thingworx' && e.cause) connectionFailures.inc({ cause: e.cause });
    })
    .on('protocol.error', (e) => protocolErrors.inc({ cause: e.cause }, e.count))
    .on('ping.timeout', () => pingTimeouts.inc())
    .on('thing.sync', () => syncs.inc())
    .on('platform.request', (e) => platformRequests.inc({ code: e.code }))
    .on('bind.rejected', (e) => bindRejected.inc(e.count))
    .on('sink.warning', (e) => warnings.inc({ code: e.code }))
    .on('bridge.failed', (e) => failed.inc({ cause: e.cause }))
    .on('pipe.down', () => pipeDown.inc())
    .on('downlink.sent', (e) => downlinks.inc({ result: e.result }))
    .on('downlink.invalid', () => downlinks.inc({ result: 'invalid' }))
    .on('downlink.failed', () => downlinks.inc({ result: 'failed' }))
    .on('things.taken', (e) => bindings.inc({ change: 'taken' }, e.count))
    .on('things.refused', (e) => bindings.inc({ change: 'refused' }, e.count))
    .on('things.recovered', (e) => bindings.inc({ change: 'recovered' }, e.count))
    .on('things.took_over', (e) => bindings.inc({ change: 'took_over' }, e.count));
}
