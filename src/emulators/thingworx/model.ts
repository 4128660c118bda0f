/**
 * The emulator's in-memory platform model: users, organizations, keys, permissions, templates and Things.
 * Per-Thing state is kept small (maps created lazily) so that 10,000 bound Things stay cheap.
 */
import { randomUUID } from 'node:crypto';
import { TpxError } from '../../errors.js';
import { type PropertyDef, propertyDef } from './properties.js';
import {
  type AppKeyState,
  type BindPolicy,
  DEFAULT_ENTITY_PERMISSIONS,
  type EmulatorState,
  type GhostSessionState,
  type PermissionsState,
  type PropertyDefinitionState,
  type StoredValueState,
  type SubsystemState,
  SYSTEM_ORGANIZATIONS,
  SYSTEM_TEMPLATES,
  type TlsMode,
} from './state.js';

export { isBaseType, type PropertyDef, propertyDef, propertyDefState } from './properties.js';

export interface Template {
  name: string;
  base: string;
  description: string;
  owner: string;
  system: boolean;
  properties: Map<string, PropertyDef>;
}

export interface StoredValue {
  v: unknown;
  t: number;
  q: string;
}

/** Whoever holds a Thing's binding (a live AlwaysOn session or a ghost). */
export interface Binder {
  readonly sessionId: number;
}

export interface Thing {
  name: string;
  template: string;
  description: string;
  owner: string;
  enabled: boolean;
  props: Map<string, PropertyDef> | null;
  values: Map<string, StoredValue> | null;
  history: Map<string, StoredValue[]> | null;
  boundTo: Binder | null;
  lastConnection: number;
}

export interface User {
  name: string;
  password: string | undefined;
  description: string;
  groups: Set<string>;
  enabled: boolean;
}

export interface AppKey {
  name: string;
  keyId: string;
  user: string;
  expiresAt: number | null;
  description: string;
}

export interface Permissions {
  visibility: string[];
  designTime: NonNullable<PermissionsState['designTime']>;
  runTime: NonNullable<PermissionsState['runTime']>;
}

export interface SubsystemConfig {
  bindProtectionPolicy: BindPolicy;
  enableVisibilityPermissionCheck: boolean;
  idleConnectionTimeout: number;
  authWaitTime: number;
  applicationKeyLifetimeHours: number;
  autoCreateThingsOnBind: boolean;
}

/** Values kept per logged property (the oldest are dropped beyond). */
export const HISTORY_LIMIT = 1000;

function invalid(what: string): never {
  throw new TpxError('TPX_EMULATOR_STATE', `Invalid emulator state: ${what}.`, {
    fix: 'Fix the state file (format: src/emulators/thingworx/README.md).',
  });
}

function permissions(p: PermissionsState | undefined): Permissions {
  return {
    visibility: [...(p?.visibility ?? [])],
    designTime: [...(p?.designTime ?? [])],
    runTime: [...(p?.runTime ?? [])],
  };
}

function storedValue(s: StoredValueState, now: number): StoredValue {
  return { v: s.value, t: s.time ?? now, q: s.quality ?? 'GOOD' };
}

export class Store {
  readonly users = new Map<string, User>();
  readonly organizations = new Map<string, Set<string>>();
  readonly appKeys = new Map<string, AppKey>();
  readonly keysById = new Map<string, AppKey>();
  readonly templates = new Map<string, Template>();
  readonly things = new Map<string, Thing>();
  readonly collectionPermissions = new Map<string, Permissions>();
  readonly entityPermissions = new Map<string, Permissions>();
  readonly subsystem: SubsystemConfig;
  readonly tls: TlsMode;
  readonly ghosts: GhostSessionState[];
  readonly description: string | undefined;
  /** Name of the admin key handed to tests. */
  defaultAppKey: string;
  private effectiveCache = new Map<string, Map<string, PropertyDef>>();
  /** Things sorted by name, kept until a Thing is added or deleted (listing 100K Things in pages reads it). */
  private sortedCache: Thing[] | null = null;

