/**
 * `tpx bridge [run]`: the connector in the foreground (ThingPark tunnel -> spool -> ThingWorx AlwaysOn, and
 * downlinks back). `tpx bridge dead-letters [list|replay]`: reports that failed for good.
 */

import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import type { App } from '../app.js';
import type { PlatformFlags } from '../clients.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { brokerUrl, durationOption, wholeNumberOption } from '../options.js';
import { say } from '../phrases.js';

const DAY = 86_400_000;

export interface BridgeRunOptions extends PlatformFlags {
  listen?: string;
  path?: string;
  asId?: string;
  asKey?: string;
  verifyTokens?: boolean;
  maxTimeSkew?: string;
  bindCheck?: string;
  takeOver?: boolean;
  spoolDir?: string;
  maxDevices?: string;
  maxSpool?: string;
  maxConnections?: string;
  maxBody?: string;
  dedupWindow?: string;
  pipeCount?: string;
  template?: string;
  driverTimeout?: string;
  logFormat?: string;
  drainTimeout?: string;
  pingDeadline?: string;
  spoolGather?: string;
  durability?: string;
  tlsCert?: string;
  tlsKey?: string;
  queue?: string;
  fleetQueues?: string;
  fleetPrefix?: string;
  bridgeId?: string;
  fleetHeartbeat?: string;
  adminKey?: string;
}

/** The default spool directory: $XDG_STATE_HOME/tpx/spool/<profile>. */
export function defaultSpoolDir(ctx: CommandContext): string {
  const base = ctx.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'tpx', 'spool', ctx.settings.profileName);
}

/**
 * The spool directory (flag > env > profile > the default), refused as a usage error naming where it came from
 * when it is a file, or lies under one (the spool would fail later with "Cannot create the spool directory …:
 * EEXIST").
 */
export function spoolDirOf(ctx: CommandContext, flagValue: string | undefined): string {
  const set = ctx.settings.value('spoolDir', flagValue);
  const dir = set ?? defaultSpoolDir(ctx);
  let file: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) file = dir;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') return dir; // missing: the bridge creates it
    // A parent is a file: name the first one.
    for (let p = dirname(dir); p !== dirname(p) && !file; p = dirname(p)) {
      try {
        if (statSync(p).isFile()) file = p;
      } catch {}
    }
    file ??= dir;
  }
  if (file === undefined) return dir;
  const label = ctx.valueLabel('spoolDir', flagValue);
  const where = set === undefined ? 'the default for this profile' : label;
  const what = file === dir ? 'is a file, not a directory' : `lies under ${file}, a file, not a directory`;
  throw new UsageError(
    `The spool directory ${dir} (${where}) ${what}.`,
    `Give ${label} a directory (tpx creates it when missing), or move ${file} away.`,
    { setting: 'spoolDir', got: dir },
  );
}

/** A duration setting (flag > env > profile): 500ms, 5s, 2m; a bare number is seconds; 0 up to `max`. */
// A bad value is named by where it came from (the flag, its TPX_* variable or the profile key): ctx.valueLabel.
function duration(ctx: CommandContext, key: string, flag: string, value: string | undefined, def: number, max: number) {
  const label = value === undefined ? ctx.valueLabel(key) : flag;
  return durationOption(label, ctx.settings.value(key, value), { bare: 's', min: 0, max }) ?? def;
}

function int(ctx: CommandContext, key: string, flag: string, value: string | undefined, def: number, min = 0) {
  const v = ctx.settings.value(key, value);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    const label = value === undefined ? ctx.valueLabel(key) : flag;
    throw new UsageError(
      `${label} "${v}" is not a whole number >= ${min}.`,
      `Give ${label} a whole number of at least ${min}.`,
    );
  }
  return n;
}

type BridgeModule = typeof import('../../bridge/index.js');
type RunningBridge = Awaited<ReturnType<BridgeModule['startConnectedBridge']>>;
interface BridgeCounts {
  accepted: number;
  pushed: number;
  rejected: number;
}

