/**
 * Log lines for bridge events, as text or NDJSON. Library code does not print: the CLI (or the sandbox) writes
 * the strings this returns.
 */
import type { BridgeEventMap, BridgeEventName } from './events.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const DEBUG = new Set<BridgeEventName>([
  'uplink.received',
  'uplink.accepted',
  'uplink.duplicate',
  'push.acked',
  'fleet.duplicate',
  'push.fenced',
]);
const WARN = new Set<BridgeEventName>([
  'uplink.rejected',
  'push.failed',
  'spool.full',
  'spool.unwritable',
  'ingest.capped',
  'dead.letter',
  'pipe.down',
  'thing.refused',
  'things.unbound',
  'downlink.invalid',
  'downlink.failed',
  'fleet.fenced',
]);

export function eventLevel(name: BridgeEventName): LogLevel {
  if (name === 'error') return 'error';
  if (DEBUG.has(name)) return 'debug';
  if (WARN.has(name)) return 'warn';
  return 'info';
}

function describe<K extends BridgeEventName>(name: K, e: BridgeEventMap[K]): string {
  const p = e as Record<string, unknown>;
  switch (name) {
    case 'bridge.listening':
      return `listening on ${p.url}${p.path}`;
    case 'bridge.ready':
      return `ready: ThingWorx connected (${p.pipes} pipe(s)), ${p.things} Thing(s) bound`;
    case 'bridge.stopping':
      return `stopping: intake closed, draining ${p.pending} report(s)`;
    case 'bridge.stopped':
      // "everything delivered" was untrue for a bridge that never reached ThingWorx: say what is known.
      return p.drained ? 'stopped: nothing left in the spool' : `stopped: ${p.pending} report(s) kept in the spool`;
    case 'uplink.received':
      return `received ${p.kind}${p.devEui ? ` from ${p.devEui}` : ''}`;
    case 'uplink.rejected':
      return `rejected ${p.status} ${p.reason}${p.devEui ? ` ${p.devEui}` : ''}: ${p.message}`;
    case 'uplink.accepted':
      return `accepted ${p.kind} ${p.devEui}${p.fcnt !== undefined ? ` FCntUp ${p.fcnt}` : ''} (seq ${p.seq})`;
    case 'uplink.duplicate':
      return `duplicate ${p.kind} ${p.devEui}${p.fcnt !== undefined ? ` FCntUp ${p.fcnt}` : ''}: answered, not delivered again`;
    case 'push.acked':
      return `pushed ${p.kind} seq ${p.seq} to ${p.thing} in ${(p.latencyMs as number).toFixed(1)} ms`;
    case 'push.failed':
      return `push to ${p.thing} failed (attempt ${p.attempt}, retry in ${p.retryInMs} ms): ${p.error}`;
    case 'spool.full':
      return `spool full (${p.depth}/${p.max}): answering 503 until ThingWorx catches up`;
    case 'spool.unwritable':
      return `spool cannot store reports: ${p.reason}${p.freeBytes !== undefined ? ` (${p.freeBytes} bytes free)` : ''}; answering 503 until it can`;
    case 'spool.writable':
      return 'spool can store reports again';
    case 'ingest.capped':
      return `ingest refused a connection: ${p.max} connections are open (the cap); idle ones close after the keep-alive`;
    case 'things.listed':
      return `${p.count} Thing(s) of the template found (${p.pages} page(s))`;
    case 'things.bound':
      return `${p.count} Thing(s) bound`;
    case 'things.unbound':
      return (
        `${p.count} Thing(s) lost their binding when a pipe reconnected (${(p.names as string[]).join(', ')}` +
        `${(p.count as number) > (p.names as string[]).length ? ', …' : ''}): ${p.reason} ` +
        `Uplinks are still stored; downlinks need the binding. Binding again every ${Math.round((p.retryInMs as number) / 1000)}s; ` +
        'to end it, close the ghost sessions (tpx thingworx check --admin-key KEY --fix) or set "Last in wins".'
      );
    case 'things.rebound':
      return `${p.count} Thing(s) bound again${p.remaining ? `, ${p.remaining} still refused` : ''}`;
    case 'thing.created':
      return `created Thing ${p.thing} from ${p.template}`;
    case 'thing.refused':
      return `Thing ${p.thing} refused: ${p.reason}`;
    case 'dead.letter':
      return `dead letter: ${p.kind} seq ${p.seq} of ${p.devEui}: ${p.reason} (tpx bridge dead-letters)`;
    case 'dead.replayed':
      return `${p.count} dead letter(s) replayed`;
    case 'downlink.sent':
      return `downlink to ${p.thing} FPort ${p.fport} ${p.result}${p.reason ? `: ${p.reason}` : ''} (${p.correlationId})`;
    case 'downlink.received':
      return `downlink written on ${p.thing}: signing and sending it to ThingPark`;
    case 'downlink.invalid':
      return `downlink write on ${p.thing} refused: ${p.reason}`;
    case 'downlink.failed':
      return `downlink to ${p.thing} failed: ${p.error}`;
    case 'downlink.report':
      return `downlink report for ${p.thing}: ${p.delivered ? 'sent' : 'not sent'}`;
    case 'pipe.down':
      return `ThingWorx pipe${p.pipe !== undefined ? ` ${p.pipe}` : ''} down${p.error ? `: ${p.error}` : ''}`;
    case 'pipe.up':
      return `ThingWorx pipe${p.pipe !== undefined ? ` ${p.pipe}` : ''} up`;
    case 'sink.reconnect':
      return `ThingWorx pipe${p.pipe !== undefined ? ` ${p.pipe}` : ''} reconnecting`;
    case 'fleet.connected':
      return `fleet: ${p.bridgeId} connected to the broker (${p.queues} queues)`;
    case 'fleet.fenced':
      return `fleet: ${p.reason}; stopped pushing, released ${p.queues} queue(s) and ${p.things} Thing(s); reconnecting`;
    case 'fleet.acquired':
      return `fleet: active consumer of ${p.queue}`;
    case 'fleet.released':
      return `fleet: handed ${p.queue} back (${p.reason}), ${p.things} Thing(s) unbound`;
    case 'fleet.duplicate':
      return `fleet: redelivered ${p.devEui} FCntUp ${p.fcnt} was pushed already: acknowledged, not pushed again`;
    case 'push.fenced':
      return `report seq ${p.seq} of ${p.thing} dropped before its push: its queue has another owner now`;
    case 'error':
      return `${p.where}: ${p.error}`;
    default:
      // An event without a sentence: its name and fields, still one readable line (test/bridge/log.test.ts
      // fails for every event of BridgeEventMap that ends up here).
      return `${name} ${Object.entries(p)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ')}`;
  }
}

/** One log line (no newline) for an event. */
export function formatEvent<K extends BridgeEventName>(
  name: K,
  payload: BridgeEventMap[K],
  format: 'text' | 'json',
  now: Date = new Date(),
): string {
  const level = eventLevel(name);
  if (format === 'json') return JSON.stringify({ time: now.toISOString(), level, event: name, ...payload });
  return `${now.toISOString()} ${level.padEnd(5)} ${describe(name, payload)}`;
}
