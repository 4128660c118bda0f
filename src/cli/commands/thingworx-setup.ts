/**
 * `tpx thingworx setup`: the set-up guide's Composer steps in one command, run with an administrator's
 * credentials. Creates or reuses the connector user and its application key, grants exactly the guide's rights,
 * optionally sets the Bind Protection Policy, then runs the checks of `tpx thingworx check` with the new key.
 */
import type { Command } from 'commander';
import { CheckFailedError, ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { sayReport } from './thingworx-check.js';

export interface ThingWorxSetupOptions {
  thingworxUrl?: string;
  adminKey?: string;
  adminUser?: string;
  adminPassword?: string;
  ca?: string;
  insecure?: boolean;
  user?: string;
  keyName?: string;
  keyExpiry?: string;
  bindPolicy?: string;
  bindPolicyTable?: string;
  bindPolicyField?: string;
  bindPolicyValue?: string;
  organization?: string;
  collections?: string;
  template?: string;
  skipTemplate?: boolean;
  dryRun?: boolean;
  saveProfile?: string;
}

const ENTITY_NAME = /^[A-Za-z0-9][\w.@-]{0,99}$/;
const ICON: Record<string, string> = { ok: '✓', done: '+', planned: '~', failed: '✗' };
const LABEL: Record<string, string> = { ok: 'ok', done: 'changed', planned: 'would change', failed: 'failed' };

export async function runThingWorxSetup(
  ctx: CommandContext,
  opts: ThingWorxSetupOptions & GlobalOptions,
): Promise<number> {
  const io = ctx.io;
  const input = await parseSetupInput(opts);
  const url = await ctx.resolve('thingworxUrl', opts.thingworxUrl, { message: 'ThingWorx URL (https://host:port)' });
  const caFile = ctx.settings.value('thingworxCa', opts.ca);
  const insecure = ctx.settings.value('thingworxInsecure', opts.insecure);
  if ((await import('../../thingworx/connect.js')).truthy(insecure)) {
    io.warn('TLS certificate verification is off (--insecure): never use this in production.');
  }
  const admin = await connectAdmin(ctx, opts, { url, caFile, insecure });
  try {
    const { DEFAULT_TEMPLATE_NAME } = await import('../../thingworx/template.js');
    const template = ctx.settings.value('template', opts.template, DEFAULT_TEMPLATE_NAME)!;
    const result = await runSetupSteps(ctx, opts, input, admin, { url, caFile, insecure, template });
    const key = result.appKey;
    const savedProfile = await saveKeyProfile(ctx, opts.saveProfile, key, { url, caFile });
    const showKey = Boolean(key && result.keyCreated && !savedProfile);
    if (!io.json) sayOutcome(ctx, result, { user: input.user, showKey, savedProfile });
    io.addSecrets(key);

    let checks: CheckSummary | undefined;
    if (key) {
      checks = await runChecks(ctx, {
        url,
        appKey: key,
        adminKey: admin.adminKey,
        adminDispatcher: admin.dispatcher,
        caFile,
        insecure,
        template,
      });
    } else if (!io.json) io.info('Checks skipped (dry run): run "tpx thingworx check" after setup.');

    if (io.json) await printSetupJson(ctx, result, { user: input.user, key, showKey, savedProfile, checks });
    if (checks && !checks.ok) {
      // With --json the document above is the whole output (its "ok" is false): only the exit code says more.
      if (io.json) return ExitCode.CHECK_FAILED;
      throw new CheckFailedError(
        'Setup finished, but the checks with the new key found problems.',
        'See the failed items above; run "tpx thingworx check" again after fixing them.',
      );
    }
    return 0;
  } finally {
    await admin.close();
  }
}

type SetupResult = Awaited<ReturnType<typeof import('../../thingworx/setup.js').runThingWorxSetup>>;
interface ThingWorxConnection {
  url: string;
  caFile?: string;
  insecure?: string;
}

/** What people typed, checked before anything is sent. */
async function parseSetupInput(opts: ThingWorxSetupOptions) {
  const names = await import('../../thingworx/setup-names.js');
  const { validateProfileName } = await import('../../config/profiles.js');
  const { parseKeyExpiry, parseBindPolicy } = await import('../parsers.js');
  const keyExpiresAt = parseKeyExpiry(opts.keyExpiry ?? names.DEFAULT_KEY_EXPIRY);
  const bindPolicy = opts.bindPolicy ? parseBindPolicy(opts.bindPolicy) : undefined;
  if (opts.saveProfile) validateProfileName(opts.saveProfile);
  const user = (opts.user ?? names.DEFAULT_CONNECTOR_USER).trim();
  for (const [flag, value] of [
    ['--user', user],
    ['--key-name', opts.keyName],
  ] as const) {
    if (value !== undefined && !ENTITY_NAME.test(value)) {
      throw new UsageError(`Invalid ${flag} "${value}".`, 'Use letters, digits, ".", "_", "-" or "@" (at most 100).');
    }
  }
  const collections = opts.collections
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (collections && collections.length === 0) {
    throw new UsageError(
      `Invalid --collections "${opts.collections}".`,
      'Give collection names separated by commas, e.g. Things,ThingTemplates.',
    );
  }
  return { keyExpiresAt, bindPolicy, user, collections };
}

type ThingWorxRestClient = ReturnType<typeof import('../clients.js').thingworxRest>;
interface AdminConnection {
  rest: ThingWorxRestClient;
  /** The administrator's key, when setup used one: the checks after it read the policy and sessions with it. */
  adminKey?: string;
  /** The administrator's user and password (HTTP Basic), when setup used them: the checks use them the same way. */
  dispatcher?: import('undici').Dispatcher;
  close(): Promise<void>;
}

/**
 * The administrator's REST client. Flags first (--admin-key, then --admin-user), then env/profile (key, then
 * user), then a prompt for a key.
 */
async function connectAdmin(
  ctx: CommandContext,
  opts: ThingWorxSetupOptions,
  c: ThingWorxConnection,
): Promise<AdminConnection> {
  const { restOptions, truthy } = await import('../../thingworx/connect.js');
  const { thingworxRest } = await import('../clients.js');
  const adminUser = opts.adminKey
    ? undefined
    : (opts.adminUser ??
      (ctx.settings.value('thingworxAdminKey') ? undefined : ctx.settings.value('thingworxAdminUser')));
  if (!adminUser) {
    const adminKey = await ctx.resolve('thingworxAdminKey', opts.adminKey, {
      message: "Administrator's application key",
      secret: true,
    });
    const rest = thingworxRest(
      restOptions({ url: c.url, appKey: adminKey, caFile: c.caFile, insecure: c.insecure }),
      ctx,
    );
    return { rest, adminKey, close: () => rest.close() };
  }
  const password = await ctx.resolve('thingworxAdminPassword', opts.adminPassword, {
    message: `Password of ${adminUser}`,
    secret: true,
  });
  const { basicAuthDispatcher } = await import('../../thingworx/setup-auth.js');
  const basic = basicAuthDispatcher(adminUser, password, {
    ...(c.caFile ? { ca: ctx.ca('thingworxCa', c.caFile) } : {}),
    insecure: truthy(c.insecure),
  });
  const rest = thingworxRest({ url: c.url, appKey: '', dispatcher: basic.dispatcher }, ctx);
  return {
    rest,
    dispatcher: basic.dispatcher,
    close: async () => {
      await rest.close();
      await basic.close();
    },
  };
}

/** The setup steps, with a progress line per step on a terminal (the step table when they fail elsewhere). */
async function runSetupSteps(
  ctx: CommandContext,
  opts: ThingWorxSetupOptions,
  input: Awaited<ReturnType<typeof parseSetupInput>>,
  admin: AdminConnection,
  c: ThingWorxConnection & { template: string },
): Promise<SetupResult> {
  const io = ctx.io;
  const { restOptions } = await import('../../thingworx/connect.js');
  const { thingworxRest } = await import('../clients.js');
  const { runThingWorxSetup: setup } = await import('../../thingworx/setup.js');
  const showProgress = showsProgress(ctx);
  try {
    return await setup({
      client: admin.rest,
      user: input.user,
      ...(opts.keyName ? { keyName: opts.keyName } : {}),
      keyExpiresAt: input.keyExpiresAt,
      ...(input.bindPolicy ? { bindPolicy: input.bindPolicy } : {}),
      bindPolicyNames: { table: opts.bindPolicyTable, field: opts.bindPolicyField, value: opts.bindPolicyValue },
      dryRun: opts.dryRun ?? false,
      names: {
        ...(opts.organization ? { organization: opts.organization } : {}),
        ...(input.collections ? { collections: input.collections } : {}),
      },
      ...(opts.skipTemplate
        ? {}
        : {
            template: {
              name: c.template,
              connect: (appKey?: string) => {
                if (!appKey) return { rest: admin.rest, close: async () => {} };
                const rest = thingworxRest(
                  restOptions({ url: c.url, appKey, caFile: c.caFile, insecure: c.insecure }),
                  ctx,
                );
                return { rest, close: () => rest.close() };
              },
            },
          }),
      onStep: (step, i, total) => {
        if (!showProgress) return;
        if (step.detail === 'running') io.status(`[${i + 1}/${total}] ${step.title}…`);
        else io.info(`${ICON[step.status]} [${i + 1}/${total}] ${step.title}: ${step.detail}`);
      },
    });
  } catch (err) {
    const steps = (err as { details?: { steps?: { title: string; status: string; detail: string }[] } }).details?.steps;
    if (steps && !io.json && !showProgress) io.out(stepTable(ctx, steps));
    throw err;
  }
}

/** A progress line per step (stderr on a terminal, human output). */
const showsProgress = (ctx: CommandContext) => ctx.io.isStderrTTY && !ctx.io.json && !ctx.io.quiet;

/** --save-profile: stores the URL and the new key; returns the profile's name when it did. */
async function saveKeyProfile(
  ctx: CommandContext,
  profile: string | undefined,
  key: string | undefined,
  c: { url: string; caFile?: string },
): Promise<string | undefined> {
  if (!key || !profile) return undefined;
  const { updateProfile } = await import('../../config/profiles.js');
  updateProfile(
    profile,
    { thingworxUrl: c.url, thingworxAppKey: key, ...(c.caFile ? { thingworxCa: c.caFile } : {}) },
    ctx.env,
  );
  return profile;
}

/** The human outcome: the step table (without progress lines), what changed, and the key (once) or where it went. */
function sayOutcome(
  ctx: CommandContext,
  result: SetupResult,
  o: { user: string; showKey: boolean; savedProfile?: string },
): void {
  const io = ctx.io;
  const key = result.appKey;
  const planned = result.steps.filter((s) => s.status === 'planned').length;
  const changes = result.steps.filter((s) => s.status === 'done').length;
  if (!showsProgress(ctx)) io.out(stepTable(ctx, result.steps));
  if (result.dryRun)
    io.info(
      planned
        ? `Dry run: ${planned} step(s) would change the platform; nothing was written.`
        : 'Dry run: nothing to change.',
    );
  else if (!result.changed) io.success(`Nothing to change: ThingWorx is already set up for ${o.user}.`);
  else io.success(`ThingWorx set up for ${o.user}: ${changes} step(s) changed.`);
  if (o.showKey && key) {
    // The one time the key is printed in full (it is registered as a secret right after, so nothing else shows it).
    io.out(
      `\nApplication key (Key ID) of ${o.user}, shown once — store it now (e.g. tpx profile set thingworxAppKey):`,
    );
    io.out(`${key}\n`);
  } else if (o.savedProfile) {
    io.success(`Saved the URL and the application key of ${o.user} in profile ${o.savedProfile}.`);
  } else if (key && !result.keyCreated) {
    io.info(
      `Application key ${result.keyName} was reused; its value is not shown again (use --save-profile NAME to store it).`,
    );
  }
}

/** The one JSON document of --json. */
async function printSetupJson(
  ctx: CommandContext,
  result: SetupResult,
  o: { user: string; key?: string; showKey: boolean; savedProfile?: string; checks?: CheckSummary },
): Promise<void> {
  const { mask } = await import('../../config/secrets.js');
  const { key, showKey, savedProfile, checks } = o;
  const doc = {
    ok: !checks || checks.ok,
    dryRun: result.dryRun,
    changed: result.changed,
    adminUser: result.adminUser,
    user: o.user,
    keyName: result.keyName,
    keyCreated: result.keyCreated,
    ...(result.keyExpiresAt ? { keyExpiresAt: result.keyExpiresAt } : {}),
    // The new key in full only when it was created now and not saved to a profile (shown once).
    ...(key ? (showKey ? { appKey: key } : { appKeyMasked: mask(key) }) : {}),
    ...(savedProfile ? { savedProfile } : {}),
    steps: result.steps,
    ...(checks ? { checks: checks.json } : {}),
  };
  // The key is a registered secret by now (so nothing else prints it); the one document that carries it on
  // purpose (shown once, for CI) is written as is. Without showKey it only holds the masked form.
  ctx.io.stdout.write(`${JSON.stringify(doc)}\n`);
}

function stepTable(ctx: CommandContext, steps: { title: string; status: string; detail: string }[]): string {
  return ctx.io.table(
    ['step', 'result', 'detail'],
    steps.map((s) => [s.title, `${ICON[s.status] ?? ''} ${LABEL[s.status] ?? s.status}`, s.detail]),
  );
}

interface CheckSummary {
  ok: boolean;
  json: unknown;
}

/** The checks of `tpx thingworx check`, run with the connector's key; prints them (human) and returns a summary. */
async function runChecks(
  ctx: CommandContext,
  s: {
    url: string;
    appKey: string;
    adminKey?: string;
    adminDispatcher?: import('undici').Dispatcher;
    caFile?: string;
    insecure?: string;
    template?: string;
  },
): Promise<CheckSummary> {
  const { runThingWorxChecks } = await import('../../thingworx/check.js');
  const { truthy } = await import('../../thingworx/connect.js');
  const io = ctx.io;
  const raw = await runThingWorxChecks({
    url: s.url,
    appKey: s.appKey,
    // The administrator's key (or user and password) setup just used reads the bind policy and the sessions (no
    // "needs --admin-key").
    ...(s.adminKey ? { adminKey: s.adminKey } : {}),
    ...(s.adminDispatcher ? { adminDispatcher: s.adminDispatcher } : {}),
    ...(s.caFile ? { ca: ctx.ca('thingworxCa', s.caFile) } : {}),
    insecure: truthy(s.insecure),
    ...(s.template ? { template: s.template } : {}),
    onItem: (item) => io.status(`Checking with the new key: ${item.title}`),
  });
  const report = sayReport(raw);
  io.clearStatus();
  if (!io.json) {
    // The same checklist as `tpx thingworx check` prints.
    io.out('\nChecks with the new key (tpx thingworx check):');
    const { renderCheck } = await import('./thingworx-check.js');
    renderCheck(ctx, report);
  }
  return { ok: report.ok, json: report };
}

export function register(parent: Command, app: App): void {
  parent
    .command('setup')
    .description("do the set-up guide's Composer steps with an administrator's credentials, then check the result")
    .option('--thingworx-url <url>', 'ThingWorx URL https://host:port (env TPX_THINGWORX_URL)')
    .option('--admin-key <key>', "an administrator's application key (env TPX_THINGWORX_ADMIN_KEY)")
    .option('--admin-user <name>', 'administrator user name, instead of --admin-key (env TPX_THINGWORX_ADMIN_USER)')
    .option(
      '--admin-password <password>',
      'password of --admin-user (env TPX_THINGWORX_ADMIN_PASSWORD; prompted on a TTY)',
    )
    .option('--ca <file>', 'CA certificate (PEM) to trust (env TPX_THINGWORX_CA)')
    .option('--insecure', 'skip TLS certificate verification (never in production)')
    .option('--user <name>', 'connector user to create or reuse (default tpx-connector)')
    .option('--key-name <name>', 'application key name (default <user>-key)')
    .option('--key-expiry <when>', 'key expiry: a duration (90d, 6mo, 1y) or a date (2027-12-31); default 1y')
    .option('--bind-policy <policy>', 'also set the WSCommunicationsSubsystem Bind Protection Policy (last-in-wins)')
    .option(
      '--bind-policy-table <name>',
      'configuration table holding the policy (UNCONFIRMED on real platforms; default: found by its value)',
    )
    .option(
      '--bind-policy-field <name>',
      'field of the policy in that table (UNCONFIRMED; default: found by name or value)',
    )
    .option(
      '--bind-policy-value <text>',
      "exact value to write (UNCONFIRMED; default: the current value's spelling, first→last)",
    )
    .option('--organization <name>', 'organization given visibility (default Composer, as in the guide)')
    .option(
      '--collections <list>',
      'collections given visibility and Create/Read (default Things,ThingTemplates; names UNCONFIRMED on real platforms)',
    )
    .option(
      '--template <name>',
      `Thing Template to create if missing and check (default ${DEFAULT_TEMPLATE_NAME}; env TPX_TEMPLATE)`,
    )
    .option('--skip-template', 'do not create the Thing Template (the connector creates it itself at its first start)')
    .option('--dry-run', 'list each step and what it would change; change nothing')
    .option('--save-profile <name>', 'store the URL and the new key in this profile instead of printing the key')
    .addHelpText(
      'after',
      `
Grants exactly the guide's rights, nothing more: Things and ThingTemplates collections: visibility for the
Composer organization, design time Create and Read for the user; EntityServices: visibility for Composer and
Service Execute on CreateThing, CreateThingTemplate and GetEntityList for the user. Then it creates the Actility
Thing Template if missing (with the new key, so the connector user owns it). A second run changes nothing.
The key is printed once (or stored with --save-profile) and never logged; an existing key is reused, and given the
--key-expiry date when it has none, is expired, or expires within 7 days. Exit code 3 when the final checks fail.
Platform services used: EntityServices CreateUser, CreateApplicationKey,
CheckPermissionForUser, AddRunTimePermission, Get/AddVisibilityPermission; CollectionFunctions
GetCollection{Visibility,DesignTime}Permissions, AddCollection{Visibility,DesignTime}Permission;
ApplicationKeys/<key> GetUserName, GetExpirationDate, SetExpirationDate, GetKeyID; WSCommunicationsSubsystem
GetConfigurationTables, GetConfigurationTable, SetConfigurationTable. The Bind Protection Policy's table, field and
value names, and the collection names, are UNCONFIRMED on a live server: override them with the --bind-policy-*
options and --collections if needed. CreateApplicationKey gets the user as both "user" and "userNameReference";
setup reads the key's user and expiry back and stops if the platform did not take them.`,
    )
    .action(app.action<ThingWorxSetupOptions>(async (ctx, opts) => runThingWorxSetup(ctx, opts)));
}
