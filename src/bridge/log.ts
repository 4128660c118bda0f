/**
 * Log lines for bridge events, as text or NDJSON. Library code does not print: the CLI (or the sandbox) writes
 * the strings this returns.
 */
import type { PhraseRef } from '../errors.js';
import { formatDuration, formatElapsed } from '../util/duration.js';
import type { BridgeEventMap, BridgeEventName } from './events.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const DEBUG = new Set<BridgeEventName>([
  'uplink.received',
  'uplink.accepted',
  'uplink.duplicate',
  'push.acked',
  'thing.sync',
  'platform.request',
  // each refused name is also reported as thing.refused (or things.unbound after a reconnect)
  'bind.rejected',
  'fleet.duplicate',
  'push.fenced',
  // one per failed push and retry (thousands in an outage): push.failing says them, folded by cause
  'push.failed',
  // the stop's own doing: bridge.stopped says how many reports are kept
  'push.abandoned',
  'downlink.abandoned',
  // one per refused request (a flood under load): uplink.rejecting says them, folded by reason
  'uplink.rejected',
  // always followed by pipe.down (cause ping_timeout, the same silence in its error): that line is the warning
  'ping.timeout',
]);
/**
 * Consequences of a failure already warned about: visible without --verbose, but not a second warning for it. A
 * reconnect follows the pipe.down (or the failed attempt) that said why.
 */
const INFO_AFTER_WARNING = new Set<BridgeEventName>(['sink.reconnect']);
/** Refusals whose condition has its own warning (spool.full, spool.unwritable) or line (bridge.stopping). */
const SAID_BEFORE = new Set<string>(['spool_full', 'spool_unwritable', 'stopping']);
const WARN = new Set<BridgeEventName>([
  'uplink.rejecting',
  'push.failing',
  'spool.full',
  'spool.unwritable',
  'ingest.capped',
  'dead.letter',
  'pipe.down',
  'thing.refused',
  'things.unbound',
  'things.taken',
  'things.refused',
  'downlink.invalid',
  'downlink.failed',
  'sink.reconnect',
  'protocol.error',
  'sink.warning',
  'fleet.fenced',
]);

/** A connection failure's cause code, in words. */
const CAUSES: Record<string, string> = {
  auth_refused: 'ThingWorx refused the application key',
  auth_timeout: 'ThingWorx accepted the socket but did not answer AUTH',
  auth_unavailable: 'ThingWorx answered AUTH with a server error',
  upgrade_refused: 'ThingWorx refused the WebSocket upgrade',
  tls: 'the TLS handshake failed',
  connect_refused: 'the connection could not be opened',
  connect_timeout: 'opening the connection timed out',
  ping_timeout: 'ThingWorx went silent (no frame, no pong within the deadline)',
  frame_too_large: 'ThingWorx sent a frame larger than the limit',
  bad_frame: 'ThingWorx sent bytes that are not WebSocket frames',
  closed_by_platform: 'ThingWorx closed the socket',
  socket_error: 'the socket failed',
  request_timeout: 'a request timed out',
  withdrawn: 'a fleet push lost its lease while being written (the socket was dropped unwritten)',
};

/** Why frames were dropped, in words. */
const PROTOCOL_CAUSES: Record<string, string> = {
  bad_message: 'binary frame(s) that are not AlwaysOn messages',
  text_frame: 'text frame(s) (AlwaysOn frames are binary)',
  incomplete_multipart: 'multipart message(s) that never completed',
  bad_answer: 'answer(s) to platform requests that could not be encoded',
};

const cause = (c: unknown): string => (typeof c === 'string' ? (CAUSES[c] ?? c) : 'unknown cause');
const pipeName = (p: Record<string, unknown>): string => `ThingWorx pipe${p.pipe !== undefined ? ` ${p.pipe}` : ''}`;
/** A measured time or computed delay ("480ms", "5.2s"), and a configured limit as configured ("5s"): util/duration. */
const secs = (ms: unknown): string => (typeof ms === 'number' ? formatElapsed(ms) : '?');
const limit = (ms: unknown): string => (typeof ms === 'number' ? formatDuration(ms) : '?');

