/**
 * `tpx downlink push`: sends a downlink either the way a ThingWorx application does (--via thingworx: write the
 * Thing's `downlink` property through REST; the bridge takes it from there) or straight to the ThingPark tunnel
 * (--via thingpark: a signed LRC v2 downlink).
 */
import type { Command } from 'commander';
import { TpxError, UsageError } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';
import { type App, failWithResult } from '../app.js';
import type { PlatformFlags } from '../clients.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { durationOption, wholeNumberOption } from '../options.js';

export interface DownlinkPushOptions extends PlatformFlags {
  devEui?: string;
  fport?: string;
  payload?: string;
  confirmed?: boolean;
  via?: string;
  wait?: string;
  asId?: string;
  asKey?: string;
}

/** The downlink people asked for, its flags checked. */
interface Downlink {
  via: 'thingworx' | 'thingpark';
  waitMs: number;
  devEui: string;
  fport: number;
  payload: string;
}

export async function runDownlinkPush(ctx: CommandContext, o: DownlinkPushOptions & GlobalOptions): Promise<number> {
  const d = await parseDownlinkFlags(o);
  if (d.via === 'thingpark') return pushViaThingPark(ctx, o, d);
  return pushViaThingWorx(ctx, o, d);
}

async function parseDownlinkFlags(o: DownlinkPushOptions): Promise<Downlink> {
  const via = o.via ?? 'thingworx';
  if (via !== 'thingworx' && via !== 'thingpark') {
    throw new UsageError(`--via "${via}" is not thingworx or thingpark.`, 'Use --via thingworx or --via thingpark.');
  }
  const waitMs = durationOption('--wait', o.wait, { bare: 's', min: 0, max: 3_600_000 }) ?? 0;
  const { parseDevEuiFlag, parsePayload } = await import('../parsers.js');
  const devEui = parseDevEuiFlag(o.devEui);
  const { FPORT } = await import('../../thingpark/lorawan.js');
  const fport = wholeNumberOption('--fport', o.fport, FPORT.downlink.min, FPORT.downlink.max) ?? 1;
  if (o.payload === undefined || o.payload.trim() === '') {
    throw new UsageError('Missing --payload.', 'Give the payload bytes in hex, e.g. --payload 0a1b.');
  }
  const payload = parsePayload(o.payload);
  return { via, waitMs, devEui, fport, payload };
}

/** --via thingpark: a signed LRC downlink straight to the tunnel. */
async function pushViaThingPark(ctx: CommandContext, o: DownlinkPushOptions, d: Downlink): Promise<number> {
  const { via, devEui, fport, payload } = d;
  const url = await ctx.resolve('thingparkDownlinkUrl', o.downlinkUrl, { message: 'LRC downlink URL' });
  const asId = await ctx.resolve('asId', o.asId, { message: 'AS_ID' });
  const asKey = await ctx.resolve('asKey', o.asKey, { message: 'Tunnel AS key', secret: true });
  const { sendDownlink } = await import('../../thingpark/downlink.js');
  const { thingparkDispatcherOf } = await import('../clients.js');
  const dispatcher = await thingparkDispatcherOf(ctx, o.thingparkCa);
  const { randomBytes } = await import('node:crypto');
  const correlationId = randomBytes(8).toString('hex').toUpperCase();
  const r = await sendDownlink({
    ...(dispatcher ? { dispatcher } : {}),
    url,
    asId,
    asKey,
    devEui,
    fPort: fport,
    payloadHex: payload,
    confirmed: o.confirmed,
    correlationId,
    timeoutMs: ctx.timeoutMs(),
  });
  const result = { via, devEui, fport, correlationId, ...r };
  if (r.status === 'queued' && !ctx.io.json) {
    ctx.io.success(`Downlink to ${devEui} FPort ${fport} queued by ThingPark (CorrelationID ${correlationId}).`);
  }
  if (r.status === 'rejected') {
    const err = new TpxError('TPX_DOWNLINK_REJECTED', `ThingPark rejected the downlink (code ${r.code}): ${r.reason}`, {
      fix: 'Correct what the reason names and send it again.',
    });
    return failWithResult(ctx.io, result, err);
  }
  if (ctx.io.json) ctx.io.printJson(result);
  return 0;
}

