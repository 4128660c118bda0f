/** `tpx thingworx check`: the whole ThingWorx set-up checked at once, each item with its fix. */
import type { Command } from 'commander';
import { CheckFailedError, ExitCode, UsageError } from '../../errors.js';
import type { CheckItem, ThingWorxCheckReport } from '../../thingworx/check-types.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { durationOption, wholeNumberOption } from '../options.js';
import { sayFields } from '../phrases.js';

export interface ThingWorxFlags {
  thingworxUrl?: string;
  appKey?: string;
  ca?: string;
  insecure?: boolean;
  template?: string;
  timeout?: string;
}

export interface ThingWorxCheckFlags extends ThingWorxFlags {
  adminKey?: string;
  writeProbe?: boolean;
  fix?: boolean;
  liveBy?: string;
  ghostAfter?: string;
  pipeCount?: string;
}

export interface LivenessFlags {
  liveBy?: string;
  ghostAfter?: string;
}

/** How live sessions are told from ghosts: --live-by connections|last-used, --ghost-after <duration>. */
export function livenessOf(
  ctx: CommandContext,
  opts: LivenessFlags,
): { basis: 'connections' | 'last-used'; idleMs?: number } {
  const by = ctx.settings.value('sessionLiveness', opts.liveBy) ?? 'connections';
  if (by !== 'connections' && by !== 'last-used') {
    throw new UsageError(
      `--live-by "${by}" is not connections or last-used.`,
      'Use --live-by connections or --live-by last-used.',
      {
        setting: 'sessionLiveness',
        got: by,
      },
    );
  }
  const idleMs = durationOption('--ghost-after', ctx.settings.value('ghostAfter', opts.ghostAfter), {
    bare: 's',
    min: 1000,
    max: 7 * 86_400_000,
  });
  return { basis: by, ...(idleMs !== undefined ? { idleMs } : {}) };
}

/** The ThingPark connections lister, when the ThingPark API settings are all given (never prompted for). */
export async function hostedConnectionsOf(ctx: CommandContext) {
  const given = ['thingparkUrl', 'thingparkClientId', 'thingparkClientSecret'] as const;
  if (!given.every((k) => ctx.value(k, undefined))) return undefined;
  const { thingparkClient } = await import('../clients.js');
  const client = await thingparkClient(ctx, {});
  return () => client.listConnections('look for an Actility-hosted ThingWorx connection');
}

/** URL, app key, CA contents and insecure flag from flags > env > profile (prompting on a TTY). */
export async function resolveThingWorx(
  ctx: CommandContext,
  opts: ThingWorxFlags,
): Promise<{ url: string; appKey: string; ca?: string; insecure: boolean; template: string; timeoutMs?: number }> {
  const { truthy } = await import('../../thingworx/connect.js');
  const url = await ctx.resolve('thingworxUrl', opts.thingworxUrl, { message: 'ThingWorx URL (https://host:port)' });
  const appKey = await ctx.resolve('thingworxAppKey', opts.appKey, { message: 'Application key', secret: true });
  const ca = ctx.ca('thingworxCa', opts.ca);
  const insecure = truthy(ctx.settings.value('thingworxInsecure', opts.insecure ? 'true' : undefined));
  const template = ctx.settings.value('template', opts.template) ?? DEFAULT_TEMPLATE_NAME;
  const given = ctx.settings.value('timeout', opts.timeout);
  const timeoutMs = durationOption('--timeout', given, { bare: 'ms', min: 100, max: 600_000 });
  if (insecure) ctx.io.warn('TLS certificate verification is OFF (--insecure). Never in production.');
  return { url, appKey, ...(ca ? { ca } : {}), insecure, template, timeoutMs };
}

export function addThingWorxOptions(cmd: Command): Command {
  return cmd
    .option('--thingworx-url <url>', 'ThingWorx platform, https://host:port (env TPX_THINGWORX_URL)')
    .option('--app-key <key>', 'application key (env TPX_THINGWORX_APP_KEY)')
    .option('--ca <file>', 'CA certificate (PEM) to trust (env TPX_THINGWORX_CA)')
    .option('--insecure', 'skip TLS certificate verification (never in production)')
    .option('--template <name>', `Thing Template name (default ${DEFAULT_TEMPLATE_NAME}, env TPX_TEMPLATE)`);
  // --timeout is the global one (a duration; a bare number is still taken as milliseconds here); default 10 s.
}

const MARK: Record<CheckItem['status'], string> = { passed: '✓', failed: '✗', warned: '!', skipped: '-' };

/** The report with its details, fixes and methods in words (flags named from src/config/keys.ts). */
export function sayReport(report: ThingWorxCheckReport) {
  return { ...report, items: report.items.map((i) => sayFields(i, 'detail', 'fix', 'method')) };
}