export async function runBridge(ctx: CommandContext, o: BridgeRunOptions & GlobalOptions): Promise<number> {
  const bridgeMod = await import('../../bridge/index.js');
  const { options, logFormat, verifyTokens } = await bridgeRunOptions(ctx, o, bridgeMod);
  if (!verifyTokens) ctx.io.warn('uplink token verification is OFF: anyone who reaches the ingest can post reports.');
  // --insecure: the bridge's own warning (sink.warning TPX_TLS_INSECURE) says it once, in the log

  const events = new bridgeMod.BridgeEvents();
  const counts: BridgeCounts = { accepted: 0, pushed: 0, rejected: 0 };
  logBridgeEvents(ctx, bridgeMod, events, counts, logFormat);
  const { signal, release } = ctx.shutdownSignal();
  const holders = await holderLookup(ctx, o, options);
  const drivers = await (await import('./driver.js')).startProfileDrivers(ctx, o.driverTimeout).catch(async (err) => {
    await holders?.close();
    throw err;
  });
  const bridge = await bridgeMod
    .startConnectedBridge({
      ...options,
      events,
      decoder: drivers?.decoder,
      ...(holders ? { holderOf: holders.holderOf } : {}),
    })
    .catch(async (err: unknown) => {
      await drivers?.close();
      await holders?.close();
      throw err;
    });
  drivers?.attach(bridge.metrics);
  const timer =
    ctx.io.isStderrTTY && !ctx.io.json && !ctx.io.quiet && logFormat === 'text'
      ? startStatusLine(ctx, bridge, counts)
      : undefined;
  // Runs until Ctrl-C, or until the bridge gives up on ThingWorx (an application key it refuses: retrying cannot
  // help, so say what failed and exit 1 rather than retry forever looking alive).
  const failure = await Promise.race([
    new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      else signal.addEventListener('abort', () => resolve(undefined), { once: true });
    }),
    bridge.whenFailed(),
  ]);
  if (timer) clearInterval(timer);
  await bridge.stop(failure ? { drainTimeoutMs: 0 } : {});
  await drivers?.close();
  await holders?.close();
  release();
  if (failure) throw failure;
  return 0;
}

/**
 * With an administrator's key (flag, env or profile; never prompted for): who holds the Things another connector
 * took, for the bind check's `things.taken` (listing AlwaysOn sessions is an administrator's service). The key is
 * sent to ThingWorx, so the bridge says where it came from. Undefined without one (no lookup).
 */
async function holderLookup(
  ctx: CommandContext,
  o: BridgeRunOptions,
  options: { thingworxUrl: string; appKey: string; ca?: string | undefined; insecure: boolean; pipeCount: number },
) {
  const found = ctx.sourced('thingworxAdminKey', o.adminKey);
  if (!found) return undefined;
  const { livenessOf } = await import('./thingworx-check.js');
  const liveness = livenessOf(ctx, {}); // a bad liveness setting is a usage error before anything is said
  ctx.io.info(`The holder of Things another connector takes is named with the administrator's key of ${found.source}.`);
  const { bridgeHolders } = await import('../holders.js');
  return bridgeHolders(ctx.io, {
    thingworxUrl: options.thingworxUrl,
    appKey: options.appKey,
    adminKey: found.value,
    ca: options.ca,
    insecure: options.insecure,
    pipeCount: options.pipeCount,
    timeoutMs: ctx.timeoutMs(),
    liveness,
  });
}

/** The flags people type, checked before anything is resolved or started. */
function checkBridgeFlags(ctx: CommandContext, o: BridgeRunOptions, bridgeMod: BridgeModule) {
  const D = bridgeMod.BRIDGE_DEFAULTS;
  durationOption('--driver-timeout', o.driverTimeout, { bare: 'ms', min: 1, max: 60_000 });
  const s = ctx.settings;
  const verifySetting = s.value('verifyTokens', o.verifyTokens === false ? 'false' : undefined);
  const verifyTokens = !(verifySetting !== undefined && /^(false|0|no|off)$/i.test(verifySetting));
  const logFormat = s.value('logFormat', o.logFormat, 'text');
  if (logFormat !== 'text' && logFormat !== 'json') {
    throw new UsageError(
      `--log-format "${logFormat}" is not text or json.`,
      'Use --log-format text or --log-format json.',
    );
  }
  const durability = o.durability ?? 'full';
  if (durability !== 'full' && durability !== 'normal') throw new UsageError('--durability is full or normal.');
  const listen = s.value('listen', o.listen, D.listen)!;
  try {
    bridgeMod.parseListen(listen);
  } catch {
    throw new UsageError(
      `--listen "${listen}" is not HOST:PORT.`,
      'Use e.g. --listen 127.0.0.1:8080 or --listen 0.0.0.0:8443.',
    );
  }
  const path = s.value('bridgePath', o.path, D.path)!;
  if (!path.startsWith('/')) throw new UsageError(`--path "${path}" must start with "/".`);
  return {
    verifyTokens,
    logFormat: logFormat as 'text' | 'json',
    durability: durability as 'full' | 'normal',
    listen,
    path,
  };
}

