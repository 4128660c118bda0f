/**
 * Subsystems/WSCommunicationsSubsystem: configuration tables (Bind Protection Policy) and endpoint sessions
 * (research/thingworx-rest.md §6). The table and field names are UNCONFIRMED on a live server (README.md).
 */

import { type InfoTableJson, infoTable, resultTable } from './json-values.js';
import { errors } from './permissions.js';
import type { Params, Platform, Service } from './platform.js';

export const BIND_TABLE = 'BindProtectionSettings';
export const CONNECTION_TABLE = 'ConnectionSettings';

const TABLES: { name: string; description: string; fields: [string, string, string][] }[] = [
  {
    name: BIND_TABLE,
    description: 'Bind Protection Settings',
    fields: [
      ['bindProtectionPolicy', 'STRING', 'Bind Protection Policy: FirstInWins or LastInWins'],
      ['enableVisibilityPermissionCheck', 'BOOLEAN', 'Enable Visibility Permission Check'],
    ],
  },
  {
    name: CONNECTION_TABLE,
    description: 'WebSocket Communication Settings',
    fields: [
      ['idleConnectionTimeout', 'NUMBER', 'Idle Connection Timeout (sec)'],
      ['idlePingRate', 'NUMBER', 'Idle Ping Rate (secs)'],
      ['authWaitTime', 'NUMBER', 'Amount of time to wait for an authentication message (secs)'],
      ['requestTimeout', 'NUMBER', 'Amount of time to wait for a response to a request (secs)'],
    ],
  },
];

function table(name: unknown) {
  const t = TABLES.find((x) => x.name === String(name ?? ''));
  if (!t)
    throw errors.invokeFailed(
      'GetConfigurationTable',
      'WSCommunicationsSubsystem',
      `Invalid configuration table [${String(name)}]`,
      404,
    );
  return t;
}

function values(p: Platform, name: string): Record<string, unknown> {
  const sub = p.store.subsystem;
  if (name === BIND_TABLE)
    return {
      bindProtectionPolicy: sub.bindProtectionPolicy === 'last-in-wins' ? 'LastInWins' : 'FirstInWins',
      enableVisibilityPermissionCheck: sub.enableVisibilityPermissionCheck,
    };
  return {
    idleConnectionTimeout: sub.idleConnectionTimeout,
    idlePingRate: 45,
    authWaitTime: sub.authWaitTime,
    requestTimeout: p.edgeRequestTimeoutMs / 1000,
  };
}

