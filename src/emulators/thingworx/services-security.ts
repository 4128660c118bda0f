/**
 * Permission services (on every entity, and CollectionFunctions for collections), Users and ApplicationKeys
 * services (research/thingworx-rest.md §5). Used by `tpx thingworx check` and `tpx thingworx setup`.
 */

import { infoTable, resultTable } from './json-values.js';
import type { Permissions } from './model.js';
import { errors, PlatformError } from './permissions.js';
import type { Params, Platform, Service } from './platform.js';
import { assertKnownPermission, collectionName } from './services-entity.js';
import type { DesignTimeRule, PrincipalRef, RunTimeRule } from './state.js';

const PRINCIPAL_TYPES = ['User', 'Group', 'Organization', 'OrganizationalUnit'];
const DESIGN = ['Create', 'Read', 'Update', 'Delete'];
const RUNTIME = ['ServiceInvoke', 'PropertyRead', 'PropertyWrite', 'EventInvoke', 'EventSubscribe'];

function s(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function allow(v: unknown): boolean {
  return !(v === false || v === 'false');
}

function principal(p: Platform, params: Params): PrincipalRef {
  const principalType = s(params.principalType) || 'User';
  const name = s(params.principal);
  if (!PRINCIPAL_TYPES.includes(principalType)) throw errors.badRequest(`Invalid principal type [${principalType}]`);
  if (!name) throw errors.badRequest('Parameter [principal] is required');
  const known =
    principalType === 'User'
      ? p.store.users.has(name)
      : principalType === 'Group'
        ? name === 'Users' || name === 'Administrators' || [...p.store.users.values()].some((u) => u.groups.has(name))
        : p.store.organizations.has(name);
  if (!known) throw errors.badRequest(`Invalid Entity Reference: ${principalType} [${name}] not found`);
  return { principal: name, principalType: principalType as PrincipalRef['principalType'] };
}

function entityKey(collection: string, entity: string): string {
  return `${collection}/${entity}`;
}

/** Adds a rule unless the same principal already has it (idempotent, as the platform's Add* services). */
function addRule<R extends PrincipalRef>(list: R[], rule: R, same: (a: R) => boolean): void {
  const i = list.findIndex((r) => r.principal === rule.principal && r.principalType === rule.principalType && same(r));
  if (i >= 0) list[i] = rule;
  else list.push(rule);
}

function removeRule<R extends PrincipalRef>(list: R[], ref: PrincipalRef, same: (a: R) => boolean): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i]!;
    if (r.principal === ref.principal && r.principalType === ref.principalType && same(r)) list.splice(i, 1);
  }
}

const permissionRowsFields: [string, string][] = [
  ['principal', 'STRING'],
  ['principalType', 'STRING'],
  ['resource', 'STRING'],
  ['type', 'STRING'],
  ['allow', 'BOOLEAN'],
];

function rows(perm: Permissions | undefined, kind: 'designTime' | 'runTime' | 'visibility') {
  if (kind === 'visibility')
    return infoTable(
      [
        ['principal', 'STRING'],
        ['principalType', 'STRING'],
      ],
      (perm?.visibility ?? []).map((o) => ({ principal: o, principalType: 'Organization' })),
    );
  const list: (DesignTimeRule | RunTimeRule)[] =
    kind === 'designTime' ? (perm?.designTime ?? []) : (perm?.runTime ?? []);
  return infoTable(
    permissionRowsFields,
    list.map((r) => ({ resource: 'resource' in r ? r.resource : '', ...r })),
  );
}