export function renderCheck(ctx: CommandContext, report: ReturnType<typeof sayReport>): void {
  const c = ctx.io.color;
  const paint: Record<CheckItem['status'], (s: string) => string> = {
    passed: c.green,
    failed: c.red,
    warned: c.yellow,
    skipped: c.dim,
  };
  ctx.io.out(`ThingWorx check of ${report.url} (template ${report.template})`);
  const width = Math.max(...report.items.map((i) => i.title.length));
  for (const i of report.items) {
    ctx.io.out(`${paint[i.status](MARK[i.status])} ${i.title.padEnd(width)}  ${i.detail}`);
    if (i.fix) ctx.io.out(`  ${' '.repeat(width)}  ${c.dim('fix:')} ${i.fix}`);
  }
  const k = report.counts;
  ctx.io.out(`${k.passed} passed, ${k.failed} failed, ${k.warned} warned, ${k.skipped} skipped.`);
}

export async function runThingWorxCheck(
  ctx: CommandContext,
  opts: ThingWorxCheckFlags & GlobalOptions,
): Promise<number> {
  if (opts.fix && !ctx.globals.yes && (!ctx.io.stdinIsTTY || ctx.io.json)) {
    throw new UsageError(
      '--fix closes sessions and needs confirmation.',
      'Run it on a terminal, or add --yes to confirm.',
    );
  }
  const liveness = livenessOf(ctx, opts);
  const pipeCount = wholeNumberOption('--pipe-count', ctx.settings.value('pipeCount', opts.pipeCount), 1, 255) ?? 1;
  const s = await resolveThingWorx(ctx, opts);
  // Optional, never prompted for: it only widens what the check can read (policy, sessions of the key).
  const adminKey = ctx.value('thingworxAdminKey', opts.adminKey);
  const { runThingWorxChecks } = await import('../../thingworx/check.js');
  const hostedConnections = await hostedConnectionsOf(ctx);
  // First Ctrl-C: stop after the current item and delete the probes; a second one exits at once.
  const { signal, release } = ctx.shutdownSignal();
  let raw: ThingWorxCheckReport;
  try {
    raw = await runThingWorxChecks({
      signal,
      url: s.url,
      appKey: s.appKey,
      ...(adminKey ? { adminKey } : {}),
      ...(s.ca ? { ca: s.ca } : {}),
      insecure: s.insecure,
      template: s.template,
      writeProbe: opts.writeProbe ?? false,
      liveness,
      pipeCount,
      ...(hostedConnections ? { hostedConnections } : {}),
      ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
      onItem: (i) => ctx.io.status(`checking… ${i.title}: ${i.status}`),
      ...(opts.fix
        ? {
            confirmCloseGhosts: async (sessions) => {
              for (const g of sessions) {
                ctx.io.info(
                  `session ${g.endpointId} (key ${g.appKeyName ?? '?'}, last used ${g.lastUsedDate ?? '?'}, ${g.state === 'live' ? 'live' : g.state === 'ghost' ? 'ghost' : 'state unknown'}) binds ${g.numberBoundThings} Thing(s)${g.boundThings ? `: ${g.boundThings.slice(0, 5).join(', ')}${g.boundThings.length > 5 ? ', …' : ''}` : ''}`,
                );
              }
              return ctx.confirm(`Close ${sessions.length} AlwaysOn session(s) holding binds?`);
            },
          }
        : {}),
    });
  } finally {
    release();
  }
  ctx.io.clearStatus();
  const report = sayReport(raw);
  if (ctx.io.json) {
    ctx.io.printJson(report);
    return report.ok ? ExitCode.OK : ExitCode.CHECK_FAILED;
  }
  renderCheck(ctx, report);
  if (!report.ok) {
    throw new CheckFailedError(
      `The ThingWorx check found ${report.counts.failed} problem(s).`,
      'Apply the fixes above, then run "tpx thingworx check" again.',
    );
  }
  return ExitCode.OK;
}

export function register(parent: Command, app: App): void {
  const cmd = parent
    .command('check')
    .description(
      'check the set-up: host, TLS, app key and its expiry, rights, Thing Template, AlwaysOn AUTH/BIND, bind policy, ghost sessions, competing connectors',
    );
  addThingWorxOptions(cmd)
    .option(
      '--admin-key <key>',
      "an administrator's key, to read the bind policy and list this key's sessions (env TPX_THINGWORX_ADMIN_KEY)",
    )
    .option('--write-probe', 'create, bind and delete a uniquely named probe Thing and Thing Template')
    .option('--fix', "close the AlwaysOn sessions holding binds (an administrator's key; asks first)")
    .option('--live-by <basis>', 'tell live sessions from ghosts by connections (default) or last-used')
    .option('--ghost-after <duration>', 'with --live-by last-used: unused this long = ghost (default 10m)')
    .option('--pipe-count <n>', 'WebSockets one connector opens (default 1; env TPX_PIPE_COUNT)')
    .addHelpText('after', '\nExit codes: 0 every item passed or warned, 3 something failed.')
    .action(app.action<ThingWorxCheckFlags>(async (ctx, opts) => runThingWorxCheck(ctx, opts)));
}