/**
 * The level of an event's log line. `payload` refines a few: a platform request answered with an error is a
 * warning (property writes excepted: downlink.invalid/failed report those).
 */
export function eventLevel<K extends BridgeEventName>(name: K, payload?: BridgeEventMap[K]): LogLevel {
  // the first connection failing again the same way: its first failure was the error line (as reconnects are info)
  if (name === 'error' && (payload as BridgeEventMap['error'] | undefined)?.count !== undefined) return 'info';
  if (name === 'error' || name === 'bridge.failed') return 'error';
  if (name === 'platform.request' && payload) {
    const p = payload as BridgeEventMap['platform.request'];
    if (p.code !== 'SUCCESS' && p.method !== 'PUT') return 'warn';
  }
  // pushes that failed in an outage a pipe.down already warned about; refusals of a condition already warned about
  if (name === 'push.failing' && (payload as BridgeEventMap['push.failing'] | undefined)?.outage) return 'info';
  if (
    name === 'uplink.rejecting' &&
    SAID_BEFORE.has((payload as BridgeEventMap['uplink.rejecting'] | undefined)?.reason ?? '')
  )
    return 'info';
  // the spool still full: the first line was the warning, uplink.rejecting (info) says the refusals of each window
  if (name === 'spool.full' && (payload as BridgeEventMap['spool.full'] | undefined)?.folded) return 'debug';
  // another pipe lost in the same outage (same cause): the first pipe's line was the warning
  if (name === 'pipe.down' && (payload as BridgeEventMap['pipe.down'] | undefined)?.pipesDown) return 'info';
  if (INFO_AFTER_WARNING.has(name)) return 'info';
  if (DEBUG.has(name)) return 'debug';
  if (WARN.has(name)) return 'warn';
  return 'info';
}

/**
 * Words a phrase that names a command or flag (the CLI passes its `say`); without it, the line leaves the
 * advice out.
 */
export type SayPhrase = (ref: PhraseRef) => string;

function describe<K extends BridgeEventName>(name: K, e: BridgeEventMap[K], say?: SayPhrase): string {
  const p = e as Record<string, unknown>;
  const advice = (ref: PhraseRef) => (say ? ` ${say(ref)}` : '');
  return (
    describeLifecycle(name, p, advice) ??
    describeIntake(name, p, advice) ??
    describeThings(name, p, advice) ??
    describeDownlinks(name, p, advice) ??
    describePipes(name, p, advice) ??
    describeFleet(name, p, advice) ??
    describeAny(name, p)
  );
}

type Advice = (ref: PhraseRef) => string;

/** The bridge starting, ready, stopping, failing, and its errors. */
function describeLifecycle(name: string, p: Record<string, unknown>, _advice: Advice): string | undefined {
  switch (name) {
    case 'bridge.listening':
      return `listening on ${p.url}${p.path}`;
    case 'bridge.ready':
      return p.expected !== undefined && (p.things as number) < (p.expected as number)
        ? `connected to ThingWorx (${p.pipes} pipe(s)), but only ${p.things} of ${p.expected} Thing(s) bound: ` +
            '/readyz answers 503 until they are'
        : `ready: ThingWorx connected (${p.pipes} pipe(s)), ${p.things} Thing(s) bound`;
    case 'bridge.stopping':
      return `stopping: intake closed, draining ${p.pending} report(s)`;
    case 'bridge.stopped': {
      // "everything delivered" was untrue for a bridge that never reached ThingWorx: say what is known.
      const never =
        p.connected === false
          ? 'never connected to ThingWorx; '
          : p.ready === false
            ? 'never ready (ThingWorx was reached, its start-up did not finish); '
            : '';
      return (p.pending as number) === 0
        ? `stopped: ${never}nothing left in the spool`
        : `stopped: ${never}${p.pending} report(s) kept in the spool for the next start`;
    }
    case 'bridge.failed':
      return (
        `giving up on ${p.where === 'thingworx' ? 'ThingWorx' : p.where} (${p.code}): ${p.error} Waiting will not ` +
        'cure this; reports already accepted stay in the spool for the next start.'
      );
    case 'error':
      return `${p.where}: ${p.error}${(p.count as number | undefined) ? `; ${p.count} attempts failed the same way since the last line` : ''}`;
    default:
      return undefined;
  }
}