/** The bridge's durations (flag > env > profile). */
function bridgeDurations(ctx: CommandContext, o: BridgeRunOptions, D: BridgeModule['BRIDGE_DEFAULTS']) {
  return {
    maxTimeSkewMs: duration(ctx, 'maxTimeSkew', '--max-time-skew', o.maxTimeSkew, D.maxTimeSkewMs, DAY),
    bindCheckMs: duration(ctx, 'bindCheck', '--bind-check', o.bindCheck, D.bindCheckMs, DAY),
    dedupWindowMs: duration(ctx, 'dedupWindow', '--dedup-window', o.dedupWindow, D.dedupWindowMs, 7 * DAY),
    drainTimeoutMs: duration(ctx, 'drainTimeout', '--drain-timeout', o.drainTimeout, D.drainTimeoutMs, DAY),
    pingDeadlineMs:
      durationOption('--ping-deadline', ctx.settings.value('pingDeadline', o.pingDeadline), {
        bare: 's',
        min: 100,
        max: 10 * 60_000,
      }) ?? 5_000,
    spoolGatherMs:
      durationOption('--spool-gather', ctx.settings.value('spoolGather', o.spoolGather), {
        bare: 'ms',
        min: 0,
        max: 1_000,
      }) ?? D.spoolGatherMs,
  };
}

/** --tls-cert and --tls-key: both (read now) or neither. */
async function bridgeTls(ctx: CommandContext, o: BridgeRunOptions) {
  const { readFileSync } = await import('node:fs');
  const tlsCert = ctx.settings.value('bridgeTlsCert', o.tlsCert);
  const tlsKey = ctx.settings.value('bridgeTlsKey', o.tlsKey);
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    throw new UsageError('--tls-cert and --tls-key go together.', 'Give both (PEM files) to serve HTTPS, or neither.');
  }
  let tls: { cert: string; key: string } | undefined;
  if (tlsCert && tlsKey) {
    try {
      tls = { cert: readFileSync(tlsCert, 'utf8'), key: readFileSync(tlsKey, 'utf8') };
    } catch (err) {
      throw new UsageError(`Cannot read the TLS files: ${(err as Error).message}.`, 'Check --tls-cert and --tls-key.');
    }
  }
  return tls;
}

/** Every option of the bridge, checked and resolved (prompting on a TTY) in the order people see them. */
async function bridgeRunOptions(ctx: CommandContext, o: BridgeRunOptions & GlobalOptions, bridgeMod: BridgeModule) {
  const D = bridgeMod.BRIDGE_DEFAULTS;
  const { verifyTokens, logFormat, durability, listen, path } = checkBridgeFlags(ctx, o, bridgeMod);
  const s = ctx.settings;
  const durations = bridgeDurations(ctx, o, D);
  const fleet = await fleetOptions(ctx, o);
  const spoolDir = fleet ? (s.value('spoolDir', o.spoolDir) ?? defaultSpoolDir(ctx)) : spoolDirOf(ctx, o.spoolDir);
  const asId = s.value('asId', o.asId);
  const asKey = verifyTokens
    ? await ctx.resolve('asKey', o.asKey, { message: 'Tunnel AS key', secret: true })
    : ctx.value('asKey', o.asKey);
  const thingworxUrl = await ctx.resolve('thingworxUrl', o.thingworxUrl, {
    message: 'ThingWorx URL (https://host:port)',
  });
  const appKey = await ctx.resolve('thingworxAppKey', o.appKey, { message: 'ThingWorx app key', secret: true });
  const ca = ctx.ca('thingworxCa', o.ca);
  const tls = await bridgeTls(ctx, o);
  const insecure = s.enabled('thingworxInsecure', o.insecure);
  const options = {
    listen,
    path,
    spoolDir,
    asId,
    asKey,
    verifyTokens,
    maxTimeSkewMs: durations.maxTimeSkewMs,
    bindCheckMs: durations.bindCheckMs,
    takeOver: o.takeOver === true,
    maxDevices: int(ctx, 'maxDevices', '--max-devices', o.maxDevices, D.maxDevices, 1),
    maxSpool: int(ctx, 'maxSpool', '--max-spool', o.maxSpool, D.maxSpool, 1),
    maxConnections: int(ctx, 'maxConnections', '--max-connections', o.maxConnections, D.maxConnections, 1),
    maxBodyBytes: int(ctx, 'maxBody', '--max-body', o.maxBody, D.maxBodyBytes, 1024),
    dedupWindowMs: durations.dedupWindowMs,
    drainTimeoutMs: durations.drainTimeoutMs,
    pingDeadlineMs: durations.pingDeadlineMs,
    spoolGatherMs: durations.spoolGatherMs,
    pipeCount: int(ctx, 'pipeCount', '--pipe-count', o.pipeCount, 1, 1),
    template: s.value('template', o.template, D.template)!,
    thingworxUrl,
    appKey,
    ca,
    insecure,
    downlinkUrl: s.value('thingparkDownlinkUrl', o.downlinkUrl),
    thingparkCa: ctx.ca('thingparkCa', o.thingparkCa),
    durability,
    tls,
    ...(fleet ? { fleet } : {}),
  };
  if (options.pipeCount > 255) throw new UsageError('--pipe-count is 1..255.');
  return { options, logFormat, verifyTokens };
}