  constructor(state: EmulatorState = {}) {
    const now = Date.now();
    this.description = state.description;
    this.addUser({ name: 'Administrator', groups: ['Administrators'], password: 'admin' });
    for (const u of state.users ?? []) this.addUser(u);
    for (const o of SYSTEM_ORGANIZATIONS) this.organizations.set(o.name, new Set(o.members));
    for (const o of state.organizations ?? []) this.organizations.set(o.name, new Set(o.members));
    for (const k of state.appKeys ?? []) this.addKey(k);
    for (const k of this.appKeys.values())
      if (!this.users.has(k.user)) invalid(`application key ${k.name} refers to the unknown user ${k.user}`);
    if (state.defaultAppKey && !this.appKeys.has(state.defaultAppKey))
      invalid(`defaultAppKey ${state.defaultAppKey} is not one of appKeys`);
    let admin = state.defaultAppKey ? this.appKeys.get(state.defaultAppKey) : undefined;
    admin ??= [...this.appKeys.values()].find((k) => this.isAdminName(k.user) && !this.isExpired(k, now));
    if (!admin) {
      admin = this.addKey({ name: 'tpx-emulator-admin', keyId: randomUUID(), user: 'Administrator', expiresAt: null });
    }
    this.defaultAppKey = admin.name;
    for (const [k, v] of Object.entries(DEFAULT_ENTITY_PERMISSIONS)) this.entityPermissions.set(k, permissions(v));
    for (const [k, v] of Object.entries(state.permissions?.collections ?? {}))
      this.collectionPermissions.set(k, permissions(v));
    for (const [k, v] of Object.entries(state.permissions?.entities ?? {}))
      this.entityPermissions.set(k, permissions(v));
    for (const t of SYSTEM_TEMPLATES)
      this.addTemplate(t.name, t.base, t.description ?? '', 'System', t.properties ?? [], true);
    for (const t of state.templates ?? [])
      this.addTemplate(t.name, t.base, t.description ?? '', t.owner ?? 'Administrator', t.properties ?? [], false);
    for (const t of state.templates ?? [])
      if (!this.templates.has(t.base)) invalid(`template ${t.name} has the unknown base template ${t.base}`);
    for (const s of state.things ?? []) {
      if (!this.templates.has(s.template)) invalid(`Thing ${s.name} has the unknown template ${s.template}`);
      const thing = this.addThing(s.name, s.template, s.owner ?? 'Administrator', s.description ?? '');
      thing.enabled = s.enabled ?? true;
      if (s.lastConnection) thing.lastConnection = s.lastConnection;
      if (s.properties?.length) thing.props = new Map(s.properties.map((p) => [p.name, propertyDef(p)]));
      for (const [name, v] of Object.entries(s.values ?? {})) this.values(thing).set(name, storedValue(v, now));
      for (const [name, list] of Object.entries(s.history ?? {}))
        this.historyOf(thing).set(
          name,
          list.map((v) => storedValue(v, now)),
        );
    }
    const sub: SubsystemState = state.subsystem ?? {};
    this.subsystem = {
      bindProtectionPolicy: sub.bindProtectionPolicy ?? 'first-in-wins',
      enableVisibilityPermissionCheck: sub.enableVisibilityPermissionCheck ?? false,
      idleConnectionTimeout: sub.idleConnectionTimeout ?? 60,
      authWaitTime: sub.authWaitTime ?? 15,
      applicationKeyLifetimeHours: sub.applicationKeyLifetimeHours ?? 24,
      autoCreateThingsOnBind: sub.autoCreateThingsOnBind ?? false,
    };
    this.tls = state.transport?.tls ?? 'default';
    this.ghosts = state.ghostSessions ?? [];
  }

  addUser(u: { name: string; password?: string; description?: string; groups?: string[]; enabled?: boolean }): User {
    const user: User = {
      name: u.name,
      password: u.password,
      description: u.description ?? '',
      groups: new Set(['Users', ...(u.groups ?? [])]),
      enabled: u.enabled ?? true,
    };
    this.users.set(u.name, user);
    return user;
  }

  addKey(k: AppKeyState): AppKey {
    const key: AppKey = {
      name: k.name,
      keyId: k.keyId,
      user: k.user,
      expiresAt: k.expiresAt ? Date.parse(k.expiresAt) : null,
      description: k.description ?? '',
    };
    const old = this.appKeys.get(k.name);
    if (old) this.keysById.delete(old.keyId);
    this.appKeys.set(key.name, key);
    this.keysById.set(key.keyId, key);
    return key;
  }

  removeKey(name: string): void {
    const k = this.appKeys.get(name);
    if (!k) return;
    this.appKeys.delete(name);
    this.keysById.delete(k.keyId);
  }

  isExpired(k: AppKey, now = Date.now()): boolean {
    return k.expiresAt !== null && k.expiresAt <= now;
  }

  isAdminName(userName: string): boolean {
    return this.users.get(userName)?.groups.has('Administrators') ?? false;
  }

  /** The user of a valid key id, or undefined (unknown, expired, or user missing/disabled). */
  userForKey(keyId: string | undefined, now = Date.now()): { user: User; key: AppKey } | undefined {
    if (!keyId) return undefined;
    const key = this.keysById.get(keyId);
    if (!key || this.isExpired(key, now)) return undefined;
    const user = this.users.get(key.user);
    if (!user?.enabled) return undefined;
    return { user, key };
  }

