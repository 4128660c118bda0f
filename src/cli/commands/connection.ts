/** `tpx connection list|get|create|update|delete`: IoT Flow ThingWorx connections through the ThingPark API. */
import type { Command } from 'commander';
import { settingKey } from '../../config/keys.js';
import { CancelledError, UsageError } from '../../errors.js';
import type { Connection, ConnectionBody, ThingParkClient } from '../../thingpark/api.js';
import type { DiffEntry, ParsedFields, ResentSecret } from '../../thingpark/connection-config.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import type { App } from '../app.js';
import type { ThingParkFlags } from '../clients.js';
import type { CommandContext } from '../context.js';

/** The ThingPark API flags every connection command takes. */
export type ApiOptions = ThingParkFlags;

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

/** The ThingPark API client of this command (ctx.thingpark(): flags > env > profile > prompt). */
export async function makeClient(ctx: CommandContext, opts: ApiOptions): Promise<ThingParkClient> {
  // On a terminal the values asked for can be saved in the profile (offerToSave), which creates it.
  if (ctx.io.canPrompt()) ctx.profileMayBeNew = true;
  return ctx.thingpark(opts);
}

/** "tpx" or "tpx --profile x": the start of a command to suggest, keeping the profile the user chose. */
function tpx(ctx: CommandContext): string {
  return ctx.globals.profile ? `tpx --profile ${ctx.globals.profile}` : 'tpx';
}

/** An id argument: never empty (an empty one would address the collection). */
function connectionId(id: string | undefined): string {
  if (id === undefined || id.trim() === '') {
    throw new UsageError('The connection id is empty.', 'Give the id that "tpx connection list" shows, e.g. 1101.');
  }
  return id.trim();
}

/** A secret of the connection from its flag, env or profile, with where it came from (for the diff). */
function secretSetting(
  ctx: CommandContext,
  key: 'thingworxAppKey' | 'connectionDownlinkAsKey',
  flag: string | undefined,
): { value: string; source: string } | undefined {
  return ctx.sourced(key, flag);
}

/** Fields an AMQP connection takes from one flag, --broker-url (host, protocol, user and password). */
const BROKER_FIELDS = new Set(['brokerHost', 'brokerProtocol', 'brokerUser', 'brokerPassword']);