/** Counts the reports and writes every event: NDJSON with --json, else log lines at their level. */
function logBridgeEvents(
  ctx: CommandContext,
  bridgeMod: BridgeModule,
  events: InstanceType<BridgeModule['BridgeEvents']>,
  counts: BridgeCounts,
  logFormat: 'text' | 'json',
) {
  const { formatEvent, eventLevel } = bridgeMod;
  events.onAny((name, payload) => {
    if (name === 'uplink.accepted') counts.accepted += 1;
    else if (name === 'push.acked') counts.pushed += 1;
    else if (name === 'uplink.rejected') counts.rejected += 1;
    const level = eventLevel(name, payload);
    if (ctx.io.json) {
      if (level !== 'debug' || ctx.io.verbose) ctx.io.event(name, payload);
      return;
    }
    if (level === 'debug' && !ctx.io.verbose) return;
    if (ctx.io.quiet && level !== 'error' && level !== 'warn') return;
    ctx.io.info(formatEvent(name, payload, logFormat, new Date(), say));
  });
}

/** The status line on a terminal, once a second. */
function startStatusLine(ctx: CommandContext, bridge: RunningBridge, counts: BridgeCounts): NodeJS.Timeout {
  let last = 0;
  const timer = setInterval(() => {
    const st = bridge.stats();
    const rate = counts.pushed - last;
    last = counts.pushed;
    ctx.io.status(
      `${st.connected ? ctx.io.color.green('●') : ctx.io.color.red('●')} ThingWorx ${st.connected ? 'connected' : 'down'}` +
        (st.connected && st.pipes.up < st.pipes.count
          ? ` ${ctx.io.color.yellow(`(${st.pipes.up}/${st.pipes.count} pipes up)`)}`
          : '') +
        ` · ${counts.accepted} accepted · ${counts.pushed} pushed (${rate}/s) · ${counts.rejected} rejected` +
        ` · spool ${st.spoolDepth} · ${st.bound}/${st.things} Things bound` +
        (st.taken ? ` · ${ctx.io.color.yellow(`${st.taken} taken by another session`)}` : '') +
        (st.unbound - st.taken ? ` · ${ctx.io.color.yellow(`${st.unbound - st.taken} unbound`)}` : '') +
        (st.fleet
          ? ` · fleet ${st.fleet.bridgeId}: ${st.fleet.owned.length}/${st.fleet.queues} queues,` +
            ` ${st.fleet.members.length} bridge(s)${st.fleet.leased ? '' : ` ${ctx.io.color.red('fenced')}`}`
          : ''),
    );
  }, 1000);
  timer.unref();
  return timer;
}