/** Reports received, refused, stored, pushed or dead-lettered; the spool and the ingest. */
function describeIntake(name: string, p: Record<string, unknown>, advice: Advice): string | undefined {
  switch (name) {
    case 'uplink.received':
      return `received ${p.kind}${p.devEui ? ` from ${p.devEui}` : ''}`;
    case 'uplink.rejected':
      return `rejected ${p.status} ${p.reason}${p.devEui ? ` ${p.devEui}` : ''}: ${p.message}`;
    case 'uplink.rejecting':
      return uplinksRejected(p);
    case 'uplink.accepted':
      return `accepted ${p.kind} ${p.devEui}${p.fcnt !== undefined ? ` FCntUp ${p.fcnt}` : ''} (seq ${p.seq})`;
    case 'uplink.duplicate':
      return `duplicate ${p.kind} ${p.devEui}${p.fcnt !== undefined ? ` FCntUp ${p.fcnt}` : ''}: answered, not delivered again`;
    case 'push.acked':
      return `pushed ${p.kind} seq ${p.seq} to ${p.thing} in ${secs(p.latencyMs)}`;
    case 'push.failed':
      return `push to ${p.thing} failed (attempt ${p.attempt}, retry in ${secs(p.retryInMs)}): ${p.error}`;
    case 'push.failing':
      return pushesFailing(p);
    case 'push.abandoned':
      return `push of seq ${p.seq} to ${p.thing} cut short by the stop: kept in the spool for the next start`;
    case 'spool.full':
      return p.folded
        ? `spool still full (${p.depth}/${p.max}): ${p.count} request(s) found it full in the last ${limit(p.windowMs)}`
        : `spool full (${p.depth}/${p.max}): answering 503 until ThingWorx catches up`;
    case 'spool.unwritable':
      return `spool cannot store reports: ${p.reason}${p.freeBytes !== undefined ? ` (${p.freeBytes} bytes free)` : ''}; answering 503 until it can`;
    case 'spool.writable':
      return 'spool can store reports again';
    case 'ingest.capped':
      return p.folded
        ? `ingest refused ${(p.count as number).toLocaleString('en-US')} connection(s) in the last ${limit(p.windowMs)}: ` +
            `${p.max} connections are open (the cap); idle ones close after the keep-alive`
        : `ingest refused a connection: ${p.max} connections are open (the cap); idle ones close after the keep-alive`;
    case 'dead.letter':
      return `dead letter: ${p.kind} seq ${p.seq} of ${p.devEui}: ${p.reason}.${advice({ id: 'dead-letters' })}`;
    case 'dead.replayed':
      return `${p.count} dead letter(s) replayed`;
    case 'push.fenced':
      return `report seq ${p.seq} of ${p.thing} dropped before its push: its queue has another owner now`;
    default:
      return undefined;
  }
}

