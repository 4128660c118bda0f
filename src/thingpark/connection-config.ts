/**
 * The ThingWorx connection (`actility-thingworx-iot`) as tpx builds it: the fields of research/thingpark.md §3.2,
 * §3.3 and §6, each checked locally (the CLI names the flag of each problem); the create body; the update merge that keeps
 * every untouched field and re-sends the secrets the API masks on read; and the diff shown before an update.
 */
import { UsageError } from '../errors.js';
import { DEFAULT_TEMPLATE_NAME } from '../thingworx/template-name.js';
import { isHexDigits } from '../util/hex.js';
import { AMQP_CONNECTOR, exchangeProblem, routingKeyPatternProblem } from './amqp-connection.js';
import type { Connection, ConnectionBody } from './api.js';

export const THINGWORX_CONNECTOR_ID = 'actility-thingworx-iot';
/** Configuration keys the API masks as `*****` on read; they must be re-sent on every update. */
export const SECRET_CONFIG_KEYS = ['applicationKey', 'downlinkAsKey'] as const;
export const MASK = '*****';

type Kind = 'string' | 'int' | 'bool';
export interface FieldSpec {
  /** commander option name (camelCase): the CLI's flag is its kebab-case form. */
  opt: string;
  /** Key in the body: top level (name, active) or in configuration. */
  key: string;
  top?: boolean;
  kind: Kind;
  check?: (v: string) => string | undefined;
  min?: number;
  max?: number;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function checkHostName(v: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(v)) return 'must be host:port without a scheme (e.g. twx.example.com:8443, not https://…)';
  const m = /^(.+?)(?::(\d{1,5}))?$/.exec(v);
  const host = m?.[1] ?? '';
  if (!m || !(HOST.test(host) || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)))
    return 'must be host:port (e.g. twx.example.com:8443)';
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return 'has a port outside 1..65535';
  return undefined;
}

export const FIELDS: readonly FieldSpec[] = [
  {
    opt: 'name',
    key: 'name',
    top: true,
    kind: 'string',
    check: (v) =>
      v.trim() === '' ? 'must not be empty' : v.length > 128 ? 'must be at most 128 characters' : undefined,
  },
  {
    opt: 'description',
    key: 'description',
    kind: 'string',
    check: (v) => (v.length > 1024 ? 'must be at most 1024 characters' : undefined),
  },
  { opt: 'hostName', key: 'hostName', kind: 'string', check: checkHostName },
  {
    opt: 'appKey',
    key: 'applicationKey',
    kind: 'string',
    check: (v) =>
      v === MASK
        ? 'is the masked placeholder ThingPark shows, not the key: give the real application key'
        : v.length < 8
          ? 'is too short to be a ThingWorx application key'
          : /\s/.test(v)
            ? 'must not contain spaces'
            : undefined,
  },
  {
    opt: 'template',
    key: 'thingTemplateName',
    kind: 'string',
    check: (v) =>
      /^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/.test(v)
        ? undefined
        : 'must be a ThingWorx entity name (letters, digits, "_", "-", "."; starting with a letter)',
  },
  { opt: 'pipeCount', key: 'pipeCount', kind: 'int', min: 1, max: 255 },
  { opt: 'active', key: 'active', top: true, kind: 'bool' },
  { opt: 'createDevices', key: 'createDevices', kind: 'bool' },
  { opt: 'sendMetadata', key: 'sendMetadata', kind: 'bool' },
  { opt: 'sendRawDecodedFormat', key: 'sendRawDecodedFormat', kind: 'bool' },
  {
    opt: 'uplinkTimeValidity',
    key: 'uplinkTimeValidity',
    kind: 'string',
    check: (v) => (/^\d+(s|m|h|d)$/.test(v) ? undefined : 'must be a duration like 30s, 5m, 24h or 2d'),
  },
  { opt: 'downlinkEnabled', key: 'downlinkEnabled', kind: 'bool' },
  {
    opt: 'downlinkAsId',
    key: 'downlinkAsId',
    kind: 'string',
    check: (v) => (/^[0-9A-Za-z._-]+$/.test(v) ? undefined : 'must be an AS_ID such as TWA_100001234.1001.AS'),
  },
  {
    opt: 'downlinkAsKey',
    key: 'downlinkAsKey',
    kind: 'string',
    check: (v) =>
      v === MASK
        ? 'is the masked placeholder ThingPark shows, not the key: give the real AS key'
        : isHexDigits(v, 32)
          ? undefined
          : 'must be 32 hexadecimal digits',
  },
  { opt: 'downlinkPort', key: 'downlinkPort', kind: 'int', min: 1, max: 223 },
  {
    opt: 'reconnectStrategy',
    key: 'reconnectStrategy',
    kind: 'string',
    check: (v) => (['CALM', 'NORMAL', 'AGGRESSIVE'].includes(v) ? undefined : 'must be CALM, NORMAL or AGGRESSIVE'),
  },
];