  /** A user authenticating with name and password (AUTH with user/password claims, HTTP Basic). */
  userForPassword(name: string | undefined, password: string | undefined): { user: User; key: null } | undefined {
    const user = name === undefined ? undefined : this.users.get(name);
    if (!user?.enabled || user.password === undefined || user.password !== password) return undefined;
    return { user, key: null };
  }

  addTemplate(
    name: string,
    base: string,
    description: string,
    owner: string,
    props: PropertyDefinitionState[],
    system = false,
  ): Template {
    const t: Template = {
      name,
      base,
      description,
      owner,
      system,
      properties: new Map(props.map((p) => [p.name, propertyDef(p)])),
    };
    this.templates.set(name, t);
    this.effectiveCache.clear();
    return t;
  }

  templateChanged(): void {
    this.effectiveCache.clear();
  }

  /** Property definitions of a template including its bases (base first). Cached. */
  templateProperties(name: string): Map<string, PropertyDef> {
    const cached = this.effectiveCache.get(name);
    if (cached) return cached;
    const chain: Template[] = [];
    const seen = new Set<string>();
    for (let t = this.templates.get(name); t && !seen.has(t.name); t = this.templates.get(t.base)) {
      seen.add(t.name);
      chain.unshift(t);
    }
    const all = new Map<string, PropertyDef>();
    for (const t of chain) for (const [k, v] of t.properties) all.set(k, v);
    this.effectiveCache.set(name, all);
    return all;
  }

  isDerivedFrom(templateName: string, base: string): boolean {
    const seen = new Set<string>();
    for (let t = this.templates.get(templateName); t && !seen.has(t.name); t = this.templates.get(t.base)) {
      if (t.name === base) return true;
      seen.add(t.name);
    }
    return false;
  }

  addThing(name: string, template: string, owner: string, description = ''): Thing {
    const thing: Thing = {
      name,
      template,
      description,
      owner,
      enabled: true,
      props: null,
      values: null,
      history: null,
      boundTo: null,
      lastConnection: 0,
    };
    this.things.set(name, thing);
    this.sortedCache = null;
    return thing;
  }

  deleteThing(name: string): void {
    this.things.delete(name);
    this.sortedCache = null;
  }

  /** Every Thing sorted by name (as the platform's listings sort), cached until a Thing is added or deleted. */
  sortedThings(): readonly Thing[] {
    if (!this.sortedCache || this.sortedCache.length !== this.things.size) {
      this.sortedCache = [...this.things.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
    return this.sortedCache;
  }

  thingProperties(thing: Thing): Map<string, PropertyDef> {
    const base = this.templateProperties(thing.template);
    if (!thing.props) return base;
    const all = new Map(base);
    for (const [k, v] of thing.props) all.set(k, v);
    return all;
  }

  thingProperty(thing: Thing, name: string): PropertyDef | undefined {
    return thing.props?.get(name) ?? this.templateProperties(thing.template).get(name);
  }

  values(thing: Thing): Map<string, StoredValue> {
    thing.values ??= new Map();
    return thing.values;
  }

  historyOf(thing: Thing): Map<string, StoredValue[]> {
    thing.history ??= new Map();
    return thing.history;
  }

  /** Stores a value; logged properties also keep it in their history. */
  setValue(thing: Thing, def: PropertyDef, value: StoredValue): void {
    this.values(thing).set(def.name, value);
    if (def.isLogged) {
      const h = this.historyOf(thing);
      let list = h.get(def.name);
      if (!list) {
        list = [];
        h.set(def.name, list);
      }
      list.push(value);
      if (list.length > HISTORY_LIMIT + 100) list.splice(0, list.length - HISTORY_LIMIT);
    }
  }

  /** The current value of a property, including the system ones (name, isConnected, ...). */
  currentValue(thing: Thing, def: PropertyDef): StoredValue {
    switch (def.name) {
      case 'name':
        return { v: thing.name, t: 0, q: 'GOOD' };
      case 'description':
        return { v: thing.description, t: 0, q: 'GOOD' };
      case 'thingTemplate':
        return { v: thing.template, t: 0, q: 'GOOD' };
      case 'isConnected':
        if (this.isDerivedFrom(thing.template, 'RemoteThing')) return { v: thing.boundTo !== null, t: 0, q: 'GOOD' };
        break;
      case 'lastConnection':
        if (this.isDerivedFrom(thing.template, 'RemoteThing'))
          return { v: thing.lastConnection || 0, t: thing.lastConnection, q: 'GOOD' };
        break;
    }
    const stored = thing.values?.get(def.name);
    if (stored) return stored;
    return { v: def.defaultValue ?? null, t: 0, q: 'UNKNOWN' };
  }
}
