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

const P = 'tpx_bridge_';

/** A gauge of the bridge's registry, `tpx_bridge_<name>`, read when /metrics is (undefined: no value now). */
function gaugeOf(registry: Registry) {
  return (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name: `${P}${name}`,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
}

/** A counter of the bridge's registry: `tpx_bridge_<name>`, with one label or none. */
function counterOf(registry: Registry) {
  return (name: string, help: string, label?: string) =>
    new Counter({ name: `${P}${name}`, help, labelNames: label ? [label] : [], registers: [registry] });
}

export function createMetrics(events: BridgeEvents, sources: MetricsSources): Registry {
  const registry = new Registry();
  const counter = counterOf(registry);
  const gauge = gaugeOf(registry);
  // registered in the order /metrics lists them
  const m = {
    ...ingestCounters(registry),
    ...thingworxCounters(registry),
  };
  spoolGauges(registry, sources);
  const capped = counter('connections_capped_total', 'Connections the ingest refused because maxConnections were open');
  thingGauges(registry, sources);
  const bindings = counter(
    'binding_changes_total',
    'Things taken by another session, refused, recovered or taken over, by change',
    'change',
  );
  gauge('thingworx_connected', '1 when ThingWorx is connected', () => (sources.connected() ? 1 : 0));
  countEvents(events, { ...m, capped, bindings });
  return registry;
}

/**
 * A counter of one label bumped once per uplink: counted in plain numbers (a Map by label value), added to the
 * prom-client counter when it is read (/metrics). prom-client's inc() hashes and validates the labels on each call.
 */
function tallied(registry: Registry, name: string, help: string, label: string) {
  const pending = new Map<string, number>();
  const counter = new Counter({
    name: `${P}${name}`,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, n] of pending) this.inc({ [label]: value }, n);
      pending.clear();
    },
  });
  return { counter, add: (value: string) => pending.set(value, (pending.get(value) ?? 0) + 1) };
}

/** The counters of ingest and delivery. */
function ingestCounters(registry: Registry) {
  const counter = counterOf(registry);
  const received = tallied(registry, 'received_total', 'Reports received by ingest', 'kind');
  const accepted = tallied(registry, 'accepted_total', 'Reports stored in the spool', 'kind');
  const rejected = counter('rejected_total', 'Requests refused by ingest, by reason', 'reason');
  const duplicates = counter('duplicates_total', 'Repeated (DevEUI, FCntUp) answered 2xx and not delivered again');
  const pushed = tallied(registry, 'pushed_total', 'Reports delivered to ThingWorx (acknowledged)', 'kind');
  const pushFailures = counter('push_failures_total', 'Failed pushes (retried)');
  const latency = new Histogram({
    name: `${P}push_latency_seconds`,
    help: 'From ingest to ThingWorx acknowledgement',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const deadLetters = counter('dead_letters_total', 'Reports moved to the dead-letter table');
  const created = counter('things_created_total', 'Things created');
  const spoolFull = counter('spool_full_total', 'Requests refused because the spool was full');
  return { received, accepted, rejected, duplicates, pushed, pushFailures, latency, deadLetters, created, spoolFull };
}

/** The counters of the ThingWorx connection, its requests, downlinks and failures. */
function thingworxCounters(registry: Registry) {
  const counter = counterOf(registry);
  const reconnects = counter('reconnects_total', 'ThingWorx pipe reconnects');
  const pipeDown = counter('pipe_down_total', 'ThingWorx pipes lost');
  const downlinks = counter(
    'downlinks_total',
    'Downlinks by result (queued, rejected, invalid, failed, abandoned)',
    'result',
  );
  // ThingWorx connection failures by cause (labels are stable cause codes, a bounded set: never messages)
  const connectionFailures = counter(
    'thingworx_failures_total',
    'ThingWorx connections lost or attempts failed, by cause (auth_timeout, ping_timeout, closed_by_platform…)',
    'cause',
  );
  const protocolErrors = counter(
    'protocol_errors_total',
    'Frames from ThingWorx dropped, by cause (bad_message, text_frame, incomplete_multipart, bad_answer)',
    'cause',
  );
  const pingTimeouts = counter(
    'ping_timeouts_total',
    'ThingWorx pipes dropped because the platform went silent past the ping deadline',
  );
  const syncs = counter(
    'thing_syncs_total',
    'Synchronisation requests from ThingWorx (NotifyPropertyUpdate, SynchronizeModelState)',
  );
  const platformRequests = counter(
    'platform_requests_total',
    'Requests from ThingWorx to the bridge, by answer code (SUCCESS, BAD_REQUEST, NOT_FOUND…)',
    'code',
  );
  const bindRejected = counter('bind_rejected_total', 'Things ThingWorx refused to bind');
  const warnings = counter(
    'thingworx_warnings_total',
    'Warnings about the ThingWorx connection, by code (TPX_TLS_INSECURE…)',
    'code',
  );
  const failed = counter(
    'failed_total',
    'Times the bridge gave up on ThingWorx (a failure waiting cannot cure, e.g. the app key refused), by cause',
    'cause',
  );
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
function spoolGauges(registry: Registry, sources: MetricsSources) {
  const gauge = gaugeOf(registry);
  gauge('spool_depth', 'Reports accepted and not yet delivered', () => sources.spoolDepth());
  gauge('spool_writable', '1 when the spool can store reports (0: storage failing, ingest answers 503)', () =>
    sources.storage?.().writable === false ? 0 : 1,
  );
  gauge('spool_free_bytes', "Free bytes of the spool's file system", () => sources.storage?.().freeBytes);
}

/** The Things' gauges: known, unbound, taken, bound. */
function thingGauges(registry: Registry, sources: MetricsSources) {
  const gauge = gaugeOf(registry);
  gauge('things', 'Things known to the bridge', () => sources.things());
  gauge(
    'things_unbound',
    'Things of the bridge not bound to it (taken by another session, refused, lost on a reconnect)',
    () => sources.unbound?.() ?? 0,
  );
  gauge(
    'things_taken',
    'Things another session bound after this bridge (Last in wins); bound again once it lets them go',
    () => sources.taken?.() ?? 0,
  );
  gauge('things_bound', 'Things bound to this bridge', () => sources.bound?.() ?? 0);
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
    .on('ingest.capped', (e) => capped.inc(e.count))
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
      if (e.where === 'thingworx' && e.cause) connectionFailures.inc({ cause: e.cause }, e.count ?? 1);
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
    .on('downlink.abandoned', () => downlinks.inc({ result: 'abandoned' }))
    .on('things.taken', (e) => bindings.inc({ change: 'taken' }, e.count))
    .on('things.refused', (e) => bindings.inc({ change: 'refused' }, e.count))
    .on('things.recovered', (e) => bindings.inc({ change: 'recovered' }, e.count))
    .on('things.took_over', (e) => bindings.inc({ change: 'took_over' }, e.count));
}
