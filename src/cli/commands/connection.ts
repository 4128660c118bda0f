/** `tpx connection list|get|create|update|delete`: IoT Flow ThingWorx connections through the ThingPark API. */
import type { Command } from 'commander';
import { CancelledError, UsageError } from '../../errors.js';
import type { ConnectionBody, ThingParkClient } from '../../thingpark/api.js';
import type { DiffEntry } from '../../thingpark/connection-config.js';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';

export interface ApiOptions {
  thingparkUrl?: string;
  thingparkApi?: string;
  thingparkTokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  thingparkCa?: string;
}

/** Connection fields as flags give them (strings), keyed by the option names of connection-config FIELDS. */
export interface FieldOptions {
  name?: string;
  description?: string;
  hostName?: string;
  appKey?: string;
  template?: string;
  pipeCount?: string;
  active?: string;
  createDevices?: string;
  sendMetadata?: string;
  sendRawDecodedFormat?: string;
  uplinkTimeValidity?: string;
  downlinkEnabled?: string;
  downlinkAsId?: string;
  downlinkAsKey?: string;
  downlinkPort?: string;
  reconnectStrategy?: string;
}

export type ConnectionWriteOptions = ApiOptions & FieldOptions & { dryRun?: boolean };

async function apiSettings(ctx: CommandContext, opts: ApiOptions) {
  const { apiEndpoints, parseFlavour } = await import('../../thingpark/api.js');
  const url = await ctx.resolve('thingparkUrl', opts.thingparkUrl, { message: 'ThingPark URL (https://host)' });
  const flavour = parseFlavour(ctx.settings.value('thingparkApi', opts.thingparkApi));
  const tokenUrl = ctx.settings.value('thingparkTokenUrl', opts.thingparkTokenUrl);
  return { url, flavour, tokenUrl, endpoints: apiEndpoints(url, flavour, tokenUrl) };
}

export async function makeClient(ctx: CommandContext, opts: ApiOptions): Promise<ThingParkClient> {
  const { ThingParkClient } = await import('../../thingpark/api.js');
  const s = await apiSettings(ctx, opts);
  const clientId = await ctx.resolve('thingparkClientId', opts.clientId, { message: 'ThingPark client id' });
  const clientSecret = await ctx.resolve('thingparkClientSecret', opts.clientSecret, {
    message: 'ThingPark client secret',
    secret: true,
  });
  const { thingparkDispatcher } = await import('../../thingpark/tls.js');
  const dispatcher = thingparkDispatcher(ctx.ca('thingparkCa', opts.thingparkCa));
  return new ThingParkClient({
    ...(dispatcher ? { dispatcher } : {}),
    url: s.url,
    flavour: s.flavour,
    tokenUrl: s.tokenUrl,
    clientId,
    clientSecret,
    onEvent: (e) => ctx.io.debug(e.message),
  });
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v);
}

export async function runConnectionList(ctx: CommandContext, opts: ApiOptions): Promise<void> {
  const { maskConnection } = await import('../../thingpark/connection-config.js');
  const client = await makeClient(ctx, opts);
  const list = (await client.listConnections()).map(maskConnection);
  if (ctx.io.json) {
    ctx.io.printJson({ connections: list });
    return;
  }
  if (list.length === 0) {
    ctx.io.out('No connections.');
    ctx.io.info('Create one with: tpx connection create --name <name> --host-name <host:port>');
    return;
  }
  ctx.io.out(
    ctx.io.table(
      ['id', 'name', 'state', 'host', 'template', 'pipes'],
      list.map((c) => [
        c.id,
        c.name,
        c.state ?? '',
        show(c.configuration.hostName ?? ''),
        show(c.configuration.thingTemplateName ?? ''),
        show(c.configuration.pipeCount ?? ''),
      ]),
    ),
  );
}

