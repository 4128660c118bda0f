/**
 * The emulator's state file (JSON): users, organizations, application keys, permissions, templates, Things,
 * subsystem configuration and transport knobs. Every part is optional; the system entities (Administrator,
 * GenericThing, RemoteThing, RemoteThingWithFileTransfer, default permissions) are always added.
 * The format is documented in README.md next to this file.
 */
import { readFileSync } from 'node:fs';
import { TpxError } from '../../errors.js';

export type BindPolicy = 'first-in-wins' | 'last-in-wins';
export type TlsMode = 'default' | 'tls1.1-only' | 'plain-http';

export interface UserState {
  name: string;
  password?: string;
  description?: string;
  /** Group names. Every user is implicitly in "Users"; "Administrators" makes an administrator. */
  groups?: string[];
  enabled?: boolean;
}

export interface OrganizationState {
  name: string;
  /** User or group names ("Users" = every user). */
  members: string[];
}

export interface AppKeyState {
  name: string;
  /** The secret sent in the appKey header / AUTH claim. */
  keyId: string;
  /** "User Name Reference". */
  user: string;
  /** ISO date-time; null or absent = never expires. */
  expiresAt?: string | null;
  description?: string;
}

export interface PrincipalRef {
  principal: string;
  principalType: 'User' | 'Group' | 'Organization' | 'OrganizationalUnit';
}

export interface DesignTimeRule extends PrincipalRef {
  type: 'Create' | 'Read' | 'Update' | 'Delete';
  allow: boolean;
}

export interface RunTimeRule extends PrincipalRef {
  /** Service/property/event name, or "*" for all. */
  resource: string;
  type: 'ServiceInvoke' | 'PropertyRead' | 'PropertyWrite' | 'EventInvoke' | 'EventSubscribe';
  allow: boolean;
}

export interface PermissionsState {
  /** Visibility: organization (or unit) names. */
  visibility?: string[];
  designTime?: DesignTimeRule[];
  runTime?: RunTimeRule[];
}

export interface PropertyDefinitionState {
  name: string;
  baseType: string;
  description?: string;
  category?: string;
  isLogged?: boolean;
  isPersistent?: boolean;
  isReadOnly?: boolean;
  isRemote?: boolean;
  remotePropertyName?: string;
  pushType?: string;
  pushThreshold?: number;
  dataChangeType?: string;
  dataChangeThreshold?: number;
  defaultValue?: unknown;
  dataShape?: string;
  timeout?: number;
}

export interface TemplateState {
  name: string;
  /** Base template name. */
  base: string;
  description?: string;
  owner?: string;
  properties?: PropertyDefinitionState[];
}

export interface StoredValueState {
  value: unknown;
  /** Epoch ms. */
  time?: number;
  quality?: string;
}

export interface ThingState {
  name: string;
  template: string;
  description?: string;
  owner?: string;
  enabled?: boolean;
  /** Thing-level property definitions added with AddPropertyDefinition on the Thing. */
  properties?: PropertyDefinitionState[];
  values?: Record<string, StoredValueState>;
  /** Logged values, oldest first. */
  history?: Record<string, StoredValueState[]>;
  /** Epoch ms. */
  lastConnection?: number;
}

export interface SubsystemState {
  bindProtectionPolicy?: BindPolicy;
  enableVisibilityPermissionCheck?: boolean;
  /** Idle connection timeout, seconds (60). */
  idleConnectionTimeout?: number;
  /** AUTH wait, seconds (15). */
  authWaitTime?: number;
  /** Lifetime, hours, of a key created without an expiry date (24). */
  applicationKeyLifetimeHours?: number;
  /** Bind names with no Thing: create a RemoteThing instead of rejecting the BIND (false). */
  autoCreateThingsOnBind?: boolean;
}

export interface GhostSessionState {
  /** Application key name the ghost session authenticated with. */
  appKey?: string;
  /** Things the ghost session keeps bound. */
  things: string[];
  /** ISO date-times shown by QueryEndpointSessions. */
  startDate?: string;
  lastUsedDate?: string;
}

export interface EmulatorState {
  version?: 1;
  description?: string;
  users?: UserState[];
  organizations?: OrganizationState[];
  appKeys?: AppKeyState[];
  /** Name of the key `emulator.appKey` returns (default: the first key of an administrator). */
  defaultAppKey?: string;
  permissions?: {
    /** Keyed by collection name: Things, ThingTemplates, Users, ApplicationKeys, ... */
    collections?: Record<string, PermissionsState>;
    /** Keyed by "<Collection>/<Name>": Resources/EntityServices, Things/Dev1, Subsystems/WSCommunicationsSubsystem. */
    entities?: Record<string, PermissionsState>;
  };
  templates?: TemplateState[];
  things?: ThingState[];
  subsystem?: SubsystemState;
  transport?: { tls?: TlsMode };
  ghostSessions?: GhostSessionState[];
}

