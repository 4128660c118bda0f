/**
 * A fleet's state as the broker and the bridges tell it (`tpx fleet status`): each queue's depth and consumers
 * (AMQP `queue.declare passive`, so nothing is created), and the heartbeats the bridges publish on the status
 * exchange, heard for a short window through a server-named exclusive queue (deleted by the broker when the
 * connection closes). Optionally each bridge's /readyz. Returns data, with the problems found; never prints.
 */
import { TpxError } from '../../errors.js';
import { AMQP_PORTS, amqpUrlParts } from '../../util/amqp-url.js';
import { formatDuration, formatElapsed } from '../../util/duration.js';
import { httpRequest } from '../../util/http.js';
import { parseHeartbeat } from './heartbeat.js';
import { type BridgeHeartbeat, FLEET_DEFAULTS, fleetNames } from './types.js';

export interface FleetStatusOptions {
  /** amqp://user:pass@host:5672/vhost */
  url: string;
  prefix?: string;
  /** Number of queues of the fleet (0..queues-1 are checked). */
  queues?: number;
  /** How long to listen for heartbeats. */
  waitMs: number;
  /** Longest wait for the broker to answer the connection. */
  connectTimeoutMs: number;
  /** The bridges' heartbeat period: a heartbeat older than 3 periods is stale. */
  heartbeatMs?: number;
  /** Also ask each bridge that gives a URL for its /readyz (bounded by connectTimeoutMs). */
  readyz?: boolean;
  signal?: AbortSignal;
  /** Called once the status queue is bound, before the window starts (tests publish heartbeats then). */
  onListening?: () => void | Promise<void>;
  now?: () => number;
}

export interface QueueStatus {
  name: string;
  index: number;
  exists: boolean;
  /** Uplinks ready in the queue (not yet delivered to a bridge); null when the queue does not exist. */
  messages: number | null;
  /** Consumers the broker counts (the active one and those waiting under single active consumer). */
  consumers: number | null;
  /** Bridges whose heartbeat names this queue as theirs (one when all is well). */
  owners: string[];
}

export interface BridgeStatus extends BridgeHeartbeat {
  /** When its last heartbeat was heard (ISO) and how old its `time` was then (ms). */
  heardAt: string;
  ageMs: number;
  heartbeats: number;
  stale: boolean;
  /** Uplinks waiting for this bridge: ready in its queues, plus those in flight. */
  lag: number;
  readyz?: { ok: boolean; status?: number; error?: string };
}

export type FleetProblemKind =
  | 'no-exchange'
  | 'no-status-exchange'
  | 'no-bridges'
  | 'missing-queue'
  | 'unassigned-queue'
  | 'unknown-consumer'
  | 'shared-queue'
  | 'stale-bridge'
  | 'bridge-not-ready'
  | 'readyz-failed'
  | 'foreign-queue';

export interface FleetProblem {
  kind: FleetProblemKind;
  message: string;
  queue?: string;
  bridgeId?: string;
}

export interface FleetStatus {
  broker: { host: string; vhost: string };
  prefix: string;
  exchange: string;
  statusExchange: string;
  listenedMs: number;
  queues: QueueStatus[];
  bridges: BridgeStatus[];
  totals: { bridges: number; queues: number; messages: number; things: number; inFlight: number };
  /** Reports that failed for good, in the fleet's dead-letter queue (`<prefix>.dead`); null when it does not exist. */
  deadLetters: number | null;
  problems: FleetProblem[];
  ok: boolean;
}

/** Host:port and virtual host of a broker URL, never its password. */
export function brokerAddress(url: string): { host: string; vhost: string } {
  try {
    const u = amqpUrlParts(url);
    return { host: `${u.hostname}:${u.port ?? AMQP_PORTS['amqp:']}`, vhost: u.vhost || '/' };
  } catch {
    return { host: url.replace(/\/\/[^@/]*@/, '//'), vhost: '/' };
  }
}

type Amqp = typeof import('amqplib');
type ChannelModel = Awaited<ReturnType<Amqp['connect']>>;
type Channel = Awaited<ReturnType<ChannelModel['createChannel']>>;

/**
 * Connects within `timeoutMs`, or throws TPX_FLEET_UNREACHABLE / TPX_FLEET_AUTH naming the broker and the time
 * (`tpx fleet status`, and every connection of a fleet bridge). `name`: the connection's name the broker shows.
 */