export async function runConnectionGet(ctx: CommandContext, id: string, opts: ApiOptions): Promise<void> {
  const { maskConnection } = await import('../../thingpark/connection-config.js');
  const client = await makeClient(ctx, opts);
  const c = maskConnection(await client.getConnection(id));
  if (ctx.io.json) {
    ctx.io.printJson({ connection: c });
    return;
  }
  const rows: [string, string][] = [
    ['id', c.id],
    ['name', c.name],
    ['connector', c.connectorId],
    ['state', c.state ?? ''],
    ['active', show(c.active)],
    ['startupTime', c.startupTime ?? ''],
  ];
  for (const [k, v] of Object.entries(c.configuration)) rows.push([k, show(v)]);
  ctx.io.out(ctx.io.keyValues(rows));
}

/** Host:port from the profile's thingworxUrl (https://host:port), for the --host-name default. */
function hostFromThingWorxUrl(ctx: CommandContext): string | undefined {
  const url = ctx.settings.value('thingworxUrl');
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'http:' ? '80' : '443')}`;
  } catch {
    return undefined;
  }
}

/** The connector's schema check (a warning when this ThingPark does not list its connectors). */
async function checkAgainstConnector(
  client: ThingParkClient,
  ctx: CommandContext,
  body: ConnectionBody,
): Promise<void> {
  const { checkAgainstConnector: check } = await import('../../thingpark/connector-check.js');
  const { warning } = await check(client, body);
  if (warning) ctx.io.warn(warning);
}

function printRequest(
  ctx: CommandContext,
  method: string,
  url: string,
  body: unknown,
  extra: Record<string, unknown> = {},
): void {
  const request = { method, url, headers: { authorization: 'Bearer *****', 'content-type': 'application/json' }, body };
  if (ctx.io.json) {
    ctx.io.printJson({ dryRun: true, request, ...extra });
    return;
  }
  ctx.io.out(`${method} ${url}`);
  ctx.io.out('Authorization: Bearer *****');
  ctx.io.out('Content-Type: application/json');
  ctx.io.out('');
  ctx.io.out(JSON.stringify(body, null, 2));
  ctx.io.info('Dry run: nothing was sent.');
}

export async function runConnectionCreate(ctx: CommandContext, opts: ConnectionWriteOptions): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  const fields: Record<string, unknown> = { ...opts };
  fields.appKey = ctx.value('thingworxAppKey', opts.appKey);
  fields.template = ctx.settings.value('template', opts.template);
  fields.pipeCount = ctx.settings.value('pipeCount', opts.pipeCount);
  fields.hostName = opts.hostName ?? hostFromThingWorxUrl(ctx);
  if (!opts.hostName && fields.hostName) ctx.io.info(`Using ThingWorx host ${fields.hostName} from thingworxUrl.`);
  ctx.io.addSecrets(opts.downlinkAsKey);
  cfg.parseFields(fields); // refuse bad values before asking for the missing ones
  if (ctx.io.canPrompt()) {
    const validate = (opt: string) => (v: string) => cfg.checkField(opt, v) ?? true;
    if (!fields.name) fields.name = await ctx.io.prompt.input('Connection name', { validate: validate('name') });
    if (!fields.hostName)
      fields.hostName = await ctx.io.prompt.input('ThingWorx host:port', { validate: validate('hostName') });
    if (!fields.appKey) {
      fields.appKey = await ctx.io.prompt.password('ThingWorx application key', { validate: validate('appKey') });
      ctx.io.addSecrets(fields.appKey as string);
    }
  }
  const body = cfg.buildCreateBody(fields);
  if (opts.dryRun) {
    const s = await apiSettings(ctx, opts);
    printRequest(ctx, 'POST', `${s.endpoints.base}/connections`, cfg.maskConnection(body));
    return;
  }
  const client = await makeClient(ctx, opts);
  await checkAgainstConnector(client, ctx, body);
  const created = cfg.maskConnection(await client.createConnection(body));
  if (ctx.io.json) {
    ctx.io.printJson({ connection: created });
    return;
  }
  ctx.io.out(`Created connection ${created.id} "${created.name}" (${created.state ?? 'state unknown'}).`);
  ctx.io.info(`Follow it with: tpx connection get ${created.id}`);
}

function printDiff(ctx: CommandContext, diff: DiffEntry[]): void {
  for (const d of diff) {
    const to = d.secret ? '(new value)' : show(d.to);
    ctx.io.out(`  ${d.field}: ${ctx.io.color.red(show(d.from))} -> ${ctx.io.color.green(to)}`);
  }
}

export async function runConnectionUpdate(
  ctx: CommandContext,
  id: string,
  opts: ConnectionWriteOptions,
): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  ctx.io.addSecrets(opts.appKey, opts.downlinkAsKey);
  const changes = cfg.parseFields({ ...opts });
  const client = await makeClient(ctx, opts);
  const existing = await client.getConnection(id);
  if (existing.connectorId !== cfg.THINGWORX_CONNECTOR_ID) {
    throw new UsageError(
      `Connection ${id} is an ${existing.connectorId} connection; tpx updates only ${cfg.THINGWORX_CONNECTOR_ID} connections.`,
      'Change it in the ThingPark web interface.',
    );
  }
  const secrets: { applicationKey?: string; downlinkAsKey?: string } = {
    applicationKey: ctx.value('thingworxAppKey', opts.appKey),
    downlinkAsKey: ctx.value('asKey', opts.downlinkAsKey),
  };
  if (!secrets.applicationKey && existing.configuration.applicationKey === cfg.MASK && ctx.io.canPrompt()) {
    secrets.applicationKey = await ctx.io.prompt.password('ThingWorx application key (ThingPark does not return it)', {
      validate: (v) => cfg.checkField('appKey', v) ?? true,
    });
    ctx.io.addSecrets(secrets.applicationKey);
  }
  const { body, diff, missingSecrets } = cfg.mergeForUpdate(existing, changes, secrets);
  if (missingSecrets.length) {
    const appKey = missingSecrets.includes('applicationKey');
    throw new UsageError(
      `Cannot update connection ${id} without its ${appKey ? 'ThingWorx application key' : 'downlink AS key'}: ThingPark shows it only as ***** and an update replaces the whole configuration, so sending it back would overwrite the real ${appKey ? 'key' : 'AS key'}.`,
      appKey
        ? 'Pass --app-key, set TPX_THINGWORX_APP_KEY, or store it with "tpx profile set thingworxAppKey".'
        : 'Pass --downlink-as-key, set TPX_AS_KEY, or store it with "tpx profile set asKey".',
      { missing: missingSecrets },
    );
  }
  const shownDiff = diff.map((d) => ({ field: d.field, from: d.from, to: d.to }));
  if (diff.length === 0) {
    if (ctx.io.json) ctx.io.printJson({ changed: false, connection: cfg.maskConnection(existing), diff: [] });
    else ctx.io.out(`Nothing to change in connection ${id} "${existing.name}".`);
    return;
  }
  await checkAgainstConnector(client, ctx, body);
  if (opts.dryRun) {
    if (!ctx.io.json) printDiff(ctx, diff);
    printRequest(ctx, 'PUT', client.urlOf(`/connections/${encodeURIComponent(id)}`), cfg.maskConnection(body), {
      diff: shownDiff,
    });
    return;
  }
  if (!ctx.io.json) {
    ctx.io.out(`Connection ${id} "${existing.name}":`);
    printDiff(ctx, diff);
  }
  if (!(await ctx.confirm(`Update connection ${id}?`)))
    throw new CancelledError('Update cancelled; nothing was changed.');
  const updated = cfg.maskConnection(await client.updateConnection(id, body));
  if (ctx.io.json) {
    ctx.io.printJson({ changed: true, connection: updated, diff: shownDiff });
    return;
  }
  ctx.io.success(`Updated connection ${id} (${updated.state ?? 'state unknown'}).`);
}

export async function runConnectionDelete(ctx: CommandContext, id: string, opts: ApiOptions): Promise<void> {
  const client = await makeClient(ctx, opts);
  const existing = await client.getConnection(id);
  if (!(await ctx.confirm(`Delete connection ${id} "${existing.name}"?`)))
    throw new CancelledError('Delete cancelled; nothing was changed.');
  await client.deleteConnection(id);
  if (ctx.io.json) {
    ctx.io.printJson({ deleted: { id, name: existing.name } });
    return;
  }
  ctx.io.success(`Deleted connection ${id} "${existing.name}".`);
}

function apiOptions(cmd: Command): Command {
  return cmd
    .option('--thingpark-url <url>', 'ThingPark base URL, https://host (env TPX_THINGPARK_URL)')
    .option(
      '--thingpark-api <flavour>',
      'dx (ThingPark Enterprise/Community, default) or iotflow (env TPX_THINGPARK_API)',
    )
    .option(
      '--thingpark-token-url <url>',
      'OAuth2 token URL (default: <url> + /users-auth/protocol + /openid-connect/token)',
    )
    .option('--client-id <id>', 'OAuth2 client id (env TPX_THINGPARK_CLIENT_ID)')
    .option('--client-secret <secret>', 'OAuth2 client secret (prefer env TPX_THINGPARK_CLIENT_SECRET or the profile)')
    .option('--thingpark-ca <file>', 'CA certificate (PEM) to trust for ThingPark (env TPX_THINGPARK_CA)');
}

function fieldOptions(cmd: Command, create: boolean): Command {
  return cmd
    .option('--name <name>', create ? 'connection name (required)' : 'new connection name')
    .option('--description <text>', 'description')
    .option('--host-name <host:port>', `ThingWorx host:port${create ? ' (default: from thingworxUrl)' : ''}`)
    .option(
      '--app-key <key>',
      'ThingWorx application key (prefer env TPX_THINGWORX_APP_KEY or the profile; prompted, hidden, on a TTY)',
    )
    .option('--template <name>', `Thing Template name${create ? ' (default actilityThingTemplateSF)' : ''}`)
    .option('--pipe-count <n>', `number of AlwaysOn WebSockets, 1..255${create ? ' (default 1)' : ''}`)
    .option(
      '--active <true|false>',
      `whether the connection runs${create ? ' (default true)' : ' (unchanged when not given)'}`,
    )
    .option('--create-devices <true|false>', 'create Things at the first uplink')
    .option('--send-metadata <true|false>', 'legacy tpdx-dataflow format')
    .option('--send-raw-decoded-format <true|false>', 'send only the decoded payload')
    .option('--uplink-time-validity <duration>', 'drop uplinks older than this (30s, 5m, 24h, 2d)')
    .option('--downlink-enabled <true|false>', 'allow downlinks')
    .option('--downlink-as-id <id>', 'AS_ID for authenticated downlinks')
    .option('--downlink-as-key <hex>', 'AS key (32 hex) for authenticated downlinks (env TPX_AS_KEY)')
    .option('--downlink-port <n>', 'default FPort of downlinks, 1..223')
    .option('--reconnect-strategy <s>', 'CALM, NORMAL or AGGRESSIVE')
    .option('--dry-run', 'print the exact request (secrets masked) and send nothing');
}

export function register(program: Command, app: App): void {
  const cmd = program.command('connection').description('manage IoT Flow ThingWorx connections on ThingPark');
  apiOptions(cmd.command('list').description('list connections (id, name, state, host, template, pipes)')).action(
    app.action<ApiOptions>(async (ctx, opts) => runConnectionList(ctx, opts)),
  );
  apiOptions(cmd.command('get <id>').description('show one connection (secrets masked)')).action(
    app.action<ApiOptions>(async (ctx, opts, [id]) => runConnectionGet(ctx, id!, opts)),
  );
  fieldOptions(
    apiOptions(cmd.command('create').description('create an actility-thingworx-iot connection')),
    true,
  ).action(app.action<ConnectionWriteOptions>(async (ctx, opts) => runConnectionCreate(ctx, opts)));
  fieldOptions(
    apiOptions(
      cmd
        .command('update <id>')
        .description('change fields of a connection (shows a diff, asks unless --yes; re-sends the app key)'),
    ),
    false,
  ).action(app.action<ConnectionWriteOptions>(async (ctx, opts, [id]) => runConnectionUpdate(ctx, id!, opts)));
  apiOptions(cmd.command('delete <id>').description('delete a connection (asks unless --yes)')).action(
    app.action<ApiOptions>(async (ctx, opts, [id]) => runConnectionDelete(ctx, id!, opts)),
  );
}