/** "LastInWins", "last-in-wins", "Last in wins", "LAST_IN_WINS" -> 'last-in-wins'. */
export function parsePolicy(v: unknown): 'first-in-wins' | 'last-in-wins' | undefined {
  const k = String(v ?? '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  return k === 'firstinwins' ? 'first-in-wins' : k === 'lastinwins' ? 'last-in-wins' : undefined;
}

function write(p: Platform, name: string, row: Record<string, unknown>, service: string): void {
  const t = table(name);
  const sub = p.store.subsystem;
  for (const [k, v] of Object.entries(row)) {
    if (!t.fields.some(([f]) => f === k))
      throw errors.invokeFailed(service, 'WSCommunicationsSubsystem', `Unknown field [${k}] in ${name}`, 400);
    if (k === 'bindProtectionPolicy') {
      const policy = parsePolicy(v);
      if (!policy)
        throw errors.invokeFailed(
          service,
          'WSCommunicationsSubsystem',
          `Invalid value [${String(v)}] for bindProtectionPolicy`,
          400,
        );
      sub.bindProtectionPolicy = policy;
    } else if (k === 'enableVisibilityPermissionCheck')
      sub.enableVisibilityPermissionCheck = v === true || v === 'true';
    else if (k === 'idleConnectionTimeout' && Number(v) > 0) sub.idleConnectionTimeout = Number(v);
    else if (k === 'authWaitTime' && Number(v) > 0) sub.authWaitTime = Number(v);
    else if (k === 'requestTimeout' && Number(v) > 0) p.edgeRequestTimeoutMs = Number(v) * 1000;
  }
  p.events.emit('configuration', { table: name, values: values(p, name) });
}

function firstRow(v: unknown): Record<string, unknown> {
  const rows = (v as InfoTableJson | undefined)?.rows;
  return Array.isArray(rows) && rows[0] ? rows[0] : {};
}

const SESSION_FILTERS = [
  'lastUsedAfter',
  'lastUsedBefore',
  'startedAfter',
  'startedBefore',
  'hasMultipleConnections',
  'hasBoundThings',
  'authenticationType',
  'appKeyName',
  'userName',
];

function date(v: unknown): number {
  return typeof v === 'number' ? v : Date.parse(String(v));
}

function matching(p: Platform, params: Params) {
  const all = p.sessions?.list() ?? [];
  return all.filter((s) => {
    // A socket that has not authenticated yet is no endpoint session.
    if (!s.user && !s.ghost) return false;
    const f = params;
    if (f.appKeyName && s.key?.name !== f.appKeyName) return false;
    if (f.userName && s.user?.name !== f.userName) return false;
    if (
      f.hasBoundThings !== undefined &&
      f.hasBoundThings !== null &&
      s.bound.size > 0 !== (f.hasBoundThings === true || f.hasBoundThings === 'true')
    )
      return false;
    if (f.authenticationType && f.authenticationType !== 'AUTH_THINGWORX_APPKEY') return false;
    if (f.hasMultipleConnections === true || f.hasMultipleConnections === 'true') return false;
    if (f.lastUsedAfter && !(s.lastUsedDate > date(f.lastUsedAfter))) return false;
    if (f.lastUsedBefore && !(s.lastUsedDate < date(f.lastUsedBefore))) return false;
    if (f.startedAfter && !(s.startDate > date(f.startedAfter))) return false;
    if (f.startedBefore && !(s.startDate < date(f.startedBefore))) return false;
    return true;
  });
}

export const subsystemServices: Record<string, Service> = {
  IsRunning: () => resultTable('BOOLEAN', true),
  GetConfigurationTables: () =>
    infoTable(
      [
        ['name', 'STRING'],
        ['description', 'STRING'],
        ['isMultiRow', 'BOOLEAN'],
      ],
      TABLES.map((t) => ({ name: t.name, description: t.description, isMultiRow: false })),
    ),
  GetConfigurationTable: (p, _c, _e, params) => {
    const t = table(params.tableName);
    return infoTable(
      t.fields.map(([n, b]) => [n, b]),
      [values(p, t.name)],
    );
  },
  GetConfigurationTableDefinition: (_p, _c, _e, params) =>
    infoTable(
      [
        ['name', 'STRING'],
        ['baseType', 'BASETYPENAME'],
        ['description', 'STRING'],
      ],
      table(params.tableName).fields.map(([name, baseType, description]) => ({ name, baseType, description })),
    ),
  SetConfigurationTable: (p, _c, _e, params) => {
    write(p, String(params.tableName ?? ''), firstRow(params.configurationTable), 'SetConfigurationTable');
    return null;
  },
  SetConfigurationTableRows: (p, _c, _e, params) => {
    write(p, String(params.tableName ?? ''), firstRow(params.values), 'SetConfigurationTableRows');
    return null;
  },
  SaveConfigurationTables: () => null,
  Restart: () => null,
  QueryEndpointSessions: (p, _c, _e, params) => {
    const max = Number(params.maxItems) > 0 ? Number(params.maxItems) : 500;
    return infoTable(
      [
        ['endpointId', 'GUID'],
        ['appKeyName', 'STRING'],
        ['authenticationType', 'STRING'],
        ['userContext', 'STRING'],
        ['startDate', 'DATETIME'],
        ['lastUsedDate', 'DATETIME'],
        ['numberConnections', 'INTEGER'],
        ['numberBoundThings', 'INTEGER'],
        // Not in the documented data shape (CommunicationEndpointSession): an emulator extra, so that tpx can name
        // the address of a competing connector. Whether a real platform reports it is UNCONFIRMED.
        ['remoteAddress', 'STRING'],
      ],
      matching(p, params)
        .slice(0, max)
        .map((s) => ({
          endpointId: s.endpoint,
          appKeyName: s.key?.name ?? '',
          authenticationType: 'AUTH_THINGWORX_APPKEY',
          userContext: s.user?.name ?? '',
          startDate: s.startDate,
          lastUsedDate: s.lastUsedDate,
          // A ghost holds binds without a socket. (Whether the real platform reports 0 then is UNCONFIRMED.)
          numberConnections: s.ghost ? 0 : 1,
          numberBoundThings: s.bound.size,
          ...(s.remoteAddress ? { remoteAddress: s.remoteAddress } : {}),
        })),
    );
  },
  GetBoundThingsForEndpoint: (p, _c, _e, params) => {
    const s = (p.sessions?.list() ?? []).find((x) => x.endpoint === String(params.endpointId ?? ''));
    if (!s)
      throw errors.invokeFailed(
        'GetBoundThingsForEndpoint',
        'WSCommunicationsSubsystem',
        `Endpoint [${String(params.endpointId)}] not found`,
        404,
      );
    return infoTable(
      [
        ['name', 'STRING'],
        ['description', 'STRING'],
      ],
      [...s.bound].map((name) => ({ name, description: '' })),
    );
  },
  CloseEndpointSessions: (p, _c, _e, params) => {
    const given = Object.keys(params).filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== '');
    if (given.length === 0)
      throw errors.invokeFailed(
        'CloseEndpointSessions',
        'WSCommunicationsSubsystem',
        'At least one parameter is required',
        400,
      );
    let targets: string[];
    if (given.includes('endpointId')) {
      if (given.length > 1)
        throw errors.invokeFailed(
          'CloseEndpointSessions',
          'WSCommunicationsSubsystem',
          'endpointId must be the only parameter',
          400,
        );
      targets = [String(params.endpointId)];
    } else {
      if (!given.every((k) => SESSION_FILTERS.includes(k) || k === 'maxItems'))
        throw errors.badRequest(`Unknown parameter [${given.find((k) => !SESSION_FILTERS.includes(k))}]`);
      targets = matching(p, params).map((s) => s.endpoint);
    }
    let closed = 0;
    for (const t of targets) if (p.sessions?.close(t)) closed++;
    return resultTable('INTEGER', closed);
  },
};