/** Things listed, bound, unbound, taken, refused, created. */
function describeThings(name: string, p: Record<string, unknown>, advice: Advice): string | undefined {
  switch (name) {
    case 'things.listed':
      return `${p.count} Thing(s) of the template found (${p.pages} page(s))`;
    case 'things.bound':
      return `${p.count} Thing(s) bound`;
    case 'things.unbound':
      return (
        `${p.count} Thing(s) lost their binding when a pipe reconnected (${(p.names as string[]).join(', ')}` +
        `${(p.count as number) > (p.names as string[]).length ? ', …' : ''}): ${p.reason} ` +
        `Uplinks are still stored; downlinks need the binding. Binding again every ${limit(p.retryInMs)}. ` +
        `To end it, set "Last in wins" on the WSCommunicationsSubsystem.${advice({ id: 'close-ghost-sessions' })}`
      );
    case 'things.rebound':
      return `${p.count} Thing(s) bound again${p.remaining ? `, ${p.remaining} still refused` : ''}`;
    case 'things.taken':
      return (
        `${p.count} Thing(s) taken by another session${p.holder ? ` (${p.holder})` : ''}: ${names(p)}. ` +
        'Another connector with the same Things binds them ("Last in wins"); this bridge does not take them back ' +
        'while it holds them, and binds them again once it lets go. Stop the other connector (or restart this ' +
        'one: a start takes every Thing).'
      );
    case 'things.refused':
      return (
        `${p.count} Thing(s) not bound: ${p.reason}: ${names(p)}. Their reports are still stored and pushed; ` +
        'downlinks need the binding. Bound as soon as the holder lets them go.'
      );
    case 'things.recovered':
      return `${p.count} Thing(s) bound again, their holder let them go: ${names(p)}`;
    case 'things.took_over':
      return `${p.count} Thing(s) taken over from another session on purpose: ${names(p)}`;
    case 'thing.created':
      return `created Thing ${p.thing} from ${p.template}`;
    case 'thing.refused':
      return `Thing ${p.thing} refused: ${p.reason}`;
    case 'thing.sync':
      return `ThingWorx asks to synchronise ${p.thing} (${p.service})`;
    case 'bind.rejected':
      return (
        `ThingWorx refused to bind ${p.count} Thing(s) (${(p.names as string[]).join(', ')}` +
        `${(p.count as number) > (p.names as string[]).length ? ', …' : ''}): ${p.reason}`
      );
    default:
      return undefined;
  }
}

/** Downlinks written, sent, refused, reported. */
function describeDownlinks(name: string, p: Record<string, unknown>, _advice: Advice): string | undefined {
  switch (name) {
    case 'downlink.sent':
      return `downlink to ${p.thing} FPort ${p.fport} ${p.result}${p.reason ? `: ${p.reason}` : ''} (${p.correlationId})`;
    case 'downlink.received':
      return `downlink written on ${p.thing}: signing and sending it to ThingPark`;
    case 'downlink.invalid':
      return `downlink write on ${p.thing} refused: ${p.reason}`;
    case 'downlink.failed':
      return `downlink to ${p.thing} failed: ${p.error}`;
    case 'downlink.abandoned':
      return (
        `downlink to ${p.thing} FPort ${p.fport} (${p.correlationId}) cut short by the stop before ThingPark ` +
        'answered: it may or may not be queued'
      );
    case 'downlink.report':
      return `downlink report for ${p.thing}: ${p.delivered ? 'sent' : 'not sent'}`;
    default:
      return undefined;
  }
}

/** The ThingWorx pipes: up, down, reconnecting, dropped frames, pings, requests from the platform. */
function describePipes(name: string, p: Record<string, unknown>, _advice: Advice): string | undefined {
  switch (name) {
    case 'pipe.down': {
      const others = p.pipesDown ? `; ${p.pipesDown} other pipe(s) already down for the same cause` : '';
      return `${pipeName(p)} down${p.cause ? ` (${cause(p.cause)})` : ''}${p.error ? `: ${p.error}` : ''}${others}`;
    }
    case 'pipe.up':
      return `${pipeName(p)} up`;
    case 'sink.reconnect': {
      const when = p.delayMs !== undefined ? ` in ${secs(p.delayMs)}` : '';
      const attempt = p.attempt !== undefined ? ` (attempt ${p.attempt})` : '';
      const repeats = (p.count as number | undefined)
        ? `; ${p.count} attempts failed the same way since the last line`
        : '';
      return `${pipeName(p)} reconnecting${when}${attempt}: ${cause(p.cause)}${p.error ? `: ${p.error}` : ''}${repeats}`;
    }
    case 'protocol.error': {
      const what = PROTOCOL_CAUSES[p.cause as string] ?? `frame(s) (${p.cause})`;
      return `${pipeName(p)} dropped ${p.count} ${what}${p.folded ? ' (last one)' : ''}: ${p.error}`;
    }
    case 'ping.timeout':
      return (
        `${pipeName(p)}: ThingWorx said nothing for ${secs(p.silentMs)}, not even a pong (deadline ` +
        `${limit(p.deadlineMs)}): the platform is frozen or the network path is dead; reconnecting`
      );
    case 'platform.request':
      return (
        `ThingWorx ${p.method} ${p.thing}/${p.name} answered ${p.code}${p.error ? `: ${p.error}` : ''}` +
        `${p.pipe !== undefined ? ` (pipe ${p.pipe})` : ''}`
      );
    case 'sink.warning':
      return `${p.message} (${p.code})`;
    default:
      return undefined;
  }
}

