/**
 * `tpx thing list|show|watch`: look at device Things on ThingWorx from the shell (the set-up guide's
 * "Displaying Information to Know if it Worked", without Composer). A DevEUI is accepted in any case and with or
 * without separators.
 */
import type { Command } from 'commander';
import type { ThingWorxRest } from '../../thingworx/rest.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import { formatDuration } from '../../util/duration.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { durationOption, wholeNumberOption } from '../options.js';
import { say } from '../phrases.js';

export interface ThingConnectOptions {
  thingworxUrl?: string;
  appKey?: string;
  ca?: string;
  insecure?: boolean;
  template?: string;
  adminKey?: string;
}

export interface ThingListOptions extends ThingConnectOptions {
  limit?: string;
  offset?: string;
  all?: boolean;
}

export interface ThingWatchOptions extends ThingConnectOptions {
  interval?: string;
}

/** A REST client from flags > env > profile (prompts on a TTY for missing values). */
async function connect(ctx: CommandContext, opts: ThingConnectOptions) {
  return ctx.thingworx(opts);
}

async function templateName(ctx: CommandContext, flag: string | undefined): Promise<string> {
  const { DEFAULT_TEMPLATE_NAME } = await import('../../thingworx/template.js');
  return ctx.settings.value('template', flag, DEFAULT_TEMPLATE_NAME)!;
}

/**
 * Who holds each Thing (which AlwaysOn session binds it, and whether it is this key's connector): the sessions are
 * listed with the administrator's key when one is set, else tried with the key itself (an administrator's key
 * may). Liveness as \`thingworx check\` tells it (settings sessionLiveness, ghostAfter, pipeCount).
 */
async function holders(
  ctx: CommandContext,
  client: ThingWorxRest,
  opts: ThingConnectOptions,
  names: string[],
  o: { isConnected: Record<string, boolean | undefined>; askBound: boolean },
) {
  const { holdersOfKey } = await import('../../thingworx/check-sessions.js');
  const { livenessOf } = await import('./thingworx-check.js');
  const liveness = livenessOf(ctx, {});
  const pipeCount = wholeNumberOption('--pipe-count', ctx.settings.value('pipeCount'), 1, 255) ?? 1;
  const adminKey = ctx.value('thingworxAdminKey', opts.adminKey);
  const { thingworxClient } = await import('../clients.js');
  const admin = adminKey
    ? await thingworxClient(
        ctx,
        { thingworxUrl: opts.thingworxUrl, ca: opts.ca, insecure: opts.insecure, appKey: adminKey },
        'thingworxAdminKey',
      )
    : undefined;
  try {
    const appKey = ctx.value('thingworxAppKey', opts.appKey);
    return await holdersOfKey({ own: client, appKey, admin, pipeCount, liveness })(names, o);
  } finally {
    await admin?.close();
  }
}

const when = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