/** The fleet settings (--queue and its companions); undefined without --queue (the SQLite spool). */
async function fleetOptions(ctx: CommandContext, o: BridgeRunOptions) {
  const { FLEET_DEFAULTS } = await import('../../bridge/fleet/types.js');
  const s = ctx.settings;
  const heartbeatMs = duration(
    ctx,
    'fleetHeartbeat',
    '--fleet-heartbeat',
    o.fleetHeartbeat,
    FLEET_DEFAULTS.heartbeatMs,
    60_000,
  );
  const url = brokerUrl(ctx, o.queue);
  if (!url) return undefined;
  if (!/^amqps?:\/\//.test(url)) {
    throw new UsageError(
      `--queue "${maskUrl(url)}" is not an amqp:// URL.`,
      'Give the fleet broker as --queue amqp://user:pass@host:5672/vhost.',
    );
  }
  if (heartbeatMs < 1000) {
    throw new UsageError(
      '--fleet-heartbeat is at least 1s.',
      'Use e.g. --fleet-heartbeat 2s (the broker counts seconds).',
    );
  }
  const queues = int(ctx, 'fleetQueues', '--fleet-queues', o.fleetQueues, FLEET_DEFAULTS.queues, 1);
  if (queues > 1000) {
    throw new UsageError('--fleet-queues is 1..1000.', 'Give every bridge of the fleet the same number.');
  }
  const prefix = s.value('fleetPrefix', o.fleetPrefix, FLEET_DEFAULTS.prefix)!;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(prefix)) {
    throw new UsageError(`--fleet-prefix "${prefix}" is not a name.`, 'Use letters, digits, ".", "_" and "-".');
  }
  const { hostname } = await import('node:os');
  const bridgeId = s.value('bridgeId', o.bridgeId) ?? `${hostname()}-${process.pid}`;
  return { url, queues, prefix, bridgeId, heartbeatMs };
}

/**
 * `tpx thing show`'s "fleet owner" line: with a fleet broker set (TPX_QUEUE or the profile's queue), the bridge whose
 * heartbeats list the Thing as bound, heard on the status exchange within a heartbeat and a half.
 */
export async function sayFleetOwner(ctx: CommandContext, thing: string): Promise<void> {
  const url = brokerUrl(ctx, undefined);
  if (!url || ctx.io.json) return;
  const { FLEET_DEFAULTS, fleetNames } = await import('../../bridge/fleet/types.js');
  const { fleetOwnerOf, readHeartbeats } = await import('../../bridge/fleet/heartbeat.js');
  const heartbeatMs = duration(
    ctx,
    'fleetHeartbeat',
    '--fleet-heartbeat',
    undefined,
    FLEET_DEFAULTS.heartbeatMs,
    60_000,
  );
  const names = fleetNames(ctx.settings.value('fleetPrefix', undefined, FLEET_DEFAULTS.prefix));
  try {
    const heard = await readHeartbeats(url, names, Math.round(heartbeatMs * 1.5));
    const owner = fleetOwnerOf(thing, heard.values());
    ctx.io.out(`fleet owner: ${owner ?? `none (${heard.size} bridge(s) heard, none holds it bound)`}`);
  } catch (err) {
    ctx.io.out(`fleet owner: unknown (${(err as Error).message})`);
  }
}

/** amqp://user:***@host/… for messages. */
function maskUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function runDeadLetters(
  ctx: CommandContext,
  o: { spoolDir?: string; limit?: string } & GlobalOptions,
): Promise<void> {
  const { Spool, SPOOL_FILE } = await import('../../bridge/spool.js');
  const dir = spoolDirOf(ctx, o.spoolDir);
  if (!(await import('node:fs')).existsSync(join(dir, SPOOL_FILE))) {
    if (ctx.io.json) ctx.io.printJson({ spool: join(dir, SPOOL_FILE), total: 0, deadLetters: [] });
    else ctx.io.out(`No spool at ${dir} (no bridge has run with this --spool-dir).`);
    return;
  }
  const spool = new Spool(dir);
  try {
    const limit = wholeNumberOption('--limit', o.limit, 1, 1_000_000) ?? 1000;
    const letters = spool.listDeadLetters(limit);
    const total = spool.countDeadLetters();
    if (ctx.io.json) {
      ctx.io.printJson({
        spool: spool.path,
        total,
        // the report as ThingPark sent it: its document (JSON) and raw query string
        deadLetters: letters.map((l) => ({ ...l, document: jsonOrText(l.document) })),
      });
      return;
    }
    if (letters.length === 0) {
      ctx.io.out(`No dead letters in ${spool.path}.`);
      return;
    }
    ctx.io.out(
      ctx.io.table(
        ['id', 'DevEUI', 'kind', 'received', 'failed', 'reason'],
        letters.map((l) => [
          l.id,
          l.devEui,
          l.kind,
          new Date(l.receivedAt).toISOString(),
          new Date(l.failedAt).toISOString(),
          l.reason,
        ]),
      ),
    );
    if (total > letters.length) ctx.io.info(`${total - letters.length} more (use --limit).`);
    ctx.io.info('Replay them with: tpx bridge dead-letters replay [ids...] --all');
  } finally {
    await spool.close();
  }
}