export interface FieldProblem {
  /** The option (FieldSpec.opt) that gives the field, when one does; the CLI names its flag. */
  field?: string;
  /** Key in the body (or the schema path of a field no option gives). */
  key: string;
  message: string;
  /** The setting (config/keys.ts) that can also give the value, for a missing required field. */
  setting?: string;
}

/** The settings that give a connection's secrets when no flag does (never the bridge's own tunnel key). */
export const SECRET_SETTINGS = { applicationKey: 'thingworxAppKey', downlinkAsKey: 'connectionDownlinkAsKey' } as const;

export class ConnectionFieldsError extends UsageError {
  constructor(readonly problems: FieldProblem[]) {
    super(
      problems.map((p) => `${p.field ?? p.key} ${p.message}`).join('; ') + '.',
      problems.length === 1
        ? `Correct ${problems[0]!.field ?? problems[0]!.key} and run the command again.`
        : 'Correct the fields named above and run the command again.',
      { fields: problems.map((p) => ({ ...(p.field ? { field: p.field } : {}), key: p.key, message: p.message })) },
    );
  }
}

/** Checks one value given as text (for prompts and flags); returns the problem or undefined. */
export function checkField(opt: string, raw: string, fields: readonly FieldSpec[] = FIELDS): string | undefined {
  const f = fields.find((x) => x.opt === opt);
  if (!f) return undefined;
  return parseOne(f, raw).problem;
}

function parseOne(f: FieldSpec, raw: unknown): { value?: unknown; problem?: string } {
  const text = typeof raw === 'string' ? raw.trim() : String(raw);
  if (f.kind === 'bool') {
    if (raw === true || raw === false) return { value: raw };
    if (/^(true|yes|1|on)$/i.test(text)) return { value: true };
    if (/^(false|no|0|off)$/i.test(text)) return { value: false };
    return { problem: `must be true or false (got "${text}")` };
  }
  if (f.kind === 'int') {
    const n = Number(text);
    if (!/^-?\d+$/.test(text) || n < (f.min ?? -Infinity) || n > (f.max ?? Infinity)) {
      return { problem: `must be a whole number from ${f.min} to ${f.max} (got "${text}")` };
    }
    return { value: n };
  }
  const value = f.opt === 'description' || f.opt === 'name' ? String(raw) : text;
  const problem = f.check?.(value);
  return problem ? { problem } : { value };
}

export interface ParsedFields {
  top: { name?: string; active?: boolean };
  configuration: Record<string, unknown>;
}