/** The fleet: broker, queues, fencing. */
function describeFleet(name: string, p: Record<string, unknown>, _advice: Advice): string | undefined {
  switch (name) {
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
    default:
      return undefined;
  }
}

/** An event without a sentence: its name and fields. */
function describeAny(name: string, p: Record<string, unknown>): string {
  // An event without a sentence: its name and fields, still one readable line (test/bridge/log.test.ts
  // fails for every event of BridgeEventMap that ends up here).
  return `${name} ${Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ')}`;
}

/**
 * Push failures of one cause: the first on its own ("push to X failed: …"), then the repeats of a window in one line
 * ("1,234 push(es) to 812 Thing(s) failed in the last 10s: …").
 */
function pushesFailing(p: Record<string, unknown>): string {
  const count = p.count as number;
  const things = p.things as number;
  const n = (x: number) => x.toLocaleString('en-US');
  const error = String(p.error).replace(/\.$/, '');
  const why = CAUSES[p.cause as string] ? `${CAUSES[p.cause as string]}: ${error}` : error;
  const window = limit(p.windowMs);
  return !p.folded
    ? `pushes failing: push to ${p.thing} failed: ${why} (retrying in ${secs(p.retryInMs)}; more failures of this ` +
        `cause are counted in one line per ${window})`
    : `pushes failing: ${n(count)} push(es) to ${n(things)} Thing(s) failed in the last ${window} (last: ` +
        `${p.thing}): ${why} (retried with back-off, latest delay ${secs(p.retryInMs)})`;
}

/**
 * Refused requests of one status and reason: the first on its own (as uplink.rejected says it), then the repeats of a
 * window in one line ("1,234 request(s) refused 503 spool_full in the last 10 s (last: …): …").
 */
function uplinksRejected(p: Record<string, unknown>): string {
  const count = p.count as number;
  const window = limit(p.windowMs);
  const last = p.devEui ? ` (last: ${p.devEui})` : '';
  return !p.folded
    ? `rejected ${p.status} ${p.reason}${p.devEui ? ` ${p.devEui}` : ''}: ${p.message} (more refusals of this ` +
        `reason are counted in one line per ${window})`
    : `rejected ${count.toLocaleString('en-US')} request(s) ${p.status} ${p.reason} in the last ${window}${last}: ` +
        `${p.message}`;
}

/** A few names of a `{count, sample}` event, with "…" when there are more. */
function names(p: Record<string, unknown>): string {
  const sample = p.sample as string[];
  return `${sample.join(', ')}${(p.count as number) > sample.length ? `, … (${p.count} in all)` : ''}`;
}

/** One log line (no newline) for an event; `say` words the advice that names a command (src/cli/phrases.ts). */
export function formatEvent<K extends BridgeEventName>(
  name: K,
  payload: BridgeEventMap[K],
  format: 'text' | 'json',
  now: Date = new Date(),
  say?: SayPhrase,
): string {
  const level = eventLevel(name, payload);
  if (format === 'json') return JSON.stringify({ time: now.toISOString(), level, event: name, ...payload });
  return `${now.toISOString()} ${level.padEnd(5)} ${describe(name, payload, say)}`;
}