export async function runReplay(
  ctx: CommandContext,
  idList: string | undefined,
  o: { spoolDir?: string; all?: boolean } & GlobalOptions,
): Promise<void> {
  const ids = (idList ?? '')
    .split(',')
    .map((i) => i.trim())
    .filter(Boolean);
  if (ids.length === 0 && !o.all) {
    throw new UsageError(
      'Name the dead letters to replay.',
      'Give their ids, comma-separated (tpx bridge dead-letters lists them), or --all.',
    );
  }
  const nums = ids.map((i) => Number(i));
  const bad = ids.find((_, k) => !Number.isInteger(nums[k]) || nums[k]! < 1);
  if (bad !== undefined)
    throw new UsageError(`"${bad}" is not a dead-letter id.`, 'Ids are the numbers listed by tpx bridge dead-letters.');
  const { Spool, SPOOL_FILE } = await import('../../bridge/spool.js');
  const dir = spoolDirOf(ctx, o.spoolDir);
  if (!(await import('node:fs')).existsSync(join(dir, SPOOL_FILE))) {
    throw new UsageError(`No spool at ${dir}.`, 'Pass the --spool-dir the bridge runs with (or set TPX_SPOOL_DIR).');
  }
  const spool = new Spool(dir);
  try {
    const n = await spool.replayDeadLetters(o.all ? undefined : nums);
    if (ctx.io.json) {
      ctx.io.printJson({ spool: spool.path, replayed: n });
      return;
    }
    ctx.io.success(
      `${n} dead letter(s) put back in the spool; a running bridge delivers them within a second, otherwise the next start does.`,
    );
  } finally {
    await spool.close();
  }
}

export function register(program: Command, app: App): void {
  // What people type is `tpx bridge --listen …`: the bridge is the command itself, and its help shows its flags.
  // `tpx bridge run …` still works (hidden). `tpx bridge dead-letters` is its one subcommand.
  const cmd = runOptions(
    program
      .command('bridge')
      .description('run the ThingPark <-> ThingWorx connector in the foreground; manage its dead letters')
      .addHelpText('after', '\nCtrl-C stops intake, drains and exits; a second Ctrl-C exits at once.'),
  ).action(app.action<BridgeRunOptions>(async (ctx, o) => runBridge(ctx, o)));
  runOptions(
    cmd.command('run', { hidden: true }).description('run the bridge in the foreground (the same as tpx bridge)'),
  ).action(app.action<BridgeRunOptions>(async (ctx, o) => runBridge(ctx, o)));
  const dl = cmd.command('dead-letters').description('reports that failed for good (device cap, refused Things)');
  dl.command('list', { isDefault: true })
    .description('list dead letters with their reason')
    .option('--spool-dir <dir>', 'spool directory (env TPX_SPOOL_DIR)')
    .option('--limit <n>', 'at most this many (default 1000)')
    .action(app.action<{ spoolDir?: string; limit?: string }>(async (ctx, o) => runDeadLetters(ctx, o)));
  dl.command('replay [ids]')
    .description('put dead letters back in the spool for delivery')
    .option('--spool-dir <dir>', 'spool directory (env TPX_SPOOL_DIR)')
    .option('--all', 'replay every dead letter')
    .action(app.action<{ spoolDir?: string; all?: boolean }>(async (ctx, o, args) => runReplay(ctx, args[0], o)));
}