export async function runThingList(ctx: CommandContext, opts: ThingListOptions & GlobalOptions): Promise<void> {
  const limit = wholeNumberOption('--limit', opts.limit, 1, 10_000) ?? 100;
  let offset = wholeNumberOption('--offset', opts.offset, 0, 10_000_000) ?? 0;
  const template = await templateName(ctx, opts.template);
  const client = await connect(ctx, opts);
  const { listThings } = await import('../../thingworx/things.js');
  try {
    const page = await listThings(client, { template, offset, maxItems: limit });
    if (opts.all) {
      while (page.nextOffset !== undefined) {
        offset = page.nextOffset;
        ctx.io.status(`Listing Things of ${template}: ${page.things.length}${page.total ? `/${page.total}` : ''}`);
        const next = await listThings(client, { template, offset, maxItems: limit });
        page.things.push(...next.things);
        page.nextOffset = next.nextOffset;
        if (next.total !== undefined) page.total = next.total;
      }
      ctx.io.clearStatus();
    }
    const held = await holders(
      ctx,
      client,
      opts,
      page.things.map((t) => t.name),
      {
        isConnected: Object.fromEntries(page.things.map((t) => [t.name, t.isConnected])),
        askBound: false,
      },
    );
    const { holderWord } = await import('../../thingworx/check-sessions.js');
    if (ctx.io.json) {
      ctx.io.printJson({
        ...page,
        things: page.things.map((t, i) => ({ ...t, holder: holderJson(held[i]!) })),
      });
      return;
    }
    if (page.things.length === 0) {
      ctx.io.out(
        page.offset > 0 ? `No Things of ${template} from offset ${page.offset}.` : `No Things of ${template} yet.`,
      );
      return;
    }
    const yes = ctx.io.color.green('yes');
    const no = ctx.io.color.dim('no');
    ctx.io.out(
      ctx.io.table(
        ['DevEUI', 'connected', 'last connection', 'last uplink', 'holder'],
        page.things.map((t, i) => [
          t.name,
          t.isConnected === undefined ? '' : t.isConnected ? yes : no,
          when(t.lastConnection),
          when(t.lastUplinkTime),
          holderWord(held[i]!),
        ]),
      ),
    );
    if (!held.some((h) => h.sessionsListed)) ctx.io.info(say({ id: 'holder-needs-admin-key' }));
    else {
      ctx.io.info("holder: bridge = this key's live connector, shared = one of several of this key,");
      ctx.io.info("        other = another key's, ghost = a session without connection, none = not bound.");
    }
    const last = page.offset + page.things.length;
    ctx.io.info(
      `Things ${page.offset + 1}–${last}${page.total !== undefined ? ` of ${page.total}` : ''} of template ${template}.` +
        (page.nextOffset !== undefined && !opts.all ? ` Next page: --offset ${page.nextOffset}` : ''),
    );
  } finally {
    await client.close();
  }
}

type Holder = Awaited<ReturnType<typeof holders>>[number];

/** The holder as --json shows it. */
function holderJson(h: Holder) {
  return {
    ...(h.bound !== undefined ? { bound: h.bound } : {}),
    ...(h.holder ? { holder: h.holder } : {}),
    ...(h.session ? { session: h.session } : {}),
    ...(h.connectorsOfKey !== undefined ? { liveConnectorsOfKey: h.connectorsOfKey } : {}),
    sessionsListed: h.sessionsListed,
  };
}

