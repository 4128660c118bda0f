/**
 * The emulator's connections, as the IoT Flow / DX Core API behaves (research/thingpark.md §3): string ids,
 * whole-object replacement on PUT, schema-checked configurations, secrets masked `*****` on read, state OPENING
 * then OPENED, a quota of connections. Optionally persisted to a JSON state file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { TpxError } from '../../errors.js';
import { CONNECTORS, SECRET_KEYS, schemaProblem, withDefaults } from './connectors.js';

export interface StoredConnection {
  id: string;
  connectorId: string;
  name: string;
  active: boolean;
  alarms: unknown[];
  configuration: Record<string, unknown>;
  startupTime: string;
  /** When the connection reaches OPENED (ms since epoch). */
  openAt: number;
}

export interface RecordedDownlink {
  version: 1 | 2;
  devEui: string;
  fPort: number;
  payloadHex?: string;
  confirmed: boolean;
  flushQueue: boolean;
  validityTime?: string;
  correlationId?: string;
  fCntDn?: number;
  asId: string;
  time: string;
  receivedAt: string;
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
  asId: string;
  asKey: string;
}

interface StateFile {
  credentials: Credentials;
  nextId: number;
  connections: StoredConnection[];
  downlinks: RecordedDownlink[];
}

/** An API error the router turns into `{code, message}` with an HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const TOP_LEVEL = new Set([
  'connectorId',
  'name',
  'active',
  'alarms',
  'configuration',
  'id',
  'state',
  'startupTime',
  'contentType',
]);

export function randomCredentials(): Credentials {
  return {
    clientId: `sub-100001234/tpx-emulator`,
    clientSecret: randomBytes(18).toString('base64url'),
    asId: 'TWA_100001234.1001.AS',
    asKey: randomBytes(16).toString('hex'),
  };
}

export class ConnectionStore {
  readonly connections = new Map<string, StoredConnection>();
  readonly downlinks: RecordedDownlink[] = [];
  credentials: Credentials;
  private nextId = 1101;

  constructor(
    private readonly options: {
      statePath?: string;
      credentials?: Partial<Credentials>;
      maxConnections: number;
      openingDelayMs: number;
      now: () => number;
    },
  ) {
    const saved = options.statePath && existsSync(options.statePath) ? this.load(options.statePath) : undefined;
    this.credentials = { ...randomCredentials(), ...saved?.credentials, ...stripUndefined(options.credentials ?? {}) };
    if (saved) {
      this.nextId = saved.nextId;
      for (const c of saved.connections) this.connections.set(c.id, c);
      this.downlinks.push(...saved.downlinks);
    }
    this.save();
  }

  private load(path: string): StateFile {
    let parsed: Partial<StateFile>;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StateFile>;
      if (!parsed || typeof parsed !== 'object') throw new Error('not a JSON object');
    } catch (err) {
      throw new TpxError(
        'TPX_EMULATOR_STATE',
        `The emulator state file ${path} cannot be read: ${(err as Error).message}.`,
        {
          fix: { id: 'emulator-state', what: 'content' },
          cause: err,
        },
      );
    }
    return {
      credentials: parsed.credentials as Credentials,
      nextId: typeof parsed.nextId === 'number' ? parsed.nextId : 1101,
      connections: Array.isArray(parsed.connections) ? parsed.connections : [],
      downlinks: Array.isArray(parsed.downlinks) ? parsed.downlinks : [],
    };
  }

  save(): void {
    const path = this.options.statePath;
    if (!path) return;
    const state: StateFile = {
      credentials: this.credentials,
      nextId: this.nextId,
      connections: [...this.connections.values()],
      downlinks: this.downlinks,
    };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  }

  state(c: StoredConnection): string {
    if (!c.active) return 'DEACTIVATED';
    if (this.options.now() < c.openAt) return 'OPENING';
    // A connection given the masked placeholder instead of the real app key cannot authenticate.
    if (Object.entries(c.configuration).some(([k, v]) => SECRET_KEYS.has(k) && v === '*****'))
      return 'AUTHENTICATION_FAILED';
    return 'OPENED';
  }

  /** The connection as GET returns it: secrets masked. */
  view(c: StoredConnection): Record<string, unknown> {
    const configuration: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.configuration)) configuration[k] = SECRET_KEYS.has(k) ? '*****' : v;
    return {
      id: c.id,
      connectorId: c.connectorId,
      name: c.name,
      active: c.active,
      alarms: c.alarms,
      startupTime: c.startupTime,
      state: this.state(c),
      configuration,
    };
  }

  get(id: string): StoredConnection {
    const c = this.connections.get(id);
    if (!c) throw new ApiError(404, 24, `Connection ${id} does not exist`);
    return c;
  }

  private validate(body: unknown): {
    connectorId: string;
    name: string;
    active: boolean;
    alarms: unknown[];
    configuration: Record<string, unknown>;
  } {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new ApiError(400, 10, 'Request body must be a JSON object');
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!TOP_LEVEL.has(k)) throw new ApiError(400, 10, `Unknown property ${k}`);
    if (typeof b.connectorId !== 'string') throw new ApiError(400, 10, 'connectorId is required');
    const connector = CONNECTORS.find((c) => c.id === b.connectorId);
    if (!connector) throw new ApiError(400, 10, `Unknown connector ${b.connectorId}`);
    if (typeof b.name !== 'string' || b.name.trim() === '') throw new ApiError(400, 10, 'name is required');
    if (b.active !== undefined && typeof b.active !== 'boolean')
      throw new ApiError(400, 10, 'active must be a boolean');
    if (b.alarms !== undefined && !Array.isArray(b.alarms)) throw new ApiError(400, 10, 'alarms must be an array');
    if (b.configuration === undefined) throw new ApiError(400, 10, 'configuration is required');
    const schema = connector.connection.configurationSchema;
    const problem = schemaProblem(schema, b.configuration, 'configuration');
    if (problem) throw new ApiError(400, 10, `Invalid configuration: ${problem}`);
    return {
      connectorId: b.connectorId,
      name: b.name,
      active: b.active ?? true,
      alarms: (b.alarms as unknown[] | undefined) ?? [],
      configuration: withDefaults(schema, b.configuration as Record<string, unknown>),
    };
  }

  create(body: unknown): StoredConnection {
    const v = this.validate(body);
    if (this.connections.size >= this.options.maxConnections) {
      throw new ApiError(
        409,
        40,
        `You have reached the maximum authorized amount of connections (${this.options.maxConnections})`,
      );
    }
    const now = this.options.now();
    const c: StoredConnection = {
      id: String(this.nextId++),
      ...v,
      startupTime: new Date(now).toISOString(),
      openAt: now + this.options.openingDelayMs,
    };
    this.connections.set(c.id, c);
    this.save();
    return c;
  }

  replace(id: string, body: unknown): StoredConnection {
    const old = this.get(id);
    const v = this.validate(body);
    if (v.connectorId !== old.connectorId) throw new ApiError(400, 10, 'connectorId cannot be changed');
    const now = this.options.now();
    const c: StoredConnection = {
      ...old,
      ...v,
      startupTime: new Date(now).toISOString(),
      openAt: now + this.options.openingDelayMs,
    };
    this.connections.set(id, c);
    this.save();
    return c;
  }

  delete(id: string): void {
    this.get(id);
    this.connections.delete(id);
    this.save();
  }

  recordDownlink(d: RecordedDownlink): void {
    this.downlinks.push(d);
    this.save();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