/** --via thingworx: writes the Thing's downlink property, then (--wait) watches its downlinkStatus. */
async function pushViaThingWorx(
  ctx: CommandContext,
  o: DownlinkPushOptions & GlobalOptions,
  d: Downlink,
): Promise<number> {
  const { via, waitMs, devEui, fport, payload } = d;
  const rest = await ctx.thingworx(o);
  try {
    const before = waitMs ? JSON.stringify((await rest.getProperties(devEui)).downlinkStatus ?? null) : '';
    const value = { FPort: fport, payload_hex: payload, ...(o.confirmed ? { Confirmed: 1 } : {}) };
    await rest.setProperties(devEui, { downlink: value });
    const status = waitMs ? await waitForStatus(rest, devEui, before, waitMs) : undefined;
    const result = { via, devEui, fport, written: value, ...(waitMs ? { downlinkStatus: status ?? null } : {}) };
    if (!ctx.io.json) {
      ctx.io.success(`Wrote ${JSON.stringify(value)} to ${devEui}.downlink; the bridge signs and sends it.`);
      if (waitMs)
        ctx.io.out(status ? `downlinkStatus: ${JSON.stringify(status)}` : 'downlinkStatus did not change in time.');
    }
    if (waitMs && status === undefined) {
      const err = new TpxError(
        'TPX_DOWNLINK_NO_STATUS',
        `No downlinkStatus from the bridge within ${formatDuration(waitMs)}.`,
        {
          fix: 'Check that a bridge is running and bound to this Thing (tpx bridge), and its log.',
        },
      );
      return failWithResult(ctx.io, result, err);
    }
    const state = (status as { state?: string } | undefined)?.state;
    if (state === 'abandoned') {
      // the bridge stopped before ThingPark answered: the POST may have been queued; writing again may send it twice
      const err = new TpxError(
        'TPX_DOWNLINK_REJECTED',
        `The bridge stopped before ThingPark answered: the downlink may or may not be queued (${JSON.stringify(status)}).`,
        {
          fix: "Look at the device's downlink queue in ThingPark before writing the downlink again (a second write may send it twice).",
        },
      );
      return failWithResult(ctx.io, result, err);
    }
    if (state && state !== 'queued' && state !== 'sent') {
      const err = new TpxError('TPX_DOWNLINK_REJECTED', `The downlink was not queued: ${JSON.stringify(status)}`, {
        fix: 'Correct what the reason names and write the downlink again.',
      });
      return failWithResult(ctx.io, result, err);
    }
    if (ctx.io.json) ctx.io.printJson(result);
  } finally {
    await rest.close();
  }
  return 0;
}

/** The Thing's downlinkStatus once it differs from `before` (JSON), or undefined after `waitMs`. */
async function waitForStatus(
  rest: Awaited<ReturnType<CommandContext['thingworx']>>,
  devEui: string,
  before: string,
  waitMs: number,
): Promise<unknown> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const now = (await rest.getProperties(devEui)).downlinkStatus ?? null;
    if (JSON.stringify(now) !== before) return typeof now === 'string' ? JSON.parse(now) : now;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

export function register(program: Command, app: App): void {
  const cmd = program.command('downlink').description('send downlinks');
  cmd
    .command('push')
    .description('send a downlink via ThingWorx (the downlink property) or straight to ThingPark')
    .option('--dev-eui <eui>', 'device EUI (16 hex digits)')
    .option('--fport <n>', 'LoRaWAN port, 1..223 (default 1)')
    .option('--payload <hex>', 'payload bytes in hex')
    .option('--confirmed', 'ask for a confirmed downlink')
    .option('--via <path>', 'thingworx (write the Thing property; default) or thingpark (LRC tunnel)')
    .option(
      '--wait <duration>',
      'with --via thingworx: wait this long for the bridge to report downlinkStatus, e.g. 10s (a bare number is seconds)',
    )
    .option('--thingworx-url <url>', 'ThingWorx https://host:port (env TPX_THINGWORX_URL)')
    .option('--app-key <key>', 'ThingWorx application key (env TPX_THINGWORX_APP_KEY)')
    .option('--ca <file>', 'CA certificate (PEM) (env TPX_THINGWORX_CA)')
    .option('--insecure', 'skip TLS verification of ThingWorx (never in production)')
    .option('--downlink-url <url>', 'with --via thingpark: LRC downlink endpoint (env TPX_THINGPARK_DOWNLINK_URL)')
    .option('--thingpark-ca <file>', 'with --via thingpark: CA certificate (PEM) to trust (env TPX_THINGPARK_CA)')
    .option('--as-id <id>', 'with --via thingpark: AS_ID (env TPX_AS_ID)')
    .option('--as-key <key>', 'with --via thingpark: AS key (env TPX_AS_KEY)')
    .action(app.action<DownlinkPushOptions>(async (ctx, o) => runDownlinkPush(ctx, o)));
}
