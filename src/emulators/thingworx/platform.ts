/**
 * The platform core shared by the REST API and the AlwaysOn endpoint: entity lookup with visibility, service
 * dispatch with run-time permission checks, property reads and writes (remote writes forwarded to the edge).
 */
import { EventEmitter } from 'node:events';
import type { TwValue } from '../../alwayson/codec/types.js';
import { coerce, type InfoTableJson, infoTable, jsonToTw } from './json-values.js';
import type { AppKey, Store, Thing, User } from './model.js';
import { Access, errors, PlatformError } from './permissions.js';

export interface Caller {
  user: User;
  /** Name of the application key used, if any. */
  keyName?: string;
  via: 'rest' | 'alwayson';
}

export type Params = Record<string, unknown>;
export type ServiceResult = InfoTableJson | null;
export type Service = (
  p: Platform,
  caller: Caller,
  entity: string,
  params: Params,
) => ServiceResult | Promise<ServiceResult>;

/** The AlwaysOn side, as the platform core sees it. */
export interface EdgeGateway {
  /** Sends a PUT of a remote property to the edge holding the Thing's binding; resolves when the edge answers 0x40. */
  writeRemoteProperty(thing: Thing, remoteName: string, value: TwValue, timeoutMs: number): Promise<void>;
}

/** An AlwaysOn session as WSCommunicationsSubsystem shows it. */
export interface SessionView {
  endpoint: string;
  sessionId: number;
  key: AppKey | undefined;
  user: User | undefined;
  startDate: number;
  lastUsedDate: number;
  bound: Set<string>;
  ghost: boolean;
  /** host:port of the edge (undefined for a ghost). */
  remoteAddress?: string | undefined;
}

export interface SessionControl {
  list(): SessionView[];
  /** Closes a session (socket and binds); false when there is none with that endpoint id. */
  close(endpoint: string): boolean;
}

export const RESOURCES = ['EntityServices', 'CurrentSessionInfo', 'CollectionFunctions', 'SecurityServices'];
export const SUBSYSTEMS = ['WSCommunicationsSubsystem'];

export interface VTQ {
  name: string;
  value: unknown;
  time?: number;
  quality?: string;
}

export class Platform {
  readonly access: Access;
  readonly events = new EventEmitter();
  /** collection -> service -> handler; collection "*" for services every entity has. */
  private readonly services = new Map<string, Map<string, Service>>();
  edge: EdgeGateway | undefined;
  sessions: SessionControl | undefined;
  /** Platform request -> edge response timeout, ms (30 s on ThingWorx). */
  edgeRequestTimeoutMs = 30_000;
  delayMs = 0;
  failStatus: number | null = null;

  constructor(readonly store: Store) {
    this.access = new Access(store);
    this.events.setMaxListeners(0);
  }

  register(collection: string, services: Record<string, Service>): void {
    let m = this.services.get(collection);
    if (!m) {
      m = new Map();
      this.services.set(collection, m);
    }
    for (const [k, v] of Object.entries(services)) m.set(k, v);
  }

  /** Owner of an entity, when it has one. */
  owner(collection: string, name: string): string | undefined {
    if (collection === 'Things') return this.store.things.get(name)?.owner;
    if (collection === 'ThingTemplates') return this.store.templates.get(name)?.owner;
    if (collection === 'Users') return this.store.users.has(name) ? name : undefined;
    if (collection === 'ApplicationKeys') return this.store.appKeys.get(name)?.user;
    return undefined;
  }

  exists(collection: string, name: string): boolean {
    switch (collection) {
      case 'Things':
        return this.store.things.has(name);
      case 'ThingTemplates':
        return this.store.templates.has(name);
      case 'Resources':
        return RESOURCES.includes(name);
      case 'Subsystems':
        return SUBSYSTEMS.includes(name);
      case 'Users':
        return this.store.users.has(name);
      case 'ApplicationKeys':
        return this.store.appKeys.has(name);
      case 'Organizations':
        return this.store.organizations.has(name);
      default:
        return false;
    }
  }

  /** Throws the platform's "not found" text when the entity does not exist or the caller cannot see it. */
  requireEntity(caller: Caller, collection: string, name: string, uri: string): void {
    const visible =
      this.exists(collection, name) && this.access.canSee(caller.user, collection, name, this.owner(collection, name));
    if (visible) return;
    if (collection === 'Resources' || collection === 'Subsystems') throw errors.dispatch(uri, name);
    throw errors.entityNotFound(name);
  }

