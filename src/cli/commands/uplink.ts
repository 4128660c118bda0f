/**
 * `tpx uplink send`: a realistic, correctly signed DevEUI_uplink posted to a bridge (--count, --rate for load),
 * or with --direct, delivered straight to ThingWorx as the connector would (to check a set-up end to end).
 */
import type { Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import { type App, failWithResult } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { numberOption, wholeNumberOption } from '../options.js';

export interface UplinkSendOptions {
  devEui?: string;
  fport?: string;
  payload?: string;
  fcnt?: string;
  count?: string;
  rate?: string;
  url?: string;
  asId?: string;
  asKey?: string;
  sign?: boolean;
  direct?: boolean;
  thingworxUrl?: string;
  appKey?: string;
  ca?: string;
  insecure?: boolean;
  template?: string;
}

export async function runUplinkSend(ctx: CommandContext, o: UplinkSendOptions & GlobalOptions): Promise<number> {
  const input = await parseUplinkInput(o);
  if (o.direct) return sendDirect(ctx, o, input);
  const url = bridgeUrl(ctx.settings.value('bridgeUrl', o.url, 'http://127.0.0.1:8080/uplink')!);
  const asId = ctx.settings.value('asId', o.asId);
  const asKey = ctx.value('asKey', o.asKey);
  if (o.sign !== false && (!asId || !asKey)) {
    throw new UsageError(
      'Signing needs the AS_ID and the AS key.',
      'Pass --as-id and --as-key (or TPX_AS_ID / TPX_AS_KEY), or --no-sign for a bridge run with --no-verify-tokens.',
    );
  }
  const summary = await postUplinks(ctx, input, { url, asId, asKey: o.sign === false ? undefined : asKey });
  const rejected = Object.values(summary.rejected).reduce((a, b) => a + b, 0);
  const where = `${url.origin}${url.pathname}`;
  const result = {
    url: url.toString(),
    devEui: input.devEui,
    fcntFirst: input.fcntStart,
    sent: summary.sent,
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    rejected: summary.rejected,
    ...(summary.firstError ? { firstError: summary.firstError } : {}),
    elapsedMs: Math.round(summary.elapsedMs),
    ratePerSecond: perSecond(summary),
  };
  if (ctx.io.json) {
    if (rejected > 0) return failWithResult(ctx.io, result, await uplinkFailure(summary, rejected, where));
    ctx.io.printJson(result);
    return ExitCode.OK;
  }
  sayUplinkSummary(ctx, summary, { devEui: input.devEui, count: input.count, where, rejected });
  if (rejected > 0) throw await uplinkFailure(summary, rejected, where);
  return ExitCode.OK;
}

type UplinkInput = Awaited<ReturnType<typeof parseUplinkInput>>;

/** The largest FCntUp (a 32-bit counter; thingpark/messages.ts refuses more). */
const FCNT_MAX = 0xffffffff;

/**
 * The default first FCntUp: the clock in milliseconds (modulo 2^31, wrapping every 24 days, so that
 * --count up to 10 million stays within FCNT_MAX). Runs one after another never reuse a counter of the device (the
 * bridge would answer "duplicate") unless one sent faster than 1000 uplinks per second; the clock in seconds did
 * within a few seconds.
 */
export function firstFcntFromClock(nowMs: number): number {
  return Math.floor(nowMs) % 2 ** 31;
}
type UplinkSummary = Awaited<ReturnType<typeof import('../../bridge/send.js').sendUplinks>>;

/** What people typed: the device, the message, how many and how fast. */
async function parseUplinkInput(o: UplinkSendOptions) {
  const { parseDevEuiFlag, parsePayload } = await import('../parsers.js');
  const devEui = parseDevEuiFlag(o.devEui);
  const fport = wholeNumberOption('--fport', o.fport, 1, 223) ?? 1;
  const payloadHex = parsePayload(o.payload, '00');
  const count = wholeNumberOption('--count', o.count, 1, 10_000_000) ?? 1;
  const fcntStart = wholeNumberOption('--fcnt', o.fcnt, 0, FCNT_MAX) ?? firstFcntFromClock(Date.now());
  if (fcntStart + count - 1 > FCNT_MAX) {
    throw new UsageError(
      `--fcnt ${fcntStart} with --count ${count} would count past ${FCNT_MAX}, the largest FCntUp.`,
      `Give --fcnt at most ${FCNT_MAX - count + 1}, or leave it out.`,
    );
  }
  const rate = numberOption('--rate', o.rate, 0, 1_000_000) ?? 0;
  return { devEui, fport, payloadHex, fcntStart, count, rate };
}

/** --direct: one message delivered to ThingWorx as the connector would. */
async function sendDirect(ctx: CommandContext, o: UplinkSendOptions & GlobalOptions, input: UplinkInput) {
  const { devEui, fport, fcntStart, payloadHex } = input;
  if (input.count !== 1)
    throw new UsageError('--direct sends one message.', 'Drop --count, or post to a bridge instead.');
  const send = await import('../../bridge/send.js');
  const template = ctx.settings.value('template', o.template, DEFAULT_TEMPLATE_NAME)!;
  const { sink, directory } = await ctx.pool(o);
  const doc = send.realisticUplink({ devEui, fport, fcnt: fcntStart, payloadHex });
  const r = await send.deliverDirect(doc, sink, directory, template);
  if (ctx.io.json) {
    ctx.io.printJson({ direct: true, thing: r.thing, created: r.created, fcnt: fcntStart, properties: r.properties });
    return 0;
  }
  ctx.io.success(
    `Pushed uplink FCntUp ${fcntStart} to Thing ${r.thing}${r.created ? ' (created from ' + template + ')' : ''}: ${r.properties.join(', ')}.`,
  );
  return 0;
}

function bridgeUrl(base: string): URL {
  try {
    return new URL(base);
  } catch {
    throw new UsageError(
      `--url "${base}" is not a URL.`,
      'Give the bridge ingest URL, e.g. http://127.0.0.1:8080/uplink.',
    );
  }
}

/** Posts the uplinks until done or stopped, with a live line "sent n/total" for more than one. */
async function postUplinks(
  ctx: CommandContext,
  input: UplinkInput,
  to: { url: URL; asId?: string; asKey?: string },
): Promise<UplinkSummary> {
  const send = await import('../../bridge/send.js');
  const { signal, release } = ctx.shutdownSignal();
  let done = 0;
  let ok = 0;
  try {
    return await send.sendUplinks({
      ...input,
      url: to.url.toString(),
      asId: to.asId,
      asKey: to.asKey,
      timeoutMs: ctx.timeoutMs(),
      signal,
      onResult: (r) => {
        done += 1;
        if (r.status >= 200 && r.status < 300) ok += 1;
        if (input.count > 1)
          ctx.io.status(
            `sent ${done}/${input.count} · ${ok} accepted · FCntUp ${r.fcnt} -> ${r.status || 'no answer'}`,
          );
      },
    });
  } finally {
    release();
  }
}

const perSecond = (s: UplinkSummary) => Math.round((s.sent * 1000) / Math.max(1, s.elapsedMs));

/** "3 of 3 uplink(s) from … accepted by …", and how many were refused or got no answer. */
function sayUplinkSummary(
  ctx: CommandContext,
  summary: UplinkSummary,
  o: { devEui: string; count: number; where: string; rejected: number },
): void {
  const rateText = o.count > 1 ? ` (${perSecond(summary)}/s)` : '';
  const line = `${summary.accepted} of ${summary.sent} uplink(s) from ${o.devEui} accepted by ${o.where}${rateText}`;
  if (o.rejected === 0) {
    ctx.io.success(`${line}${summary.duplicates ? `, ${summary.duplicates} duplicate(s)` : ''}.`);
    return;
  }
  // Nothing answered (status 0) is not a refusal: no bridge listened there.
  const unanswered = summary.rejected['0'] ?? 0;
  const refused = o.rejected - unanswered;
  const parts = [...(refused ? [`${refused} refused`] : []), ...(unanswered ? [`${unanswered} got no answer`] : [])];
  ctx.io.out(`${line}; ${parts.join(', ')}.`);
}

/** Why uplinks failed: nothing answered (status 0) is not a refusal, and each refusal has its own fix. */
async function uplinkFailure(
  summary: { rejected: Record<string, number>; firstError?: string },
  rejected: number,
  url: string,
) {
  const { TpxError } = await import('../../errors.js');
  const unanswered = summary.rejected['0'] ?? 0;
  if (unanswered === rejected) {
    return new TpxError('TPX_UPLINK_UNREACHABLE', `No bridge answered at ${url}: ${summary.firstError}`, {
      fix: 'Start the bridge (tpx bridge) or the sandbox, or give the ingest URL with --url (env TPX_BRIDGE_URL).',
    });
  }
  const statuses = Object.keys(summary.rejected).filter((s) => s !== '0');
  const fix = statuses.some((s) => s === '401' || s === '403')
    ? 'Check the AS_ID/AS key the bridge verifies with (--as-id, --as-key) and the clock.'
    : statuses.includes('503')
      ? 'The bridge is full (spool or device cap) or not ready: see its log and /readyz.'
      : statuses.includes('413')
        ? 'The report is larger than the bridge accepts (its --max-body).'
        : 'See the bridge log for the reason.';
  const missed = unanswered ? ` (${unanswered} got no answer)` : '';
  return new TpxError(
    'TPX_UPLINK_REFUSED',
    `The bridge refused ${rejected - unanswered} uplink(s)${missed}: ${summary.firstError}`,
    { fix },
  );
}

export function register(program: Command, app: App): void {
  const cmd = program.command('uplink').description('send test uplinks');
  cmd
    .command('send')
    .description('post a realistic, signed DevEUI_uplink to a bridge (or --direct to ThingWorx)')
    .option('--dev-eui <eui>', 'device EUI (16 hex digits)')
    .option('--fport <n>', 'LoRaWAN port (default 1)')
    .option('--payload <hex>', 'payload bytes in hex (default 00)')
    .option('--fcnt <n>', 'first FCntUp (default: the clock in ms, new at every run)')
    .option('--count <n>', 'number of uplinks (FCntUp counts up; default 1)')
    .option('--rate <n>', 'uplinks per second (default as fast as possible)')
    .option('--url <url>', 'bridge ingest URL (env TPX_BRIDGE_URL, default http://127.0.0.1:8080/uplink)')
    .option('--as-id <id>', 'AS_ID to sign with (env TPX_AS_ID)')
    .option('--as-key <key>', 'AS key to sign with (env TPX_AS_KEY)')
    .option('--no-sign', 'send without AS_ID/Time/Token (for a bridge run with --no-verify-tokens)')
    .option('--direct', 'act as the connector for one message: create/bind the Thing and push to ThingWorx')
    .option('--thingworx-url <url>', 'with --direct: ThingWorx https://host:port (env TPX_THINGWORX_URL)')
    .option('--app-key <key>', 'with --direct: application key (env TPX_THINGWORX_APP_KEY)')
    .option('--ca <file>', 'with --direct: CA certificate (PEM) (env TPX_THINGWORX_CA)')
    .option('--insecure', 'with --direct: skip TLS verification (never in production)')
    .option('--template <name>', 'with --direct: template of a new Thing (env TPX_TEMPLATE)')
    .action(app.action<UplinkSendOptions>(async (ctx, o) => runUplinkSend(ctx, o)));
}