/** Parses the given options (strings from flags, or values); collects every problem into one error. */
export function parseFields(opts: Record<string, unknown>, fields: readonly FieldSpec[] = FIELDS): ParsedFields {
  const out: ParsedFields = { top: {}, configuration: {} };
  const problems: FieldProblem[] = [];
  for (const f of fields) {
    const raw = opts[f.opt];
    if (raw === undefined || raw === null) continue;
    const r = parseOne(f, raw);
    if (r.problem) problems.push({ field: f.opt, key: f.key, message: r.problem });
    else if (f.top) (out.top as Record<string, unknown>)[f.key] = r.value;
    else out.configuration[f.key] = r.value;
  }
  if (problems.length) throw new ConnectionFieldsError(problems);
  return out;
}

/** The POST body of a new ThingWorx connection (template and pipeCount defaulted). */
export function buildCreateBody(opts: Record<string, unknown>): ConnectionBody {
  const problems: FieldProblem[] = [];
  for (const [opt, key, setting] of [
    ['name', 'name', undefined],
    ['hostName', 'hostName', undefined],
    ['appKey', 'applicationKey', SECRET_SETTINGS.applicationKey],
  ] as const) {
    if (opts[opt] === undefined || opts[opt] === '')
      problems.push({ field: opt, key, message: 'is required', ...(setting ? { setting } : {}) });
  }
  let parsed: ParsedFields | undefined;
  try {
    parsed = parseFields(opts);
  } catch (err) {
    if (!(err instanceof ConnectionFieldsError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !parsed) throw new ConnectionFieldsError(problems);
  return {
    connectorId: THINGWORX_CONNECTOR_ID,
    name: parsed.top.name as string,
    active: parsed.top.active ?? true,
    configuration: { thingTemplateName: DEFAULT_TEMPLATE_NAME, pipeCount: 1, ...parsed.configuration },
  };
}

export interface DiffEntry {
  field: string;
  from: unknown;
  to: unknown;
  secret: boolean;
}

/** A secret the update sends again because ThingPark masks it (tpx cannot tell whether it changes). */
export interface ResentSecret {
  field: string;
  /** Where the value came from (a flag, an environment variable, a profile), as the caller names it. */
  source: string;
}

export type SecretValue = string | { value: string; source: string };

/**
 * The PUT body of an update: the connection as read, with the changed fields, and with every masked secret
 * replaced by the real value from `secrets`. Throws when a masked secret has no real value to re-send.
 */
export function mergeForUpdate(
  existing: Connection,
  changes: ParsedFields,
  secrets: Partial<Record<string, SecretValue | undefined>>,
  /** The configuration keys ThingPark masks for this connector. */
  secretKeys: readonly string[] = SECRET_CONFIG_KEYS,
): { body: ConnectionBody; diff: DiffEntry[]; missingSecrets: string[]; resent: ResentSecret[] } {
  const configuration: Record<string, unknown> = { ...existing.configuration, ...changes.configuration };
  const missingSecrets: string[] = [];
  const resent: ResentSecret[] = [];
  for (const k of secretKeys) {
    if (changes.configuration[k] !== undefined) continue;
    if (configuration[k] === undefined) continue;
    const given = secrets[k];
    const value = typeof given === 'string' ? given : given?.value;
    if (value) {
      configuration[k] = value;
      resent.push({ field: `configuration.${k}`, source: typeof given === 'string' ? 'given' : given!.source });
    } else if (configuration[k] === MASK) missingSecrets.push(k);
  }
  const body: ConnectionBody = {
    connectorId: existing.connectorId,
    name: changes.top.name ?? existing.name,
    active: changes.top.active ?? existing.active ?? true,
    configuration,
  };
  if (existing.alarms !== undefined) body.alarms = existing.alarms;
  const diff: DiffEntry[] = [];
  if (body.name !== existing.name) diff.push({ field: 'name', from: existing.name, to: body.name, secret: false });
  if (changes.top.active !== undefined && changes.top.active !== existing.active) {
    diff.push({ field: 'active', from: existing.active, to: changes.top.active, secret: false });
  }
  for (const [k, v] of Object.entries(changes.configuration)) {
    const secret = secretKeys.includes(k);
    if (!secret && JSON.stringify(existing.configuration[k]) === JSON.stringify(v)) continue;
    diff.push({ field: `configuration.${k}`, from: existing.configuration[k], to: secret ? MASK : v, secret });
  }
  return { body, diff, missingSecrets, resent };
}

/** A copy with every secret of the configuration masked (for printing). */
export function maskConnection<T extends { configuration?: Record<string, unknown> }>(c: T): T {
  if (!c.configuration) return c;
  const configuration = { ...c.configuration };
  for (const k of [...SECRET_CONFIG_KEYS, ...AMQP_CONNECTOR.secretKeys]) {
    if (configuration[k] !== undefined) configuration[k] = MASK;
  }
  return { ...c, configuration };
}

/** The fields every connector shares (name, active, the common parameters). */
const COMMON_FIELDS = FIELDS.filter((f) => !['hostName', 'appKey', 'template', 'pipeCount'].includes(f.opt));

/**
 * The fields of an `actility-amqp-0.9.1-iot` connection (amqp-connection.ts has the names and what is unconfirmed).
 * The broker's host, protocol, user and password come from one URL (`--broker-url`), expanded by the CLI.
 */
export const AMQP_FIELDS: readonly FieldSpec[] = [
  ...COMMON_FIELDS,
  {
    opt: 'brokerHost',
    key: AMQP_CONNECTOR.keys.hostName,
    kind: 'string',
    check: checkHostName,
  },
  {
    opt: 'brokerProtocol',
    key: AMQP_CONNECTOR.keys.protocol,
    kind: 'string',
    check: (v) => (['TCP', 'SSL'].includes(v) ? undefined : 'must be TCP or SSL (amqp:// or amqps://)'),
  },
  { opt: 'brokerUser', key: AMQP_CONNECTOR.keys.username, kind: 'string' },
  {
    opt: 'brokerPassword',
    key: AMQP_CONNECTOR.keys.password,
    kind: 'string',
    check: (v) => (v === MASK ? 'is the masked placeholder ThingPark shows, not the password' : undefined),
  },
  { opt: 'exchange', key: AMQP_CONNECTOR.keys.exchange, kind: 'string', check: exchangeProblem },
  {
    opt: 'routingKeyPattern',
    key: AMQP_CONNECTOR.keys.uplinkPattern,
    kind: 'string',
    check: routingKeyPatternProblem,
  },
  {
    opt: 'downlinkTopicPattern',
    key: AMQP_CONNECTOR.keys.downlinkPattern,
    kind: 'string',
    check: (v) => (v.trim() === '' ? 'must not be empty' : undefined),
  },
];

/** The POST body of a new AMQP connection: the fleet's defaults, then the fields given. */
export function buildAmqpCreateBody(opts: Record<string, unknown>): ConnectionBody {
  const problems: FieldProblem[] = [];
  for (const [opt, key] of [
    ['name', 'name'],
    ['brokerHost', AMQP_CONNECTOR.keys.hostName],
    ['exchange', AMQP_CONNECTOR.keys.exchange],
  ] as const) {
    if (opts[opt] === undefined || opts[opt] === '')
      problems.push({
        field: opt,
        key,
        message: 'is required',
        ...(opt === 'brokerHost' ? { setting: 'connectionBrokerUrl' } : {}),
      });
  }
  let parsed: ParsedFields | undefined;
  try {
    parsed = parseFields(opts, AMQP_FIELDS);
  } catch (err) {
    if (!(err instanceof ConnectionFieldsError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !parsed) throw new ConnectionFieldsError(problems);
  return {
    connectorId: AMQP_CONNECTOR.id,
    name: parsed.top.name as string,
    active: parsed.top.active ?? true,
    configuration: {
      [AMQP_CONNECTOR.keys.uplinkPattern]: AMQP_CONNECTOR.routingKeyPattern,
      ...AMQP_CONNECTOR.defaults,
      ...parsed.configuration,
    },
  };
}