export const SYSTEM_TEMPLATES: TemplateState[] = [
  {
    name: 'GenericThing',
    base: '',
    description: 'Base template of every Thing',
    owner: 'System',
    properties: [
      { name: 'name', baseType: 'STRING', isReadOnly: true },
      { name: 'description', baseType: 'STRING', isReadOnly: true },
      { name: 'thingTemplate', baseType: 'THINGTEMPLATENAME', isReadOnly: true },
      { name: 'tags', baseType: 'TAGS', isReadOnly: true },
    ],
  },
  {
    name: 'RemoteThing',
    base: 'GenericThing',
    description: 'Remote Thing (shapes Connectable, Reportable)',
    owner: 'System',
    properties: [
      { name: 'isConnected', baseType: 'BOOLEAN', isReadOnly: true, defaultValue: false },
      { name: 'lastConnection', baseType: 'DATETIME', isReadOnly: true },
      { name: 'isReporting', baseType: 'BOOLEAN', isReadOnly: true, defaultValue: false },
      { name: 'reportingLastChange', baseType: 'DATETIME', isReadOnly: true },
      { name: 'reportingLastEvaluation', baseType: 'DATETIME', isReadOnly: true },
    ],
  },
  {
    name: 'RemoteThingWithFileTransfer',
    base: 'RemoteThing',
    description: 'Remote Thing with file transfer',
    owner: 'System',
    properties: [],
  },
];

export const SYSTEM_ORGANIZATIONS: OrganizationState[] = [
  { name: 'Everyone', members: ['Users'] },
  { name: 'Composer', members: ['Users'] },
];

/** Default entity permissions (a state file's entry for the same key replaces the default). */
export const DEFAULT_ENTITY_PERMISSIONS: Record<string, PermissionsState> = {
  'Resources/CurrentSessionInfo': {
    visibility: ['Everyone'],
    runTime: [{ principal: 'Users', principalType: 'Group', resource: '*', type: 'ServiceInvoke', allow: true }],
  },
};

const TOP_LEVEL_KEYS: readonly string[] = [
  '$schema',
  'version',
  'description',
  'users',
  'organizations',
  'appKeys',
  'defaultAppKey',
  'permissions',
  'templates',
  'things',
  'subsystem',
  'transport',
  'ghostSessions',
];
const BIND_POLICIES: readonly string[] = ['first-in-wins', 'last-in-wins'];
const TLS_MODES: readonly string[] = ['default', 'tls1.1-only', 'plain-http'];

function fail(what: string, file?: string): never {
  throw new TpxError('TPX_EMULATOR_STATE', `Invalid emulator state${file ? ` in ${file}` : ''}: ${what}.`, {
    fix: 'Fix the state file (format: src/emulators/thingworx/README.md).',
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape of a state document (the parts the emulator relies on) and returns it typed. */
export function validateState(doc: unknown, file?: string): EmulatorState {
  if (!isObject(doc)) fail('the document is not a JSON object', file);
  for (const k of Object.keys(doc)) if (!TOP_LEVEL_KEYS.includes(k)) fail(`unknown key "${k}"`, file);
  if (doc.version !== undefined && doc.version !== 1) fail('"version" must be 1', file);
  const arrays = ['users', 'organizations', 'appKeys', 'templates', 'things', 'ghostSessions'] as const;
  for (const k of arrays) if (doc[k] !== undefined && !Array.isArray(doc[k])) fail(`"${k}" must be an array`, file);
  const named = (k: string, list: unknown, extra: string[]) => {
    for (const [i, item] of ((list as unknown[] | undefined) ?? []).entries()) {
      if (!isObject(item) || typeof item.name !== 'string' || item.name === '') fail(`${k}[${i}] needs a "name"`, file);
      for (const f of extra)
        if (typeof item[f] !== 'string') fail(`${k}[${i}] (${String(item.name)}) needs a string "${f}"`, file);
    }
  };
  named('users', doc.users, []);
  named('organizations', doc.organizations, []);
  named('appKeys', doc.appKeys, ['keyId', 'user']);
  named('templates', doc.templates, ['base']);
  named('things', doc.things, ['template']);
  for (const [i, k] of ((doc.appKeys as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (k.expiresAt !== undefined && k.expiresAt !== null && Number.isNaN(Date.parse(String(k.expiresAt))))
      fail(`appKeys[${i}].expiresAt is not a date`, file);
  }
  for (const [i, g] of ((doc.ghostSessions as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (!isObject(g) || !Array.isArray(g.things)) fail(`ghostSessions[${i}] needs a "things" array`, file);
  }
  const sub = doc.subsystem;
  if (sub !== undefined) {
    if (!isObject(sub)) fail('"subsystem" must be an object', file);
    if (sub.bindProtectionPolicy !== undefined && !BIND_POLICIES.includes(String(sub.bindProtectionPolicy)))
      fail('subsystem.bindProtectionPolicy must be "first-in-wins" or "last-in-wins"', file);
  }
  const tr = doc.transport;
  if (tr !== undefined) {
    if (!isObject(tr)) fail('"transport" must be an object', file);
    if (tr.tls !== undefined && !TLS_MODES.includes(String(tr.tls)))
      fail('transport.tls must be "default", "tls1.1-only" or "plain-http"', file);
  }
  if (doc.permissions !== undefined && !isObject(doc.permissions)) fail('"permissions" must be an object', file);
  return doc as EmulatorState;
}

/** Reads and validates a state file. */
export function loadStateFile(file: string): EmulatorState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TpxError('TPX_EMULATOR_STATE', `Cannot read the emulator state file ${file}.`, {
      fix: { id: 'emulator-state', what: 'path' },
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TpxError('TPX_EMULATOR_STATE', `The emulator state file ${file} is not valid JSON.`, {
      fix: 'Fix the JSON syntax (format: src/emulators/thingworx/README.md).',
      cause: err,
    });
  }
  return validateState(doc, file);
}