  thing(caller: Caller, name: string): Thing {
    const t = this.store.things.get(name);
    if (!t || !this.access.canSee(caller.user, 'Things', name, t.owner)) throw errors.entityNotFound(name);
    return t;
  }

  private serviceKey(collection: string, entity: string): string {
    return collection === 'Resources' || collection === 'Subsystems' ? `${collection}/${entity}` : collection;
  }

  /** Names of the services an entity has. */
  serviceNames(collection: string, entity: string): string[] {
    return [...(this.services.get(this.serviceKey(collection, entity))?.keys() ?? [])].sort();
  }

  async invoke(
    caller: Caller,
    collection: string,
    entity: string,
    service: string,
    params: Params,
  ): Promise<ServiceResult> {
    const uri = `/${collection}/${entity}/Services/${service}/`;
    this.requireEntity(caller, collection, entity, uri);
    const handler = this.services.get(this.serviceKey(collection, entity))?.get(service);
    if (!handler) throw new PlatformError(404, `Service Not Found : [${service}] on ${entity}`);
    this.access.requireServiceInvoke(caller.user, collection, entity, service, this.owner(collection, entity));
    return handler(this, caller, entity, params);
  }

  /** One row with every property of the Thing (or only `only`), as REST and GetPropertyValues return it. */
  readProperties(caller: Caller, thingName: string, only?: string): InfoTableJson {
    const t = this.thing(caller, thingName);
    const defs = this.store.thingProperties(t);
    const fields: [string, string][] = [];
    const row: Record<string, unknown> = {};
    for (const def of defs.values()) {
      if (only !== undefined && def.name !== only) continue;
      if (!this.access.runTime(caller.user, 'Things', t.name, def.name, 'PropertyRead', t.owner))
        throw errors.notAuthorized('PropertyRead', def.name, t.name);
      fields.push([def.name, def.baseType]);
      const v = this.store.currentValue(t, def).v;
      if (v !== null && v !== undefined) row[def.name] = v;
    }
    if (only !== undefined && fields.length === 0)
      throw new PlatformError(404, `Property [${only}] not found on ${thingName}`);
    return infoTable(fields, [row]);
  }

  /** A REST/service write of one property: remote properties of a bound Thing go to the edge. */
  async writeProperty(caller: Caller, thingName: string, name: string, value: unknown): Promise<void> {
    const t = this.thing(caller, thingName);
    const def = this.store.thingProperty(t, name);
    if (!def) throw new PlatformError(404, `Property [${name}] not found on ${thingName}`);
    if (!this.access.runTime(caller.user, 'Things', t.name, name, 'PropertyWrite', t.owner))
      throw errors.notAuthorized('PropertyWrite', name, t.name);
    if (def.isReadOnly) throw new PlatformError(403, `Property [${name}] is read only on ${thingName}`);
    if (value === null || value === undefined)
      throw errors.badRequest(
        `Unable to write property [${name}] on ${thingName}: property values cannot be set to null`,
      );
    const v = coerce(def.baseType, value);
    this.events.emit('propertyWrite', {
      thing: t.name,
      property: name,
      value: v,
      via: caller.via,
      remote: def.isRemote,
    });
    if (def.isRemote && this.store.isDerivedFrom(t.template, 'RemoteThing')) {
      if (!t.boundTo || !this.edge)
        throw new PlatformError(500, `Unable to write remote property [${name}] on ${thingName}: Thing is not bound`);
      await this.edge.writeRemoteProperty(
        t,
        def.remotePropertyName || def.name,
        jsonToTw(def.baseType, v),
        def.timeout > 0 ? def.timeout : this.edgeRequestTimeoutMs,
      );
      return;
    }
    this.store.setValue(t, def, { v, t: Date.now(), q: 'GOOD' });
  }

  /** Stores value/time/quality updates (UpdatePropertyValues, UpdateSubscribedPropertyValues). Unknown names are skipped. */
  updateValues(t: Thing, rows: VTQ[], now = Date.now()): { stored: VTQ[]; unknown: string[] } {
    const stored: VTQ[] = [];
    const unknown: string[] = [];
    for (const r of rows) {
      const def = this.store.thingProperty(t, r.name);
      if (!def) {
        unknown.push(r.name);
        continue;
      }
      const time = typeof r.time === 'number' ? r.time : r.time ? Date.parse(String(r.time)) || now : now;
      const v = coerce(def.baseType, r.value);
      const q = r.quality ?? 'GOOD';
      this.store.setValue(t, def, { v, t: time, q });
      stored.push({ name: def.name, value: v, time, quality: q });
    }
    return { stored, unknown };
  }
}