/** The permission-editing and -reading services, bound to one permission set (an entity or a collection). */
function permissionServices(
  target: (
    p: Platform,
    entity: string,
    params: Params,
  ) => { perm: () => Permissions; key: string; collection: string; name?: string },
) {
  const svc: Record<string, Service> = {
    AddVisibilityPermission: (p, _c, e, params) => {
      const ref = principal(p, params);
      if (ref.principalType === 'User' || ref.principalType === 'Group')
        throw errors.badRequest(`Visibility is granted to organizations, not to a ${ref.principalType}`);
      const perm = target(p, e, params).perm();
      if (!perm.visibility.includes(ref.principal)) perm.visibility.push(ref.principal);
      return null;
    },
    DeleteVisibilityPermission: (p, _c, e, params) => {
      const perm = target(p, e, params).perm();
      perm.visibility = perm.visibility.filter((o) => o !== s(params.principal));
      return null;
    },
    AddDesignTimePermission: (p, _c, e, params) => {
      const ref = principal(p, params);
      const type = s(params.type);
      if (!DESIGN.includes(type)) throw errors.badRequest(`Invalid design time permission [${type}]`);
      const rule = { ...ref, type, allow: allow(params.allow) } as DesignTimeRule;
      addRule(target(p, e, params).perm().designTime, rule, (r) => r.type === type);
      return null;
    },
    DeleteDesignTimePermission: (p, _c, e, params) => {
      const ref = principal(p, params);
      removeRule(target(p, e, params).perm().designTime, ref, (r) => r.type === s(params.type));
      return null;
    },
    AddRunTimePermission: (p, _c, e, params) => {
      const ref = principal(p, params);
      const type = s(params.type);
      if (!RUNTIME.includes(type)) throw errors.badRequest(`Invalid run time permission [${type}]`);
      const resource = s(params.resource) || '*';
      const rule = { ...ref, resource, type, allow: allow(params.allow) } as RunTimeRule;
      addRule(target(p, e, params).perm().runTime, rule, (r) => r.type === type && r.resource === resource);
      return null;
    },
    DeleteRunTimePermission: (p, _c, e, params) => {
      const ref = principal(p, params);
      const resource = s(params.resource) || '*';
      removeRule(target(p, e, params).perm().runTime, ref, (r) => r.type === s(params.type) && r.resource === resource);
      return null;
    },
  };
  return svc;
}

const entityTarget = (collectionOf: (p: Platform, e: string) => string) => (p: Platform, e: string) => {
  const collection = collectionOf(p, e);
  return {
    perm: () => p.access.permissionsFor(entityKey(collection, e), false),
    key: entityKey(collection, e),
    collection,
    name: e,
  };
};

/** Generic services every entity has; `collection` is resolved by the caller of register(). */
export function entityPermissionServices(collection: string): Record<string, Service> {
  const target = entityTarget(() => collection);
  const check = (p: Platform, user: import('./model.js').User, e: string, name: string, type: string): boolean => {
    assertKnownPermission(type);
    if (DESIGN.includes(type))
      return p.access.designTime(user, collection, type as DesignTimeRule['type'], e, p.owner(collection, e));
    return p.access.runTime(user, collection, e, name || '*', type as RunTimeRule['type'], p.owner(collection, e));
  };
  const forUser = (p: Platform, params: Params) => {
    const u = p.store.users.get(s(params.user));
    if (!u) throw errors.entityNotFound(s(params.user));
    return u;
  };
  const perms = (p: Platform, user: import('./model.js').User, e: string, params: Params) => {
    const type = s(params.permissionName) || 'ServiceInvoke';
    assertKnownPermission(type);
    const name = s(params.name) || '*';
    const known = name === '*' ? p.serviceNames(collection, e) : [name];
    return infoTable(
      [
        ['name', 'STRING'],
        ['permissionName', 'STRING'],
        ['isPermitted', 'BOOLEAN'],
      ],
      known.map((n) => ({ name: n, permissionName: type, isPermitted: check(p, user, e, n, type) })),
    );
  };
  return {
    ...permissionServices(target),
    CheckPermission: (p, c, e, params) => resultTable('BOOLEAN', check(p, c.user, e, s(params.name), s(params.type))),
    CheckPermissionForUser: (p, _c, e, params) =>
      resultTable('BOOLEAN', check(p, forUser(p, params), e, s(params.name), s(params.type))),
    CheckDesignTimePermission: (p, c, e, params) => resultTable('BOOLEAN', check(p, c.user, e, '', s(params.type))),
    CheckDesignTimePermissionForUser: (p, _c, e, params) =>
      resultTable('BOOLEAN', check(p, forUser(p, params), e, '', s(params.type))),
    GetPermissionsForCurrentUser: (p, c, e, params) => perms(p, c.user, e, params),
    GetPermissionsForUser: (p, _c, e, params) => perms(p, forUser(p, params), e, params),
    GetRunTimePermissions: (p, _c, e) => rows(p.store.entityPermissions.get(entityKey(collection, e)), 'runTime'),
    GetDesignTimePermissions: (p, _c, e) => rows(p.store.entityPermissions.get(entityKey(collection, e)), 'designTime'),
    GetVisibilityPermissions: (p, _c, e) => rows(p.store.entityPermissions.get(entityKey(collection, e)), 'visibility'),
  };
}