/** The flag of a connection field: its option name in kebab case (hostName -> --host-name). */
const flagOf = (p: { field?: string; key: string }) =>
  p.field
    ? BROKER_FIELDS.has(p.field)
      ? '--broker-url'
      : `--${p.field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
    : p.key;

/** The settings (config/keys.ts) that give a connection field when no flag does: their TPX_* variable or profile. */
const FIELD_SETTINGS: Record<string, string> = {
  template: 'template',
  pipeCount: 'pipeCount',
  appKey: 'thingworxAppKey',
  downlinkAsKey: 'connectionDownlinkAsKey',
  brokerHost: 'connectionBrokerUrl',
  brokerProtocol: 'connectionBrokerUrl',
  brokerUser: 'connectionBrokerUrl',
  brokerPassword: 'connectionBrokerUrl',
};

type FieldProblemLike = { field?: string; key: string; message: string; setting?: string };
/** How an error names the value of a field problem: by where it came from (ctx.valueLabel). */
type FieldLabel = (p: FieldProblemLike) => string;

/** The -f file of `connection apply`: its path and its fields keyed by option name, with their path in the file. */
interface ConnectionFile {
  path: string;
  fields: Record<string, unknown>;
  /** The field's path in the file by option name: `name`, `configuration.pipeCount`. */
  paths: Record<string, string>;
}

/**
 * Names a field's bad value by where it came from (flag > -f file > TPX_* variable > profile), through
 * ctx.valueLabel: `--pipe-count`, `configuration.pipeCount in ci.json`, the pipeCount variable, `pipeCount in profile "lab"`.
 * `flags` are the flags given (not merged with the file). A broker field comes from --broker-url or its setting
 * before the file (amqpFields puts it over the file's).
 */
function fieldLabel(ctx: CommandContext, given: object, file?: ConnectionFile): FieldLabel {
  const flags = given as Record<string, unknown>;
  return (p) => {
    if (!p.field) return flagOf(p);
    const setting = FIELD_SETTINGS[p.field];
    const broker = BROKER_FIELDS.has(p.field);
    const flagValue = broker ? flags.brokerUrl : flags[p.field];
    const inFile = file && file.fields[p.field] !== undefined ? file : undefined;
    const fromBrokerSetting = broker && ctx.settings.value('connectionBrokerUrl', flagValue as string) !== undefined;
    return ctx.valueLabel(setting ?? p.field, typeof flagValue === 'string' ? flagValue : undefined, {
      flag: flagOf(p),
      ...(inFile && !fromBrokerSetting
        ? { file: { path: inFile.path, field: inFile.paths[p.field]!, value: inFile.fields[p.field] } }
        : {}),
    });
  };
}

/**
 * Field problems (ConnectionFieldsError: data, naming fields) as a usage error naming each value by where it came
 * from (`label`; the flag by default), whose fix names, for a missing value, its flag, TPX_* variable and profile key.
 */
function fieldsError(err: unknown, label: FieldLabel = flagOf): unknown {
  if (!(err instanceof UsageError) || !Array.isArray((err.details as { fields?: unknown })?.fields)) return err;
  const problems = (err as UsageError & { problems?: FieldProblemLike[] }).problems;
  if (!problems?.length) return err;
  const message = `${problems.map((p) => `${label(p)} ${p.message}`).join('; ')}.`;
  const details = { fields: problems.map((p) => ({ flag: flagOf(p), key: p.key, message: p.message })) };
  const missing = problems.filter((p) => p.message === 'is required');
  if (missing.length === 0 || missing.length !== problems.length) {
    const fix =
      problems.length === 1
        ? `Correct ${label(problems[0]!)} and run the command again.`
        : 'Correct the values named above and run the command again.';
    return new UsageError(message, fix, details);
  }
  // Only missing values: say how to give each (flag, and for a setting its TPX_* variable and profile key).
  const ways = missing.map((p) => {
    const meta = p.setting ? settingKey(p.setting) : undefined;
    return meta ? `${meta.flag} (or set ${meta.env}, or run "tpx profile set ${meta.key} <value>")` : flagOf(p);
  });
  const fix =
    missing.length === 1 && missing[0]!.setting
      ? (() => {
          const meta = settingKey(missing[0]!.setting!)!;
          return `Pass ${meta.flag}, set ${meta.env}, or run "tpx profile set ${meta.key} <value>".`;
        })()
      : `Pass ${ways.join(', ')}.`;
  return new UsageError(message, fix, details);
}

/** After a run that asked for settings at prompts: offer to keep them in the profile (as gh auth login does). */
async function offerToSave(ctx: CommandContext): Promise<void> {
  const asked = ctx.prompted.filter((p) => settingKey(p.key));
  if (asked.length === 0 || !ctx.io.canPrompt()) return;
  const name = ctx.settings.profileName;
  const keys = asked.map((p) => p.key).join(', ');
  if (!(await ctx.io.prompt.confirm(`Save ${keys} in profile "${name}" for next time?`, { default: true }))) return;
  const { updateProfile } = await import('../../config/profiles.js');
  const path = updateProfile(name, Object.fromEntries(asked.map((p) => [p.key, p.value])), ctx.env);
  ctx.io.success(`Saved ${keys} in profile ${name} (${path}).`);
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v);
}

export async function runConnectionList(ctx: CommandContext, opts: ApiOptions): Promise<void> {
  const { maskConnection } = await import('../../thingpark/connection-config.js');
  const client = await makeClient(ctx, opts);
  const list = (await client.listConnections()).map(maskConnection);
  await offerToSave(ctx);
  if (ctx.io.json) {
    ctx.io.printJson({ connections: list });
    return;
  }
  if (list.length === 0) {
    ctx.io.out('No connections.');
    ctx.io.info(`Create one with: ${tpx(ctx)} connection create --name <name> --host-name <host:port>`);
    return;
  }
  // Every connection is listed; the ThingWorx columns are filled for actility-thingworx-iot ones only.
  ctx.io.out(
    ctx.io.table(
      ['id', 'name', 'connector', 'state', 'host', 'template', 'pipes'],
      list.map((c) => [
        c.id,
        c.name,
        c.connectorId,
        c.state ?? '',
        show(c.configuration.hostName ?? ''),
        show(c.configuration.thingTemplateName ?? ''),
        show(c.configuration.pipeCount ?? ''),
      ]),
    ),
  );
}

export async function runConnectionGet(ctx: CommandContext, rawId: string, opts: ApiOptions): Promise<void> {
  const id = connectionId(rawId);
  const { maskConnection } = await import('../../thingpark/connection-config.js');
  const client = await makeClient(ctx, opts);
  const c = maskConnection(await client.getConnection(id));
  await offerToSave(ctx);
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

/** The connector's schema check (a warning when this ThingPark does not list its connectors or cannot now). */
async function checkAgainstConnector(
  client: ThingParkClient,
  ctx: CommandContext,
  body: ConnectionBody,
  purpose: string,
  label?: FieldLabel,
): Promise<void> {
  const { checkAgainstConnector: check } = await import('../../thingpark/connector-check.js');
  const { warning } = await check(client, body, purpose).catch((err: unknown) => {
    throw fieldsError(err, label);
  });
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

/** The fields of a new connection from flags, env and profile (and prompts on a TTY for the required ones). */
async function createFields(
  ctx: CommandContext,
  opts: ConnectionWriteOptions,
  prompt: boolean,
  label: FieldLabel = fieldLabel(ctx, opts),
) {
  const cfg = await import('../../thingpark/connection-config.js');
  const fields: Record<string, unknown> = { ...opts };
  fields.appKey = secretSetting(ctx, 'thingworxAppKey', opts.appKey)?.value;
  fields.downlinkAsKey = secretSetting(ctx, 'connectionDownlinkAsKey', opts.downlinkAsKey)?.value;
  fields.template = ctx.settings.value('template', opts.template);
  fields.pipeCount = ctx.settings.value('pipeCount', opts.pipeCount);
  fields.hostName = opts.hostName ?? hostFromThingWorxUrl(ctx);
  if (!opts.hostName && fields.hostName) ctx.io.info(`Using ThingWorx host ${fields.hostName} from thingworxUrl.`);
  try {
    cfg.parseFields(fields); // refuse bad values before asking for the missing ones
  } catch (err) {
    throw fieldsError(err, label);
  }
  if (prompt && ctx.io.canPrompt()) {
    const validate = (opt: string) => (v: string) =>
      v.trim() === '' ? 'A value is required (Ctrl-C cancels).' : (cfg.checkField(opt, v) ?? true);
    if (!fields.name) fields.name = await ctx.io.prompt.input('Connection name', { validate: validate('name') });
    if (!fields.hostName)
      fields.hostName = await ctx.io.prompt.input('ThingWorx host:port', { validate: validate('hostName') });
    if (!fields.appKey) {
      fields.appKey = await ctx.io.prompt.password('ThingWorx application key', { validate: validate('appKey') });
      ctx.io.addSecrets(fields.appKey as string);
      ctx.prompted.push({ key: 'thingworxAppKey', value: fields.appKey as string });
    }
  }
  return fields;
}

function buildBody(
  cfg: typeof import('../../thingpark/connection-config.js'),
  fields: Record<string, unknown>,
  label: FieldLabel,
) {
  try {
    return cfg.buildCreateBody(fields);
  } catch (err) {
    throw fieldsError(err, label);
  }
}

export async function runConnectionCreate(
  ctx: CommandContext,
  opts: ConnectionWriteOptions & { allowDuplicate?: boolean },
): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  const label = fieldLabel(ctx, opts);
  const fields = await createFields(ctx, opts, true, label);
  const body = buildBody(cfg, fields, label);
  if (opts.dryRun) {
    const { thingparkEndpoints } = await import('../clients.js');
    const s = await thingparkEndpoints(ctx, opts);
    printRequest(ctx, 'POST', `${s.endpoints.base}/connections`, cfg.maskConnection(body));
    return;
  }
  const client = await makeClient(ctx, opts);
  if (!opts.allowDuplicate) {
    const same = (await client.listConnections(`look for connections named "${body.name}" before creating it`)).filter(
      (c) => c.name === body.name,
    );
    if (same.length) {
      throw new UsageError(
        `A connection named "${body.name}" already exists (${same.map((c) => c.id).join(', ')}); a second one would be a duplicate.`,
        `Change it with "${tpx(ctx)} connection apply --name ${body.name} …" (creates or updates by name), or pass --allow-duplicate.`,
        { name: body.name, ids: same.map((c) => c.id) },
      );
    }
  }
  await checkAgainstConnector(
    client,
    ctx,
    body,
    `check the configuration before creating connection "${body.name}"`,
    label,
  );
  const created = cfg.maskConnection(await client.createConnection(body));
  await offerToSave(ctx);
  if (ctx.io.json) {
    ctx.io.printJson({ connection: created });
    return;
  }
  ctx.io.out(`Created connection ${created.id} "${created.name}" (${created.state ?? 'state unknown'}).`);
  ctx.io.info(`Follow it with: ${tpx(ctx)} connection get ${created.id}`);
}

function printDiff(ctx: CommandContext, diff: DiffEntry[], resent: ResentSecret[]): void {
  for (const d of diff) {
    const to = d.secret ? '(new value)' : show(d.to);
    ctx.io.out(`  ${d.field}: ${ctx.io.color.red(show(d.from))} -> ${ctx.io.color.green(to)}`);
  }
  for (const r of resent) {
    ctx.io.out(`  ${r.field}: re-sent from ${r.source} — ThingPark masks it, so tpx cannot tell if it changes`);
  }
}

/** What an update would send: the merge, the diff and the secrets re-sent; throws when a masked secret is missing. */
async function planUpdate(
  ctx: CommandContext,
  existing: Connection,
  opts: ConnectionWriteOptions,
  changes: ParsedFields,
  promptForKey: boolean,
) {
  const cfg = await import('../../thingpark/connection-config.js');
  const id = existing.id;
  if (existing.connectorId !== cfg.THINGWORX_CONNECTOR_ID) throw notThingWorx(existing, cfg.THINGWORX_CONNECTOR_ID);
  const secrets = {
    applicationKey: opts.appKey ? undefined : secretSetting(ctx, 'thingworxAppKey', undefined),
    downlinkAsKey: opts.downlinkAsKey ? undefined : secretSetting(ctx, 'connectionDownlinkAsKey', undefined),
  };
  if (
    promptForKey &&
    !secrets.applicationKey &&
    !opts.appKey &&
    existing.configuration.applicationKey === cfg.MASK &&
    ctx.io.canPrompt()
  ) {
    const value = await ctx.io.prompt.password('ThingWorx application key (ThingPark does not return it)', {
      validate: (v) =>
        v.trim() === '' ? 'A value is required (Ctrl-C cancels).' : (cfg.checkField('appKey', v) ?? true),
    });
    ctx.io.addSecrets(value);
    ctx.prompted.push({ key: 'thingworxAppKey', value });
    secrets.applicationKey = { value, source: 'the prompt' };
  }
  const plan = cfg.mergeForUpdate(existing, changes, secrets);
  if (plan.missingSecrets.length) throw missingSecretError(id, plan.missingSecrets);
  // Secrets given as flags are changes; secrets from env or profile are only re-sent with other changes.
  return plan;
}

function missingSecretError(id: string, missing: string[]): UsageError {
  const which = missing.includes('applicationKey')
    ? { key: 'thingworxAppKey', what: 'ThingWorx application key', short: 'key' }
    : missing.includes('password')
      ? { key: 'connectionBrokerUrl', what: 'broker password', short: 'password' }
      : { key: 'connectionDownlinkAsKey', what: 'downlink AS key', short: 'AS key' };
  const meta = settingKey(which.key)!;
  return new UsageError(
    `Cannot update connection ${id} without its ${which.what}: ThingPark shows it only as ***** and an update replaces the whole configuration, so sending it back would overwrite the real ${which.short}.`,
    `Pass ${meta.flag}, set ${meta.env}, or store it with "tpx profile set ${meta.key}".`,
    { missing },
  );
}

function notThingWorx(c: Connection, connectorId: string): UsageError {
  return new UsageError(
    `Connection ${c.id} is an ${c.connectorId} connection; tpx changes and deletes only ${connectorId} connections.`,
    'Change or delete it in the ThingPark web interface.',
    { id: c.id, connectorId: c.connectorId },
  );
}

export async function runConnectionUpdate(
  ctx: CommandContext,
  rawId: string,
  opts: ConnectionWriteOptions,
): Promise<void> {
  const id = connectionId(rawId);
  const cfg = await import('../../thingpark/connection-config.js');
  ctx.io.addSecrets(opts.appKey, opts.downlinkAsKey);
  let changes: ParsedFields;
  try {
    changes = cfg.parseFields({ ...opts });
  } catch (err) {
    throw fieldsError(err);
  }
  const client = await makeClient(ctx, opts);
  const existing = await client.getConnection(id);
  const { body, diff, resent } = await planUpdate(ctx, existing, opts, changes, true);
  const shownDiff = diffJson(diff, resent);
  if (diff.length === 0) {
    await offerToSave(ctx);
    if (ctx.io.json) ctx.io.printJson({ changed: false, connection: cfg.maskConnection(existing), diff: [] });
    else ctx.io.out(`Nothing to change in connection ${id} "${existing.name}".`);
    return;
  }
  await checkAgainstConnector(client, ctx, body, `check the configuration before updating connection ${id}`);
  if (opts.dryRun) {
    if (!ctx.io.json) printDiff(ctx, diff, resent);
    printRequest(ctx, 'PUT', client.urlOf(`/connections/${encodeURIComponent(id)}`), cfg.maskConnection(body), {
      diff: shownDiff,
    });
    return;
  }
  if (!ctx.io.json) {
    ctx.io.out(`Connection ${id} "${existing.name}":`);
    printDiff(ctx, diff, resent);
  }
  if (!(await ctx.confirm(confirmText(`Update connection ${id}`, diff, resent))))
    throw new CancelledError('Update cancelled; nothing was changed.');
  const updated = cfg.maskConnection(await client.updateConnection(id, body));
  await offerToSave(ctx);
  if (ctx.io.json) {
    ctx.io.printJson({ changed: true, connection: updated, diff: shownDiff });
    return;
  }
  ctx.io.success(`Updated connection ${id} (${updated.state ?? 'state unknown'}).`);
}

/** The confirmation question; it names every secret that is sent, and from where. */
function confirmText(what: string, diff: DiffEntry[], resent: ResentSecret[]): string {
  const secrets = [
    ...diff.filter((d) => d.secret).map((d) => `${d.field.replace('configuration.', '')} (new value)`),
    ...resent.map((r) => `${r.field.replace('configuration.', '')} from ${r.source}`),
  ];
  return secrets.length ? `${what}, sending ${secrets.join(' and ')}?` : `${what}?`;
}

function diffJson(diff: DiffEntry[], resent: ResentSecret[]) {
  return [
    ...diff.map((d) => ({ field: d.field, from: d.from, to: d.to, ...(d.secret ? { secret: true } : {}) })),
    ...resent.map((r) => ({ field: r.field, resent: true, source: r.source })),
  ];
}

export async function runConnectionDelete(ctx: CommandContext, rawId: string, opts: ApiOptions): Promise<void> {
  const id = connectionId(rawId);
  const { THINGWORX_CONNECTOR_ID } = await import('../../thingpark/connection-config.js');
  const { AMQP_CONNECTOR } = await import('../../thingpark/amqp-connection.js');
  const client = await makeClient(ctx, opts);
  const existing = await client.getConnection(id);
  // tpx deletes what it creates: ThingWorx connections, and the AMQP ones that feed a fleet (apply --connector amqp).
  if (existing.connectorId !== THINGWORX_CONNECTOR_ID && existing.connectorId !== AMQP_CONNECTOR.id)
    throw notThingWorx(existing, THINGWORX_CONNECTOR_ID);
  if (!(await ctx.confirm(`Delete connection ${id} "${existing.name}"?`)))
    throw new CancelledError('Delete cancelled; nothing was changed.');
  await client.deleteConnection(id);
  await offerToSave(ctx);
  if (ctx.io.json) {
    ctx.io.printJson({ deleted: { id, name: existing.name } });
    return;
  }
  ctx.io.success(`Deleted connection ${id} "${existing.name}".`);
}

export interface ConnectionApplyOptions extends ConnectionWriteOptions {
  file?: string;
  /** thingworx (default) or amqp, or the connector id. */
  connector?: string;
  brokerUrl?: string;
  exchange?: string;
  routingKeyPattern?: string;
  downlinkTopicPattern?: string;
  fleetPrefix?: string;
}

type ConnectorKind = 'thingworx' | 'amqp';

/** The kind --connector names (a short name or the connector id). */
function connectorKind(v: string, amqpId: string, twxId: string): ConnectorKind {
  const s = v.trim().toLowerCase();
  if (s === 'thingworx' || s === twxId) return 'thingworx';
  if (s === 'amqp' || s === amqpId) return 'amqp';
  throw new UsageError(
    `--connector must be thingworx or amqp (got "${v}").`,
    `Give --connector thingworx (${twxId}) or --connector amqp (${amqpId}).`,
  );
}

/**
 * The fields of a connection file (the API's shape: name, active, configuration{…}) as the flags give them, with
 * each one's path in the file (to name a bad value there).
 */
async function readConnectionFile(path: string): Promise<ConnectionFile & { connectorId?: string }> {
  const { readFileSync } = await import('node:fs');
  const { FIELDS, AMQP_FIELDS, THINGWORX_CONNECTOR_ID } = await import('../../thingpark/connection-config.js');
  const { AMQP_CONNECTOR } = await import('../../thingpark/amqp-connection.js');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(
      `Cannot read the connection file ${path} (${why}).`,
      'Give a JSON file: {"name": …, "configuration": {…}}.',
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`${path} is not a JSON object.`, 'Give {"name": …, "configuration": {"hostName": …}}.');
  }
  const o = doc as Record<string, unknown>;
  const conf = (o.configuration ?? {}) as Record<string, unknown>;
  if (o.connectorId !== undefined && o.connectorId !== THINGWORX_CONNECTOR_ID && o.connectorId !== AMQP_CONNECTOR.id) {
    throw new UsageError(
      `${path} describes an ${String(o.connectorId)} connection; tpx applies only ${THINGWORX_CONNECTOR_ID} and ${AMQP_CONNECTOR.id} ones.`,
      `Drop connectorId, or set it to ${THINGWORX_CONNECTOR_ID} or ${AMQP_CONNECTOR.id}.`,
    );
  }
  const specs = o.connectorId === AMQP_CONNECTOR.id ? AMQP_FIELDS : FIELDS;
  const known = new Set(['connectorId', 'configuration', ...specs.filter((f) => f.top).map((f) => f.key)]);
  const knownConf = new Set(specs.filter((f) => !f.top).map((f) => f.key));
  const unknown = [
    ...Object.keys(o).filter((k) => !known.has(k)),
    ...Object.keys(conf)
      .filter((k) => !knownConf.has(k))
      .map((k) => `configuration.${k}`),
  ];
  if (unknown.length) {
    throw new UsageError(
      `${path} has fields tpx does not know: ${unknown.join(', ')}.`,
      `Known: ${[...known].join(', ')}; configuration.${[...knownConf].join(', configuration.')}.`,
    );
  }
  const fields: Record<string, unknown> = {};
  const paths: Record<string, string> = {};
  for (const f of specs) {
    const v = f.top ? o[f.key] : conf[f.key];
    if (v !== undefined && v !== null) {
      fields[f.opt] = v;
      paths[f.opt] = f.top ? f.key : `configuration.${f.key}`;
    }
  }
  return { path, fields, paths, ...(typeof o.connectorId === 'string' ? { connectorId: o.connectorId } : {}) };
}

/**
 * The fields of an AMQP connection from its flags: --broker-url (or TPX_CONNECTION_BROKER_URL / the profile)
 * expanded into host, protocol, user and password; --exchange defaulted from the fleet prefix when creating.
 */
async function amqpFields(
  ctx: CommandContext,
  opts: ConnectionApplyOptions,
  given: Record<string, unknown>,
  creating: boolean,
): Promise<{ fields: Record<string, unknown>; brokerSource?: string }> {
  const { brokerUrlFields, AMQP_CONNECTOR } = await import('../../thingpark/amqp-connection.js');
  const { ConnectionFieldsError } = await import('../../thingpark/connection-config.js');
  const fields: Record<string, unknown> = { ...given };
  for (const k of ['exchange', 'routingKeyPattern', 'downlinkTopicPattern'] as const) {
    if (opts[k] !== undefined) fields[k] = opts[k];
  }
  const broker = ctx.sourced('connectionBrokerUrl', opts.brokerUrl);
  let brokerSource: string | undefined;
  if (broker) {
    brokerSource = broker.source;
    const r = brokerUrlFields(broker.value);
    if (r.problem) {
      throw new ConnectionFieldsError([{ field: 'brokerHost', key: AMQP_CONNECTOR.keys.hostName, message: r.problem }]);
    }
    const b = r.fields!;
    if (b.password) ctx.io.addSecrets(b.password, broker.value);
    fields.brokerHost = b.hostName;
    fields.brokerProtocol = b.protocol;
    if (b.username !== undefined) fields.brokerUser = b.username;
    if (b.password !== undefined) fields.brokerPassword = b.password;
  }
  if (creating && fields.exchange === undefined) {
    const { fleetNames } = await import('../../bridge/fleet/types.js');
    const prefix = ctx.settings.value('fleetPrefix', opts.fleetPrefix);
    fields.exchange = fleetNames(prefix || undefined).uplinks;
  }
  const pattern = fields.routingKeyPattern;
  if (typeof pattern === 'string' && pattern !== AMQP_CONNECTOR.routingKeyPattern && pattern.includes('{DevEUI}')) {
    ctx.io.warn(
      `The routing key pattern ${pattern} is not ${AMQP_CONNECTOR.routingKeyPattern} alone: a device fed both by IoT Flow and by a bridge's HTTP ingest would hash to two queues.`,
    );
  }
  return { fields, ...(brokerSource ? { brokerSource } : {}) };
}