/** Words folded into lines of at most `width` columns, the later ones indented by two spaces. */
function fold(text: string, width = 80): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The "bound:" lines of thing show, each within 80 columns. */
function holderLines(h: Holder): string[] {
  if (h.bound === false) {
    return [
      'bound: no: no connector holds this Thing (no AlwaysOn session binds it).',
      '  Downlinks written now go nowhere; check that the bridge runs and bound it.',
    ];
  }
  if (h.bound === undefined && !h.session) {
    return fold(`bound: unknown. ${say({ id: 'holder-needs-admin-key' })}`);
  }
  const s = h.session;
  if (!s) return fold(`bound: yes, by a session tpx cannot name. ${say({ id: 'holder-needs-admin-key' })}`);
  const by =
    h.holder === 'this-key'
      ? "this key's live connector (the bridge)"
      : h.holder === 'this-key-competing'
        ? `one of ${h.connectorsOfKey} live connectors of this key`
        : h.holder === 'other-key'
          ? `another connector (key ${s.appKeyName})`
          : h.holder === 'ghost'
            ? 'a ghost session (no connection)'
            : 'a session of unknown state';
  const binds = s.numberBoundThings ?? 0;
  return [
    `bound: yes, by ${by}`,
    `  session ${s.endpointId}${s.appKeyName && h.holder !== 'other-key' ? ` (key ${s.appKeyName})` : ''}`,
    `  ${s.remoteAddress ? `from ${s.remoteAddress}, ` : ''}${binds} bind${binds === 1 ? '' : 's'}`,
    `  since ${when(s.startDate) || 'unknown'}, last used ${when(s.lastUsedDate) || 'unknown'}`,
  ];
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export async function runThingShow(
  ctx: CommandContext,
  devEui: string,
  opts: ThingConnectOptions & GlobalOptions,
): Promise<void> {
  const { parseDevEui } = await import('../parsers.js');
  const name = parseDevEui(devEui);
  const client = await connect(ctx, opts);
  const { isoDate, showThing } = await import('../../thingworx/things.js');
  const { spacedHex } = await import('../../thingworx/things-uplink.js');
  try {
    const d = await showThing(client, name);
    const driver = await (await import('./driver.js')).driverOfThing(ctx, name, d.properties.uplinkData);
    const [held] = await holders(ctx, client, opts, [name], { isConnected: { [name]: d.isConnected }, askBound: true });
    if (ctx.io.json) {
      ctx.io.printJson({ ...d, ...(driver ? { driver } : {}), holder: holderJson(held!) });
      return;
    }
    const io = ctx.io;
    io.out(io.color.bold(`Thing ${d.name}`) + (d.template ? ` (template ${d.template})` : ''));
    if (driver) io.out(`payload driver: ${driver.name} (${driver.assignedBy})`);
    await (await import('./bridge.js')).sayFleetOwner(ctx, d.name);
    io.out(
      `connected: ${d.isConnected === undefined ? 'unknown' : d.isConnected ? 'yes' : 'no'}` +
        `   last connection: ${when(d.lastConnection) || 'never'}`,
    );
    io.out(`last uplink: ${when(d.lastUplinkTime) || 'none'}`);
    for (const l of holderLines(held!)) io.out(l);
    io.out();
    if (d.uplink) {
      io.out(io.color.bold(`Latest uplink${d.uplink.kind ? ` (${d.uplink.kind})` : ''}`));
      io.out(io.keyValues(d.uplink.fields.map(([k, v]) => [k, k === 'payload_hex' ? spacedHex(v) : v])));
    } else {
      io.out('No uplink yet.');
    }
    io.out();
    // The bridge empties the downlink property once it has sent the downlink: a status without a downlink is the
    // status of the last one, not "no downlink".
    const status = d.downlinkStatus;
    if (d.downlink || status !== undefined) {
      io.out(io.color.bold(`Last downlink${d.downlink?.kind ? ` (${d.downlink.kind})` : ''}`));
      const rows: [string, string][] = d.downlink ? [...d.downlink.fields] : [];
      if (status !== undefined) {
        if (status && typeof status === 'object' && !Array.isArray(status)) {
          for (const [k, v] of Object.entries(status as Record<string, unknown>)) rows.push([`status.${k}`, cell(v)]);
        } else {
          rows.push(['status', cell(status)]);
        }
      }
      io.out(io.keyValues(rows));
    } else {
      io.out('No downlink yet.');
    }
    io.out();
    io.out(io.color.bold('Properties'));
    io.out(
      io.table(
        ['property', 'value', 'type'],
        Object.keys(d.properties)
          .sort((a, b) => a.localeCompare(b))
          .map((k) => [
            k,
            d.propertyTypes[k] === 'DATETIME' ? when(isoDate(d.properties[k])) : cell(d.properties[k]),
            d.propertyTypes[k] ?? '',
          ]),
      ),
    );
  } finally {
    await client.close();
  }
}

export async function runThingWatch(
  ctx: CommandContext,
  devEui: string,
  opts: ThingWatchOptions & GlobalOptions,
): Promise<void> {
  const { watchUplinks } = await import('../../thingworx/things-watch.js');
  const { parseDevEui } = await import('../parsers.js');
  const name = parseDevEui(devEui);
  const intervalMs = durationOption('--interval', opts.interval, { bare: 's', min: 100, max: 3_600_000 }) ?? 2000;
  const client = await connect(ctx, opts);
  const { spacedHex } = await import('../../thingworx/things-uplink.js');
  const { signal, release } = ctx.shutdownSignal();
  let seen = 0;
  let lastError: string | undefined;
  try {
    await watchUplinks(client, name, {
      intervalMs,
      signal,
      onReady: (mode) =>
        ctx.io.info(
          `Watching ${name} for uplinks (${mode === 'history' ? 'history' : 'latest value'} every ${formatDuration(intervalMs)}); Ctrl-C to stop.`,
        ),
      onTransientError: (err) => {
        if (err.message !== lastError)
          ctx.io.warn(`${err.message} Still watching; retrying every ${formatDuration(intervalMs)}.`);
        lastError = err.message;
      },
      onUplink: (u) => {
        lastError = undefined;
        seen += 1;
        if (ctx.io.json) {
          ctx.io.event('thing.uplink', u);
          return;
        }
        const s = u.summary;
        const parts = [
          when(u.receivedAt ?? s.time) || '-',
          name,
          s.fCntUp !== undefined ? `FCntUp ${s.fCntUp}` : '',
          s.fPort !== undefined ? `FPort ${s.fPort}` : '',
          s.payloadHex !== undefined ? `payload ${spacedHex(s.payloadHex)}` : '',
          s.rssi !== undefined ? `RSSI ${s.rssi}` : '',
          s.snr !== undefined ? `SNR ${s.snr}` : '',
          s.spreadingFactor !== undefined ? `SF${s.spreadingFactor}` : '',
        ];
        ctx.io.out(parts.filter(Boolean).join('  '));
      },
    });
    ctx.io.info(`Stopped; ${seen} uplink${seen === 1 ? '' : 's'} seen.`);
  } finally {
    release();
    await client.close();
  }
}

function connectOptions(c: Command): Command {
  return c
    .option('--thingworx-url <url>', 'ThingWorx URL https://host:port (env TPX_THINGWORX_URL)')
    .option('--app-key <key>', 'application key (env TPX_THINGWORX_APP_KEY)')
    .option('--ca <file>', 'CA certificate (PEM) to trust (env TPX_THINGWORX_CA)')
    .option('--insecure', 'skip TLS certificate verification (never in production)');
}

function adminOption(c: Command): Command {
  return c.option(
    '--admin-key <key>',
    "administrator's key, to name the session holding a Thing (env TPX_THINGWORX_ADMIN_KEY)",
  );
}

export function register(program: Command, app: App): void {
  const cmd = program.command('thing').description('look at device Things (named by DevEUI) on ThingWorx');
  const list = connectOptions(
    cmd
      .command('list')
      .description('list the Things of the Thing Template, with connection state and last uplink time')
      .option('--template <name>', `Thing Template (default ${DEFAULT_TEMPLATE_NAME}; env TPX_TEMPLATE)`)
      .option('--limit <n>', 'Things per page (default 100)')
      .option('--offset <n>', 'start at this position (default 0)')
      .option('--all', 'read every page'),
  );
  adminOption(list).action(app.action<ThingListOptions>(async (ctx, opts) => runThingList(ctx, opts)));
  const show = connectOptions(
    cmd
      .command('show <DevEUI>')
      .description('a Thing: who holds it, its properties, latest uplink decoded, last downlink and status'),
  );
  adminOption(show).action(
    app.action<ThingConnectOptions>(async (ctx, opts, [devEui]) => runThingShow(ctx, devEui!, opts)),
  );
  connectOptions(
    cmd
      .command('watch <DevEUI>')
      .description('print each new uplink of a Thing as it arrives, until Ctrl-C (NDJSON with --json)')
      .option('--interval <duration>', 'how often to ask ThingWorx, e.g. 500ms (default 2s; a bare number is seconds)'),
  ).action(app.action<ThingWatchOptions>(async (ctx, opts, [devEui]) => runThingWatch(ctx, devEui!, opts)));
}