export async function connectBroker(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  name?: string,
): Promise<ChannelModel> {
  const amqp = await import('amqplib');
  const { host, vhost } = brokerAddress(url);
  const details = { host, vhost, timeoutMs };
  let timer: NodeJS.Timeout | undefined;
  const attempt = amqp.connect(url, {
    timeout: timeoutMs,
    ...(name ? { clientProperties: { connection_name: name } } : {}),
  });
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TpxError(
            'TPX_FLEET_UNREACHABLE',
            `The fleet broker at ${host} did not answer within ${formatDuration(timeoutMs)}.`,
            {
              fix: { id: 'fleet-broker', auth: false },
              details: { ...details, phase: 'timeout' },
            },
          ),
        ),
      timeoutMs,
    );
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  try {
    return await Promise.race([attempt, expired]);
  } catch (err) {
    // A connection that opens after we gave up is closed at once.
    attempt.then((c) => c.close()).catch(() => {});
    if (err instanceof TpxError || err === signal?.reason) throw err;
    const e = err as NodeJS.ErrnoException & { message: string };
    const text = `${e.code ?? ''} ${e.message ?? ''}`;
    if (/ACCESS[-_]REFUSED|403|PLAIN login refused|authentication/i.test(text)) {
      throw new TpxError('TPX_FLEET_AUTH', `The fleet broker at ${host} refused the user or its password.`, {
        fix: { id: 'fleet-broker', auth: true },
        details: { ...details, cause: e.message },
        cause: err,
      });
    }
    if (/NOT[-_]ALLOWED|530|vhost/i.test(text)) {
      throw new TpxError('TPX_FLEET_AUTH', `The fleet broker at ${host} refused the virtual host ${vhost}.`, {
        fix: { id: 'fleet-broker', auth: true },
        details: { ...details, cause: e.message },
        cause: err,
      });
    }
    if (/Frame size|Expected AMQP|frame/i.test(text)) {
      throw new TpxError(
        'TPX_FLEET_UNREACHABLE',
        `Cannot reach the fleet broker at ${host}: what answered does not speak AMQP.`,
        {
          fix: { id: 'fleet-broker', auth: false },
          details: { ...details, errno: e.message },
          cause: err,
        },
      );
    }
    const why = e.code || e.message?.split('\n')[0] || 'no answer';
    throw new TpxError('TPX_FLEET_UNREACHABLE', `Cannot reach the fleet broker at ${host} (${why}).`, {
      fix: { id: 'fleet-broker', auth: false },
      details: { ...details, errno: why },
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** A channel for passive checks: a failed check closes the channel, so each check may need a new one. */
class Checker {
  private ch: Channel | undefined;
  constructor(private readonly conn: ChannelModel) {}
  private async channel(): Promise<Channel> {
    if (!this.ch) {
      const ch = await this.conn.createChannel();
      ch.on('error', () => {}); // a 404 of a passive check: reported by the rejected call
      ch.on('close', () => {
        if (this.ch === ch) this.ch = undefined;
      });
      this.ch = ch;
    }
    return this.ch;
  }
  /** The queue's counts, or undefined when it does not exist (404). */
  async queue(name: string): Promise<{ messageCount: number; consumerCount: number } | undefined> {
    try {
      return await (await this.channel()).checkQueue(name);
    } catch (err) {
      this.ch = undefined;
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  async exchange(name: string): Promise<boolean> {
    try {
      await (await this.channel()).checkExchange(name);
      return true;
    } catch (err) {
      this.ch = undefined;
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e?.code === 404 || /NOT_FOUND|404/.test(e?.message ?? '');
}

type Heard = Map<string, { hb: BridgeHeartbeat; heardAt: number; heartbeats: number }>;
type Connection = Awaited<ReturnType<typeof connectBroker>>;
type FleetNames = ReturnType<typeof fleetNames>;

/** Reads the fleet's state: queues from the broker, bridges from their heartbeats during `waitMs`. */
export async function readFleetStatus(o: FleetStatusOptions): Promise<FleetStatus> {
  const now = o.now ?? Date.now;
  const prefix = o.prefix ?? FLEET_DEFAULTS.prefix;
  const count = o.queues ?? FLEET_DEFAULTS.queues;
  const heartbeatMs = o.heartbeatMs ?? FLEET_DEFAULTS.heartbeatMs;
  const names = fleetNames(prefix);
  const conn = await connectBroker(o.url, o.connectTimeoutMs, o.signal);
  conn.on('error', () => {}); // reported by the calls that fail
  const problems: FleetProblem[] = [];
  const heard: Heard = new Map();
  let listenedMs = 0;
  let deadLetters: number | null = null;
  let queues: QueueStatus[] = [];
  try {
    const check = new Checker(conn);
    if (!(await check.exchange(names.uplinks))) {
      problems.push({
        kind: 'no-exchange',
        message: `The exchange ${names.uplinks} does not exist: no bridge of this fleet has started yet, or the prefix is another.`,
      });
    }
    if (await check.exchange(names.status)) {
      listenedMs = await listenForHeartbeats(conn, names, o, now, heard);
    } else {
      problems.push({
        kind: 'no-status-exchange',
        message: `The status exchange ${names.status} does not exist: no bridge of this fleet has sent a heartbeat.`,
      });
    }
    deadLetters = (await check.queue(names.dead))?.messageCount ?? null;
    queues = await readQueues(check, names, count, heard);
  } finally {
    await conn.close().catch(() => {});
  }

  const byName = new Map(queues.map((q) => [q.name, q]));
  const bridges = bridgeStatuses(heard, byName, now(), heartbeatMs);
  if (o.readyz) await askReadyz(bridges, o);

  const heardSeconds = formatDuration(o.waitMs);
  if (heard.size === 0 && !problems.some((p) => p.kind === 'no-status-exchange')) {
    problems.push({ kind: 'no-bridges', message: `No bridge sent a heartbeat within ${heardSeconds}.` });
  }
  problems.push(...queueProblems(queues, heardSeconds), ...bridgeProblems(bridges, byName, count, heartbeatMs));
  return {
    broker: brokerAddress(o.url),
    prefix,
    exchange: names.uplinks,
    statusExchange: names.status,
    listenedMs,
    queues,
    bridges,
    totals: {
      bridges: bridges.length,
      queues: queues.length,
      messages: queues.reduce((n, q) => n + (q.messages ?? 0), 0),
      things: bridges.reduce((n, b) => n + (b.things ?? 0), 0),
      inFlight: bridges.reduce((n, b) => n + (b.inFlight ?? 0), 0),
    },
    deadLetters,
    problems,
    ok: problems.length === 0,
  };
}

/** Listens to the bridges' heartbeats for `waitMs` (or until stopped); returns how long it listened. */
async function listenForHeartbeats(
  conn: Connection,
  names: FleetNames,
  o: FleetStatusOptions,
  now: () => number,
  heard: Heard,
): Promise<number> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  // Acked with a prefetch into a short queue, as the bridges read heartbeats: a reader that stalls never
  // throttles the bridges (credit flow).
  const { queue } = await ch.assertQueue('', {
    exclusive: true,
    autoDelete: true,
    durable: false,
    arguments: { 'x-max-length': 100, 'x-overflow': 'drop-head' },
  });
  await ch.bindQueue(queue, names.status, '');
  await ch.prefetch(20);
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    ch.ack(msg);
    const hb = parseHeartbeat(msg.content);
    if (!hb) return;
    const prev = heard.get(hb.bridgeId);
    heard.set(hb.bridgeId, { hb, heardAt: now(), heartbeats: (prev?.heartbeats ?? 0) + 1 });
  });
  await o.onListening?.();
  const started = now();
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, o.waitMs);
    o.signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
  const listenedMs = now() - started;
  await ch.close().catch(() => {});
  return listenedMs;
}

/** The fleet's queues as the broker sees them, with the bridges that claim each. */
async function readQueues(check: Checker, names: FleetNames, count: number, heard: Heard): Promise<QueueStatus[]> {
  const queues: QueueStatus[] = [];
  const owners = new Map<string, string[]>();
  for (const { hb } of heard.values()) {
    for (const q of hb.queues) owners.set(q, [...(owners.get(q) ?? []), hb.bridgeId]);
  }
  for (let i = 0; i < count; i++) {
    const name = names.queue(i);
    const q = await check.queue(name);
    queues.push({
      name,
      index: i,
      exists: q !== undefined,
      messages: q?.messageCount ?? null,
      consumers: q?.consumerCount ?? null,
      owners: (owners.get(name) ?? []).sort(),
    });
  }
  return queues;
}

/** The bridges heard, with the age of their last heartbeat and their lag, by id. */
function bridgeStatuses(
  heard: Heard,
  byName: Map<string, QueueStatus>,
  end: number,
  heartbeatMs: number,
): BridgeStatus[] {
  return [...heard.values()]
    .map(({ hb, heardAt, heartbeats }) => {
      const sent = Date.parse(hb.time);
      const ageMs = Number.isFinite(sent) ? Math.max(0, end - sent) : Number.POSITIVE_INFINITY;
      const lag = hb.queues.reduce((n, q) => n + (byName.get(q)?.messages ?? 0), 0) + (hb.inFlight ?? 0);
      return {
        ...hb,
        heardAt: new Date(heardAt).toISOString(),
        ageMs: Number.isFinite(ageMs) ? ageMs : -1,
        heartbeats,
        stale: !Number.isFinite(ageMs) || ageMs > 3 * heartbeatMs,
        lag,
      };
    })
    .sort((a, b) => a.bridgeId.localeCompare(b.bridgeId));
}

/** Asks each bridge's /readyz (with --readyz). */
async function askReadyz(bridges: BridgeStatus[], o: FleetStatusOptions): Promise<void> {
  await Promise.all(
    bridges.map(async (b) => {
      if (!b.url) return;
      try {
        const r = await httpRequest({
          method: 'GET',
          url: new URL('/readyz', b.url),
          timeoutMs: o.connectTimeoutMs,
          service: `bridge ${b.bridgeId}`,
          operation: 'asking /readyz',
          ...(o.signal ? { signal: o.signal } : {}),
        });
        b.readyz = { ok: r.status >= 200 && r.status < 300, status: r.status };
      } catch (err) {
        b.readyz = { ok: false, error: (err as Error).message };
      }
    }),
  );
}

/** Queues missing, shared, unassigned, or consumed by something that is no bridge of the fleet. */
function queueProblems(queues: QueueStatus[], heardSeconds: string): FleetProblem[] {
  const problems: FleetProblem[] = [];
  for (const q of queues) {
    if (!q.exists) {
      problems.push({ kind: 'missing-queue', queue: q.name, message: `The queue ${q.name} does not exist.` });
    } else if (q.owners.length > 1) {
      problems.push({
        kind: 'shared-queue',
        queue: q.name,
        message: `The queue ${q.name} is claimed by ${q.owners.length} bridges (${q.owners.join(', ')}).`,
      });
    } else if (q.owners.length === 0 && (q.consumers ?? 0) > 0) {
      // A bridge learns that it owns a queue from the queue's first delivery: an idle queue with consumers is
      // fine. Uplinks waiting in a queue that has consumers but no owner mean a consumer that does not take them.
      if ((q.messages ?? 0) > 0) {
        problems.push({
          kind: 'unknown-consumer',
          queue: q.name,
          message: `The queue ${q.name} has ${q.consumers} consumer(s) and ${q.messages} uplink(s) waiting, but no bridge heard within ${heardSeconds} claims it.`,
        });
      }
    } else if (q.owners.length === 0) {
      problems.push({
        kind: 'unassigned-queue',
        queue: q.name,
        message: `The queue ${q.name} has no consumer: its uplinks wait (${q.messages} now).`,
      });
    }
  }
  return problems;
}

/** Bridges on foreign queues, stale, not ready, or whose /readyz failed. */
function bridgeProblems(
  bridges: BridgeStatus[],
  byName: Map<string, QueueStatus>,
  count: number,
  heartbeatMs: number,
): FleetProblem[] {
  const problems: FleetProblem[] = [];
  for (const b of bridges) {
    for (const q of b.queues) {
      if (!byName.has(q)) {
        problems.push({
          kind: 'foreign-queue',
          queue: q,
          bridgeId: b.bridgeId,
          message: `Bridge ${b.bridgeId} consumes ${q}, which is not one of this fleet's ${count} queues (another queue count?).`,
        });
      }
    }
    if (b.stale) {
      problems.push({
        kind: 'stale-bridge',
        bridgeId: b.bridgeId,
        message: `Bridge ${b.bridgeId}'s last heartbeat is ${b.ageMs < 0 ? 'unreadable' : `${formatElapsed(b.ageMs)} old`} (the period is ${formatDuration(heartbeatMs)}).`,
      });
    }
    if (!b.ready) {
      problems.push({ kind: 'bridge-not-ready', bridgeId: b.bridgeId, message: `Bridge ${b.bridgeId} is not ready.` });
    }
    if (b.readyz && !b.readyz.ok) {
      problems.push({
        kind: 'readyz-failed',
        bridgeId: b.bridgeId,
        message: `Bridge ${b.bridgeId}'s /readyz at ${b.url} ${b.readyz.status ? `answered ${b.readyz.status}` : `failed: ${b.readyz.error}`}.`,
      });
    }
  }
  return problems;
}