/**
 * `tpx connection apply`: the connection as described (flags, or -f file with flags on top), matched by name —
 * created when absent, updated only where it differs, left alone when equal (as kubectl apply / terraform apply).
 * ThingWorx connections by default; IoT Flow AMQP connections (a fleet's direct source) with --connector amqp.
 */
export async function runConnectionApply(ctx: CommandContext, opts: ConnectionApplyOptions): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  const { AMQP_CONNECTOR } = await import('../../thingpark/amqp-connection.js');
  const file = opts.file ? await readConnectionFile(opts.file) : undefined;
  const fromFile = file?.fields ?? {};
  const flagKind = opts.connector
    ? connectorKind(opts.connector, AMQP_CONNECTOR.id, cfg.THINGWORX_CONNECTOR_ID)
    : undefined;
  const fileKind =
    file?.connectorId === undefined ? undefined : file.connectorId === AMQP_CONNECTOR.id ? 'amqp' : 'thingworx';
  if (flagKind && fileKind && flagKind !== fileKind) {
    throw new UsageError(
      `--connector ${opts.connector} and the file's connectorId ${file?.connectorId} disagree.`,
      'Drop one of them.',
    );
  }
  const given: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined && [...cfg.FIELDS, ...cfg.AMQP_FIELDS].some((f) => f.opt === k)) given[k] = v;
  }
  for (const k of ['appKey', 'downlinkAsKey', 'brokerPassword'] as const) {
    if (typeof fromFile[k] === 'string') ctx.io.addSecrets(fromFile[k] as string);
  }
  if (!given.name) {
    throw new UsageError(
      'apply needs the connection name (it finds the connection by name).',
      'Pass --name, or give "name" in the -f file.',
    );
  }
  const name = String(given.name);
  const client = await makeClient(ctx, opts);
  const same = (await client.listConnections(`look for connection "${name}"`)).filter((c) => c.name === name);
  if (same.length > 1) {
    throw new UsageError(
      `${same.length} connections are named "${name}" (${same.map((c) => c.id).join(', ')}); apply cannot choose.`,
      `Delete the duplicates with "${tpx(ctx)} connection delete <id>", or change one with "${tpx(ctx)} connection update <id>".`,
      { name, ids: same.map((c) => c.id) },
    );
  }
  const existing = same[0] ? await client.getConnection(same[0].id) : undefined;
  const existingKind = existing
    ? existing.connectorId === AMQP_CONNECTOR.id
      ? 'amqp'
      : existing.connectorId === cfg.THINGWORX_CONNECTOR_ID
        ? 'thingworx'
        : undefined
    : undefined;
  const kind: ConnectorKind = flagKind ?? fileKind ?? existingKind ?? 'thingworx';
  if (existing && existingKind !== kind) {
    throw new UsageError(
      `Connection ${existing.id} "${name}" is an ${existing.connectorId} connection; apply cannot make it another kind.`,
      existingKind
        ? `Give another --name, or delete it first with "${tpx(ctx)} connection delete ${existing.id}".`
        : 'Change it in the ThingPark web interface, or give another --name.',
      { id: existing.id, connectorId: existing.connectorId },
    );
  }
  const label = fieldLabel(ctx, opts, file);
  if (kind === 'amqp') return applyAmqp(ctx, client, opts, given, existing, label);
  return applyThingWorx(ctx, client, opts, given, fromFile, existing, name, label);
}

