/**
 * `tpx fleet status`: the bridges of a fleet (several bridges sharing uplinks through RabbitMQ), their queues,
 * Things and lag, from the broker (queue depth and consumers) and the bridges' own heartbeats (heard for --wait).
 * Exit 3 when it finds problems (a queue no bridge consumes, a stale or unready bridge…), as a check does.
 */
import type { Command } from 'commander';
import type { FleetStatus } from '../../bridge/fleet/status.js';
import { CheckFailedError, ExitCode } from '../../errors.js';
import { formatDuration, formatElapsed } from '../../util/duration.js';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';
import { brokerUrl, type DurationRange, durationOption, wholeNumberOption } from '../options.js';

export interface FleetStatusOptions {
  queue?: string;
  fleetQueues?: string;
  fleetPrefix?: string;
  wait?: string;
  fleetHeartbeat?: string;
  readyz?: boolean;
}

/** --wait: how long heartbeats are listened for; a bare number counts seconds. */
export const FLEET_WAIT_RANGE: DurationRange = { bare: 's', min: 100, max: 60_000 };
/** The longest number of fleet queues tpx reads. */
export const MAX_FLEET_QUEUES = 1000;
/** The wait for the broker when neither --timeout nor TPX_TIMEOUT is given. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Queue indexes as ranges: 0-5,8,10-11. */
export function indexRanges(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function queueIndex(name: string, prefix: string): number | undefined {
  const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.q\\.(\\d+)$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

export async function runFleetStatus(ctx: CommandContext, opts: FleetStatusOptions): Promise<number | undefined> {
  const waitMs = durationOption('--wait', opts.wait, FLEET_WAIT_RANGE) ?? 3_000;
  const queues = wholeNumberOption(
    '--fleet-queues (or TPX_FLEET_QUEUES)',
    ctx.settings.value('fleetQueues', opts.fleetQueues),
    1,
    MAX_FLEET_QUEUES,
  );
  const prefix = ctx.settings.value('fleetPrefix', opts.fleetPrefix);
  // The bridges' heartbeat period (their --fleet-heartbeat): a heartbeat older than 3 periods is stale.
  const heartbeatMs = durationOption('--fleet-heartbeat', ctx.settings.value('fleetHeartbeat', opts.fleetHeartbeat), {
    bare: 's',
    min: 1000,
    max: 3_600_000,
  });
  const url = brokerUrl(ctx, ctx.settings.require('queue', opts.queue))!;
  const timeoutGiven = ctx.settings.value('timeout', ctx.globals.timeout) !== undefined;
  const connectTimeoutMs = timeoutGiven ? ctx.timeoutMs() : CONNECT_TIMEOUT_MS;
  const { readFleetStatus } = await import('../../bridge/fleet/status.js');
  const { signal, release } = ctx.shutdownSignal();
  let status: FleetStatus;
  try {
    ctx.io.status(`Listening to the fleet's heartbeats for ${formatDuration(waitMs)}…`);
    status = await readFleetStatus({
      url,
      ...(prefix ? { prefix } : {}),
      ...(queues ? { queues } : {}),
      waitMs,
      connectTimeoutMs,
      ...(heartbeatMs ? { heartbeatMs } : {}),
      readyz: Boolean(opts.readyz),
      signal,
    });
  } finally {
    ctx.io.clearStatus();
    release();
  }
  if (ctx.io.json) {
    ctx.io.printJson(status);
    return status.ok ? ExitCode.OK : ExitCode.CHECK_FAILED;
  }
  renderStatus(ctx, status);
  if (!status.ok) {
    throw new CheckFailedError(
      `The fleet has ${status.problems.length} problem(s).`,
      'Start or fix the bridges named above (tpx bridge --queue …), then run "tpx fleet status" again.',
    );
  }
  return undefined;
}

function renderStatus(ctx: CommandContext, s: FleetStatus): void {
  const t = s.totals;
  ctx.io.out(`Fleet "${s.prefix}" at ${s.broker.host} (vhost ${s.broker.vhost}):`);
  ctx.io.out(`${t.bridges} bridge(s), ${t.queues} queue(s), ${t.messages} uplink(s) waiting.`);
  if (s.bridges.length) {
    ctx.io.out(
      ctx.io.table(
        ['bridge', 'ready', 'queues', 'things', 'lag', 'heartbeat'],
        s.bridges.map((b) => {
          const idx = b.queues.map((q) => queueIndex(q, s.prefix)).filter((i): i is number => i !== undefined);
          return [
            b.bridgeId,
            b.ready ? (b.readyz && !b.readyz.ok ? 'no' : 'yes') : 'no',
            b.queues.length ? `${indexRanges(idx)} (${b.queues.length})` : 'standby',
            b.things,
            b.lag,
            b.stale ? `${formatElapsed(b.ageMs)} stale` : `${formatElapsed(b.ageMs)} ago`,
          ];
        }),
      ),
    );
  }
  if (s.deadLetters) {
    ctx.io.out(`${s.deadLetters} report(s) failed for good, in ${s.prefix}.dead.`);
  }
  if (s.problems.length === 0) {
    ctx.io.success(`Every queue has one bridge (heartbeats heard for ${formatElapsed(s.listenedMs || 0)}).`);
    return;
  }
  // Unassigned and missing queues are grouped in one line each, so 16 queues do not make 16 lines.
  const grouped = new Map<string, number[]>();
  for (const p of s.problems) {
    if ((p.kind === 'unassigned-queue' || p.kind === 'missing-queue') && p.queue) {
      const i = queueIndex(p.queue, s.prefix);
      if (i !== undefined) {
        grouped.set(p.kind, [...(grouped.get(p.kind) ?? []), i]);
        continue;
      }
    }
    ctx.io.out(`${ctx.io.color.red('✗')} ${p.message}`);
  }
  const waiting = (kind: string) =>
    s.queues.filter((q) => grouped.get(kind)?.includes(q.index)).reduce((n, q) => n + (q.messages ?? 0), 0);
  const unassigned = grouped.get('unassigned-queue');
  if (unassigned) {
    ctx.io.out(
      `${ctx.io.color.red('✗')} ${unassigned.length} queue(s) have no bridge: ${s.prefix}.q.{${indexRanges(unassigned)}} (${waiting('unassigned-queue')} uplink(s) wait).`,
    );
  }
  const missing = grouped.get('missing-queue');
  if (missing) {
    ctx.io.out(
      `${ctx.io.color.red('✗')} ${missing.length} queue(s) do not exist: ${s.prefix}.q.{${indexRanges(missing)}}.`,
    );
  }
}

export function register(program: Command, app: App): void {
  const cmd = program
    .command('fleet')
    .description('several bridges sharing uplinks through RabbitMQ (tpx bridge --queue)');
  cmd
    .command('status')
    .description("list a fleet's bridges, their queues, Things and lag; exit 3 on problems")
    .option('--queue <url>', 'broker amqp://user:pass@host:5672/vhost (env TPX_QUEUE)')
    .option('--fleet-prefix <prefix>', 'name prefix of the exchanges and queues (default tpx)')
    .option('--fleet-queues <n>', 'number of fleet queues (default 16)')
    .option('--wait <duration>', 'how long to listen to heartbeats (default 3s)')
    .option('--fleet-heartbeat <duration>', "the bridges' heartbeat period: stale after 3 (default 2s)")
    .option('--readyz', "also ask each bridge's /readyz")
    .addHelpText(
      'after',
      `
Problems (exit 3): a queue no bridge consumes or that does not exist, a queue
claimed by two bridges, a stale heartbeat (older than 3 periods), a bridge not
ready. The broker must answer within --timeout (default here 5s), else exit 1.`,
    )
    .action(app.action<FleetStatusOptions>(async (ctx, opts) => runFleetStatus(ctx, opts)));
}