const collectionTarget = (p: Platform, _e: string, params: Params) => {
  const collection = collectionName(params.collectionName);
  return { perm: () => p.access.permissionsFor(collection, true), key: collection, collection };
};

function renamed(services: Record<string, Service>): Record<string, Service> {
  const out: Record<string, Service> = {};
  for (const [k, v] of Object.entries(services)) out[k.replace(/^(Add|Delete)/, '$1Collection')] = v;
  return out;
}

export const collectionFunctions: Record<string, Service> = {
  ...renamed(permissionServices(collectionTarget)),
  GetCollectionDesignTimePermissions: (p, _c, _e, params) =>
    rows(p.store.collectionPermissions.get(collectionName(params.collectionName)), 'designTime'),
  GetCollectionRunTimePermissions: (p, _c, _e, params) =>
    rows(p.store.collectionPermissions.get(collectionName(params.collectionName)), 'runTime'),
  GetCollectionVisibilityPermissions: (p, _c, _e, params) =>
    rows(p.store.collectionPermissions.get(collectionName(params.collectionName)), 'visibility'),
};

export const userServices: Record<string, Service> = {
  GetApplicationKeyExpirationInfo: (p, _c, e, params) => {
    const now = Date.now();
    const wantExpired = params.expiredKeys === undefined ? true : allow(params.expiredKeys);
    const wantUnexpired = params.unexpiredKeys === undefined ? true : allow(params.unexpiredKeys);
    const keys = [...p.store.appKeys.values()].filter((k) => k.user === e);
    return infoTable(
      [
        ['name', 'STRING'],
        ['description', 'STRING'],
        ['key', 'STRING'],
        ['expirationDate', 'DATETIME'],
        ['expired', 'BOOLEAN'],
      ],
      keys
        .map((k) => ({ k, expired: p.store.isExpired(k, now) }))
        .filter(({ expired }) => (expired ? wantExpired : wantUnexpired))
        .map(({ k, expired }) => ({
          name: k.name,
          description: k.description,
          key: k.keyId,
          ...(k.expiresAt === null ? {} : { expirationDate: k.expiresAt }),
          expired,
        })),
    );
  },
  AddToGroup: (p, _c, e, params) => {
    const g = s(params.group ?? params.name);
    if (!g) throw errors.badRequest('Parameter [group] is required');
    p.store.users.get(e)!.groups.add(g);
    return null;
  },
  SetPassword: (p, _c, e, params) => {
    p.store.users.get(e)!.password = s(params.password);
    return null;
  },
};

export const applicationKeyServices: Record<string, Service> = {
  GetKeyID: (p, _c, e) => resultTable('STRING', p.store.appKeys.get(e)!.keyId),
  GetUserName: (p, _c, e) => resultTable('USERNAME', p.store.appKeys.get(e)!.user),
  GetExpirationDate: (p, _c, e) => resultTable('DATETIME', p.store.appKeys.get(e)!.expiresAt),
  IsExpired: (p, _c, e) => resultTable('BOOLEAN', p.store.isExpired(p.store.appKeys.get(e)!)),
  SetExpirationDate: (p, _c, e, params) => {
    const raw = params.expirationDate;
    const t = typeof raw === 'number' ? raw : Date.parse(s(raw));
    if (Number.isNaN(t)) throw errors.badRequest('Parameter [expirationDate] must be a date');
    const k = p.store.appKeys.get(e)!;
    p.store.addKey({
      name: k.name,
      keyId: k.keyId,
      user: k.user,
      description: k.description,
      expiresAt: new Date(t).toISOString(),
    });
    return null;
  },
  SetUserName: (p, _c, e, params) => {
    const user = s(params.userName ?? params.user);
    if (!p.store.users.has(user)) throw new PlatformError(404, `Entity Not Found : [${user}]`);
    const k = p.store.appKeys.get(e)!;
    p.store.addKey({
      name: k.name,
      keyId: k.keyId,
      user,
      description: k.description,
      expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
    });
    return null;
  },
};