/** apply for a ThingWorx connection: created from the fields given, or updated where they differ. */
async function applyThingWorx(
  ctx: CommandContext,
  client: ThingParkClient,
  opts: ConnectionApplyOptions,
  given: Record<string, unknown>,
  fromFile: Record<string, unknown>,
  existing: Connection | undefined,
  name: string,
  label: FieldLabel,
): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  if (!existing) {
    const fields = await createFields(ctx, given as ConnectionWriteOptions, false, label);
    if (fromFile.appKey && !opts.appKey) fields.appKey = fromFile.appKey;
    if (fromFile.downlinkAsKey && !opts.downlinkAsKey) fields.downlinkAsKey = fromFile.downlinkAsKey;
    const body = buildBody(cfg, fields, label);
    const purpose = `check the configuration before creating connection "${name}"`;
    await checkAgainstConnector(client, ctx, body, purpose, label);
    if (opts.dryRun) return applyResult(ctx, 'created', cfg.maskConnection(body), [], true);
    const created = cfg.maskConnection(await client.createConnection(body));
    return applyResult(ctx, 'created', created, [], false);
  }
  let changes: ParsedFields;
  try {
    changes = cfg.parseFields(given);
  } catch (err) {
    throw fieldsError(err, label);
  }
  // A secret is a change only when given explicitly and it is not what tpx would re-send anyway: ThingPark masks
  // secrets, so a secret alone never makes a difference tpx can see.
  for (const k of cfg.SECRET_CONFIG_KEYS) delete changes.configuration[k];
  const fileSource = `the file ${opts.file ?? ''}`;
  const explicit = (flag: string | undefined, inFile: unknown, flagName: string) =>
    flag
      ? { value: flag, source: flagName }
      : typeof inFile === 'string'
        ? { value: inFile, source: fileSource }
        : undefined;
  const secrets = {
    applicationKey:
      explicit(opts.appKey, fromFile.appKey, '--app-key') ?? secretSetting(ctx, 'thingworxAppKey', undefined),
    downlinkAsKey:
      explicit(opts.downlinkAsKey, fromFile.downlinkAsKey, '--downlink-as-key') ??
      secretSetting(ctx, 'connectionDownlinkAsKey', undefined),
  };
  const plan = cfg.mergeForUpdate(existing, changes, secrets);
  return applyUpdate(ctx, client, opts, existing, plan, label);
}