/** The flags of the bridge (on `tpx bridge`, and on the hidden `tpx bridge run`). */
function runOptions(c: Command): Command {
  return c
    .option('--listen <host:port>', 'ingest address (env TPX_LISTEN, default 127.0.0.1:8080)')
    .option('--path <path>', 'ingest path ThingPark posts to (env TPX_BRIDGE_PATH, default /uplink)')
    .option('--as-id <id>', 'expected AS_ID of the tunnel (env TPX_AS_ID)')
    .option('--as-key <key>', 'tunnel AS key to verify tokens (env TPX_AS_KEY)')
    .option('--no-verify-tokens', 'accept reports without checking their token (never in production)')
    .option(
      '--max-time-skew <duration>',
      'largest |now - Time| accepted, e.g. 5m; 0 turns it off (default 5m; a bare number is seconds)',
    )
    .option('--bind-check <duration>', 'how often to verify the Things are still bound here (default 10s; 0 off)')
    .option('--take-over', 'take Things another connector holds, once, on purpose ("Last in wins")')
    .option(
      '--admin-key <key>',
      "administrator's key, to name the session that took the bridge's Things (env TPX_THINGWORX_ADMIN_KEY)",
    )
    .option('--spool-dir <dir>', 'spool directory (env TPX_SPOOL_DIR, default $XDG_STATE_HOME/tpx/spool/<profile>)')
    .option('--max-devices <n>', 'device cap: new devices beyond it are refused (default 10000)')
    .option('--max-spool <n>', 'reports waiting before ingest answers 503 (default 100000)')
    .option('--max-connections <n>', 'open ingest connections at most; more are refused and logged (default 512)')
    .option('--max-body <bytes>', 'largest request body accepted (default 65536; larger gets 413)')
    .option(
      '--dedup-window <duration>',
      'window for repeated (DevEUI, FCntUp), e.g. 10m; 0 turns it off (default 10m; a bare number is seconds)',
    )
    .option('--pipe-count <n>', 'AlwaysOn WebSockets, 1..255 (env TPX_PIPE_COUNT, default 1)')
    .option('--template <name>', `Thing Template of new Things (env TPX_TEMPLATE, default ${DEFAULT_TEMPLATE_NAME})`)
    .option(
      '--driver-timeout <duration>',
      'time limit of one payload driver call (env TPX_DRIVER_TIMEOUT, default 50ms; bare number: ms)',
    )
    .option('--log-format <format>', 'text or json (env TPX_LOG_FORMAT)')
    .option('--thingworx-url <url>', 'ThingWorx https://host:port (env TPX_THINGWORX_URL)')
    .option('--app-key <key>', 'ThingWorx application key (env TPX_THINGWORX_APP_KEY)')
    .option('--ca <file>', 'CA certificate (PEM) to trust for ThingWorx (env TPX_THINGWORX_CA)')
    .option('--insecure', 'skip TLS verification of ThingWorx (never in production)')
    .option('--downlink-url <url>', 'LRC tunnel downlink endpoint (env TPX_THINGPARK_DOWNLINK_URL)')
    .option('--thingpark-ca <file>', 'CA certificate (PEM) to trust for the downlink endpoint (env TPX_THINGPARK_CA)')
    .option(
      '--drain-timeout <duration>',
      'how long a stop waits for delivery, e.g. 30s (default 10s; a bare number is seconds)',
    )
    .option(
      '--ping-deadline <duration>',
      'longest silence of ThingWorx before reconnecting (env TPX_PING_DEADLINE, default 5s)',
    )
    .option('--tls-cert <file>', 'serve the ingest over HTTPS with this certificate (PEM; env TPX_BRIDGE_TLS_CERT)')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert (env TPX_BRIDGE_TLS_KEY)')
    .option(
      '--spool-gather <duration>',
      'under a steady load, a group commit waits up to this long for more reports: less CPU per uplink, a few ms more latency (default 4ms; 0 off; bare number: ms)',
    )
    .option(
      '--durability <mode>',
      'full (fsync every group commit, default) or normal (survives a crash, not a power cut)',
    )
    .option('--queue <url>', 'fleet broker amqp://user:pass@host:5672/vhost instead of the spool (env TPX_QUEUE)')
    .option('--fleet-queues <n>', 'queues of the fleet, the same on every bridge (env TPX_FLEET_QUEUES, default 16)')
    .option(
      '--fleet-prefix <name>',
      'name prefix of the fleet exchanges and queues (env TPX_FLEET_PREFIX, default tpx)',
    )
    .option('--bridge-id <name>', 'name of this bridge in the fleet (env TPX_BRIDGE_ID, default host-PID)')
    .option(
      '--fleet-heartbeat <duration>',
      'fleet heartbeat, e.g. 2s: members, broker heartbeat, fencing (default 2s; bare number: seconds)',
    );
}