/** apply for an IoT Flow AMQP connection: the fleet's exchange and routing key, the broker from one URL. */
async function applyAmqp(
  ctx: CommandContext,
  client: ThingParkClient,
  opts: ConnectionApplyOptions,
  given: Record<string, unknown>,
  existing: Connection | undefined,
  label: FieldLabel,
): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  const { AMQP_CONNECTOR } = await import('../../thingpark/amqp-connection.js');
  let fields: Record<string, unknown>;
  let brokerSource: string | undefined;
  try {
    ({ fields, brokerSource } = await amqpFields(ctx, opts, given, !existing));
    fields.downlinkAsKey = secretSetting(ctx, 'connectionDownlinkAsKey', opts.downlinkAsKey)?.value;
    if (!existing) {
      const body = cfg.buildAmqpCreateBody(fields);
      const name = body.name;
      await checkAgainstConnector(client, ctx, body, `check the configuration before creating connection "${name}"`);
      if (opts.dryRun) return applyResult(ctx, 'created', cfg.maskConnection(body), [], true);
      const created = cfg.maskConnection(await client.createConnection(body));
      return applyResult(ctx, 'created', created, [], false);
    }
  } catch (err) {
    throw fieldsError(err, label);
  }
  let changes: ParsedFields;
  try {
    changes = cfg.parseFields(fields, cfg.AMQP_FIELDS);
  } catch (err) {
    throw fieldsError(err, label);
  }
  const password = changes.configuration[AMQP_CONNECTOR.keys.password];
  for (const k of AMQP_CONNECTOR.secretKeys) delete changes.configuration[k];
  const secrets = {
    [AMQP_CONNECTOR.keys.password]:
      typeof password === 'string' ? { value: password, source: brokerSource ?? '--broker-url' } : undefined,
    downlinkAsKey: secretSetting(ctx, 'connectionDownlinkAsKey', opts.downlinkAsKey),
  };
  const plan = cfg.mergeForUpdate(existing, changes, secrets, AMQP_CONNECTOR.secretKeys);
  return applyUpdate(ctx, client, opts, existing, plan, label);
}

/** The update half of apply: unchanged, or the diff, the connector check, the plan (--dry-run) or the PUT. */
async function applyUpdate(
  ctx: CommandContext,
  client: ThingParkClient,
  opts: ConnectionApplyOptions,
  existing: Connection,
  plan: ReturnType<typeof import('../../thingpark/connection-config.js').mergeForUpdate>,
  label: FieldLabel,
): Promise<void> {
  const cfg = await import('../../thingpark/connection-config.js');
  const { body, diff, resent, missingSecrets } = plan;
  if (diff.length === 0) return applyResult(ctx, 'unchanged', cfg.maskConnection(existing), [], Boolean(opts.dryRun));
  if (missingSecrets.length) throw missingSecretError(existing.id, missingSecrets);
  const purpose = `check the configuration before updating connection ${existing.id}`;
  await checkAgainstConnector(client, ctx, body, purpose, label);
  if (!ctx.io.json) {
    ctx.io.out(`Connection ${existing.id} "${existing.name}":`);
    printDiff(ctx, diff, resent);
  }
  if (opts.dryRun)
    return applyResult(ctx, 'updated', cfg.maskConnection(body), diffJson(diff, resent), true, existing.id);
  if (ctx.io.canPrompt() && !(await ctx.confirm(confirmText(`Update connection ${existing.id}`, diff, resent))))
    throw new CancelledError('Apply cancelled; nothing was changed.');
  const updated = cfg.maskConnection(await client.updateConnection(existing.id, body));
  return applyResult(ctx, 'updated', updated, diffJson(diff, resent), false);
}

function applyResult(
  ctx: CommandContext,
  action: 'created' | 'updated' | 'unchanged',
  connection: { id?: string; name: string; state?: string },
  diff: unknown[],
  dryRun: boolean,
  id = connection.id,
): void {
  if (ctx.io.json) {
    ctx.io.printJson({ action, ...(dryRun ? { dryRun: true } : {}), id, connection, diff });
    return;
  }
  const label = `connection${id ? ` ${id}` : ''} "${connection.name}"`;
  if (dryRun) {
    const plan = { created: 'would be created', updated: 'would be updated', unchanged: 'is unchanged' }[action];
    ctx.io.out(`Plan: ${label} ${plan}.`);
    if (action === 'created') ctx.io.out(JSON.stringify(connection, null, 2));
    ctx.io.info('Dry run: nothing was sent.');
    return;
  }
  if (action === 'unchanged') ctx.io.out(`Connection ${id} "${connection.name}" is unchanged.`);
  else ctx.io.out(`${action === 'created' ? 'Created' : 'Updated'} ${label} (${connection.state ?? 'state unknown'}).`);
  if (action !== 'unchanged') ctx.io.info(`Follow it with: ${tpx(ctx)} connection get ${id}`);
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

function fieldOptions(cmd: Command, create: boolean, nameHelp?: string): Command {
  return cmd
    .option('--name <name>', nameHelp ?? (create ? 'connection name (required)' : 'new connection name'))
    .option('--description <text>', 'description')
    .option('--host-name <host:port>', `ThingWorx host:port${create ? ' (default: from thingworxUrl)' : ''}`)
    .option(
      '--app-key <key>',
      'ThingWorx application key (prefer env TPX_THINGWORX_APP_KEY or the profile; prompted, hidden, on a TTY)',
    )
    .option('--template <name>', `Thing Template name${create ? ` (default ${DEFAULT_TEMPLATE_NAME})` : ''}`)
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
    .option(
      '--downlink-as-key <hex>',
      "AS key (32 hex) for authenticated downlinks (env TPX_CONNECTION_DOWNLINK_AS_KEY; never the bridge's TPX_AS_KEY)",
    )
    .option('--downlink-port <n>', 'default FPort of downlinks, 1..223')
    .option('--reconnect-strategy <s>', 'CALM, NORMAL or AGGRESSIVE')
    .option('--dry-run', 'print the exact request (secrets masked) and send nothing');
}

export function register(program: Command, app: App): void {
  const cmd = program
    .command('connection')
    .description(
      'manage IoT Flow ThingWorx connections on ThingPark (list and get show every connector; create, update, apply and delete touch only actility-thingworx-iot ones)',
    );
  apiOptions(
    cmd.command('list').description('list connections (id, name, connector, state, host, template, pipes)'),
  ).action(app.action<ApiOptions>(async (ctx, opts) => runConnectionList(ctx, opts)));
  apiOptions(cmd.command('get <id>').description('show one connection (secrets masked)')).action(
    app.action<ApiOptions>(async (ctx, opts, [id]) => runConnectionGet(ctx, id!, opts)),
  );
  fieldOptions(
    apiOptions(
      cmd
        .command('create')
        .description('create an actility-thingworx-iot connection (refuses a name that exists: see apply)'),
    ),
    true,
  )
    .option('--allow-duplicate', 'create it even when a connection of that name exists')
    .action(
      app.action<ConnectionWriteOptions & { allowDuplicate?: boolean }>(async (ctx, opts) =>
        runConnectionCreate(ctx, opts),
      ),
    );
  fieldOptions(
    apiOptions(
      cmd
        .command('apply')
        .description(
          'create or update a connection by name, from flags or -f file: created, updated (only what differs) or unchanged',
        ),
    ),
    false,
    'the connection to create or update, found by name (or "name" in the file)',
  )
    .option('-f, --file <path>', 'the connection as JSON: {"name": …, "active": …, "configuration": {…}}; flags win')
    .option('--connector <kind>', 'thingworx (default) or amqp: IoT Flow publishes to a tpx fleet')
    .option('--broker-url <url>', 'amqp: broker amqps://user:pass@host:5671 (env TPX_CONNECTION_BROKER_URL)')
    .option('--exchange <name>', "amqp: exchange (default the fleet's <prefix>.uplinks)")
    .option('--fleet-prefix <prefix>', 'amqp: the fleet whose exchange to feed (default tpx)')
    .option('--routing-key-pattern <p>', 'amqp: routing key of an uplink (default {DevEUI})')
    .option('--downlink-topic-pattern <p>', 'amqp: routing key of downlinks (unset: none)')
    .addHelpText(
      'after',
      `
Re-runnable (CI): exit 0 whether the connection was created, updated or unchanged; --json prints
{"action":"created|updated|unchanged","id":…,"connection":…,"diff":[…]}. --dry-run shows the plan and sends nothing.
Fields not given are left as they are. Secrets (application key, downlink AS key) come from the flags, the file,
TPX_THINGWORX_APP_KEY / TPX_CONNECTION_DOWNLINK_AS_KEY or the profile; ThingPark masks them, so they are re-sent
(and shown with their source) only with another change.
--connector amqp makes IoT Flow publish each uplink straight to a tpx fleet's exchange
(routing key {DevEUI}), so the fleet needs no HTTP ingest.`,
    )
    .action(app.action<ConnectionApplyOptions>(async (ctx, opts) => runConnectionApply(ctx, opts)));
  fieldOptions(
    apiOptions(
      cmd
        .command('update <id>')
        .description('change fields of a connection (shows a diff and the secrets re-sent, asks unless --yes)'),
    ),
    false,
  ).action(app.action<ConnectionWriteOptions>(async (ctx, opts, [id]) => runConnectionUpdate(ctx, id!, opts)));
  apiOptions(
    cmd.command('delete <id>').description('delete a ThingWorx or fleet AMQP connection (asks unless --yes)'),
  ).action(app.action<ApiOptions>(async (ctx, opts, [id]) => runConnectionDelete(ctx, id!, opts)));
}
