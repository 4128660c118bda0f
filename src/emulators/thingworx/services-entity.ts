/** Resources/EntityServices and Resources/CurrentSessionInfo (research/thingworx-rest.md §2, §5.2). */
import { randomUUID } from 'node:crypto';
import { infoTable, resultTable } from './json-values.js';
import { errors, PlatformError } from './permissions.js';
import { type Caller, type Platform, RESOURCES, type Service, SUBSYSTEMS } from './platform.js';
import type { RunTimeRule } from './state.js';

const COLLECTION_OF_TYPE: Record<string, string> = {
  Thing: 'Things',
  ThingTemplate: 'ThingTemplates',
  User: 'Users',
  ApplicationKey: 'ApplicationKeys',
  Resource: 'Resources',
  Subsystem: 'Subsystems',
  Organization: 'Organizations',
};

/** "Thing" / "Things" -> "Things" (collection names given as singular types are accepted too). */
export function collectionName(name: unknown): string {
  const s = String(name ?? '');
  if (COLLECTION_OF_TYPE[s]) return COLLECTION_OF_TYPE[s]!;
  if (Object.values(COLLECTION_OF_TYPE).includes(s) || ['ThingShapes', 'DataShapes', 'Mashups', 'Groups'].includes(s))
    return s;
  throw errors.badRequest(`Invalid collection [${s}]`);
}

function names(
  p: Platform,
  collection: string,
): { name: string; description: string; owner?: string; system: boolean }[] {
  const s = p.store;
  switch (collection) {
    case 'Things':
      return [...s.things.values()].map((t) => ({
        name: t.name,
        description: t.description,
        owner: t.owner,
        system: false,
      }));
    case 'ThingTemplates':
      return [...s.templates.values()].map((t) => ({
        name: t.name,
        description: t.description,
        owner: t.owner,
        system: t.system,
      }));
    case 'Users':
      return [...s.users.values()].map((u) => ({
        name: u.name,
        description: u.description,
        owner: u.name,
        system: false,
      }));
    case 'ApplicationKeys':
      return [...s.appKeys.values()].map((k) => ({
        name: k.name,
        description: k.description,
        owner: k.user,
        system: false,
      }));
    case 'Resources':
      return RESOURCES.map((n) => ({ name: n, description: '', system: true }));
    case 'Subsystems':
      return SUBSYSTEMS.map((n) => ({ name: n, description: '', system: true }));
    case 'Organizations':
      return [...s.organizations.keys()].map((n) => ({ name: n, description: '', system: false }));
    default:
      return [];
  }
}

function maskToRegExp(mask: string): RegExp {
  return new RegExp(`^${mask.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function requireName(params: Record<string, unknown>, key = 'name'): string {
  const v = str(params[key]).trim();
  if (!v) throw errors.badRequest(`Parameter [${key}] is required`);
  return v;
}

/** DELETE of a Thing or Thing Template (REST DELETE and the Delete* services). */
export function deleteEntity(
  p: Platform,
  caller: Caller,
  collection: 'Things' | 'ThingTemplates',
  name: string,
  service: string,
): void {
  if (!p.access.designTime(caller.user, collection, 'Delete', name, p.owner(collection, name)))
    throw errors.notAuthorizedDesignTime('Delete', collection);
  if (collection === 'Things') {
    const t = p.store.things.get(name)!;
    const holder = t.boundTo as { bound?: Set<string> } | null;
    holder?.bound?.delete(name);
    p.store.deleteThing(name);
    return;
  }
  const t = p.store.templates.get(name)!;
  if (t.system) throw errors.invokeFailed(service, 'EntityServices', `Cannot delete system object [${name}]`, 403);
  const users = [...p.store.things.values()].filter((x) => x.template === name).length;
  const derived = [...p.store.templates.values()].filter((x) => x.base === name).length;
  if (users || derived)
    throw errors.invokeFailed(
      service,
      'EntityServices',
      `Thing Template [${name}] is in use by ${users + derived} entities`,
    );
  p.store.templates.delete(name);
  p.store.templateChanged();
}

/** GetEntityList and its permission-mask variant: visible entities of a type, by name mask. */
function entityList(
  p: Platform,
  c: Caller,
  params: Record<string, unknown>,
  permitted: (collection: string, name: string, owner?: string) => boolean = () => true,
) {
  const collection = COLLECTION_OF_TYPE[str(params.type) || 'Thing'];
  const maxItems = Number(params.maxItems) > 0 ? Number(params.maxItems) : 500;
  const re = params.nameMask ? maskToRegExp(str(params.nameMask)) : null;
  const rows = collection
    ? names(p, collection)
        .filter(
          (e) =>
            (!re || re.test(e.name)) &&
            p.access.canSee(c.user, collection, e.name, e.owner) &&
            permitted(collection, e.name, e.owner),
        )
        .slice(0, maxItems)
        .map((e) => ({
          name: e.name,
          description: e.description,
          isSystemObject: e.system,
          homeMashup: '',
          avatar: '',
          tags: [],
        }))
    : [];
  return infoTable(
    [
      ['name', 'STRING'],
      ['description', 'STRING'],
      ['isSystemObject', 'BOOLEAN'],
      ['homeMashup', 'MASHUPNAME'],
      ['avatar', 'IMAGELINK'],
      ['tags', 'TAGS'],
    ],
    rows,
  );
}

export const entityServices: Record<string, Service> = {
  GetEntityList: (p, c, _e, params) => entityList(p, c, params),
  GetEntityListWithPermissionMask: (p, c, _e, params) => {
    const type = str(params.permissionType) || 'ServiceInvoke';
    assertKnownPermission(type);
    const target = str(params.permissionTarget) || '*';
    return entityList(p, c, params, (collection, name, owner) =>
      (DESIGN_TIME as readonly string[]).includes(type)
        ? p.access.designTime(c.user, collection, type as (typeof DESIGN_TIME)[number], name, owner)
        : p.access.runTime(c.user, collection, name, target, type as RunTimeRule['type'], owner),
    );
  },
  CreateThing: (p, c, _e, params) => {
    p.access.requireDesignTime(c.user, 'Things', 'Create');
    const name = requireName(params);
    const template = str(params.thingTemplateName);
    const tt = p.store.templates.get(template);
    if (!tt || !p.access.canSee(c.user, 'ThingTemplates', template, tt.owner))
      throw errors.invokeFailed('CreateThing', 'EntityServices', `Invalid Thing Template [${template}]`, 404);
    if (p.store.things.has(name))
      throw errors.invokeFailed('CreateThing', 'EntityServices', `Thing [${name}] already exists`, 403);
    const t = p.store.addThing(name, template, c.user.name, str(params.description));
    t.enabled = false;
    p.events.emit('created', { collection: 'Things', name });
    return null;
  },
  CreateThingTemplate: (p, c, _e, params) => {
    p.access.requireDesignTime(c.user, 'ThingTemplates', 'Create');
    const name = requireName(params);
    const base = str(params.thingTemplateName) || 'GenericThing';
    const bt = p.store.templates.get(base);
    if (!bt || !p.access.canSee(c.user, 'ThingTemplates', base, bt.owner))
      throw errors.invokeFailed('CreateThingTemplate', 'EntityServices', `Invalid base Thing Template [${base}]`, 404);
    if (p.store.templates.has(name))
      throw errors.invokeFailed(
        'CreateThingTemplate',
        'EntityServices',
        `Thing Template [${name}] already exists`,
        403,
      );
    p.store.addTemplate(name, base, str(params.description), c.user.name, []);
    p.events.emit('created', { collection: 'ThingTemplates', name });
    return null;
  },
  DeleteThing: (p, c, _e, params) => {
    const name = requireName(params);
    p.requireEntity(c, 'Things', name, `/Things/${name}/`);
    deleteEntity(p, c, 'Things', name, 'DeleteThing');
    return null;
  },
  DeleteThingTemplate: (p, c, _e, params) => {
    const name = requireName(params);
    p.requireEntity(c, 'ThingTemplates', name, `/ThingTemplates/${name}/`);
    deleteEntity(p, c, 'ThingTemplates', name, 'DeleteThingTemplate');
    return null;
  },
  IsRemoteThingBound: (p, c, _e, params) => {
    const t = p.thing(c, requireName(params));
    return resultTable('BOOLEAN', t.boundTo !== null);
  },
  CreateUser: (p, c, _e, params) => {
    p.access.requireDesignTime(c.user, 'Users', 'Create');
    const name = requireName(params);
    if (p.store.users.has(name))
      throw errors.invokeFailed('CreateUser', 'EntityServices', `User [${name}] already exists`, 403);
    p.store.addUser({
      name,
      password: params.password === undefined ? undefined : str(params.password),
      description: str(params.description),
    });
    return null;
  },
  DeleteUser: (p, c, _e, params) => {
    const name = requireName(params);
    if (!p.access.designTime(c.user, 'Users', 'Delete', name)) throw errors.notAuthorizedDesignTime('Delete', 'Users');
    if (!p.store.users.has(name)) throw errors.entityNotFound(name);
    p.store.users.delete(name);
    return null;
  },
  CreateApplicationKey: (p, c, _e, params) => {
    p.access.requireDesignTime(c.user, 'ApplicationKeys', 'Create');
    const name = requireName(params);
    const user = str(params.userNameReference) || str(params.user) || c.user.name;
    if (!p.store.users.has(user))
      throw errors.invokeFailed('CreateApplicationKey', 'EntityServices', `Invalid user [${user}]`, 404);
    if (p.store.appKeys.has(name))
      throw errors.invokeFailed(
        'CreateApplicationKey',
        'EntityServices',
        `Application Key [${name}] already exists`,
        403,
      );
    const explicit =
      params.expirationDate === undefined || params.expirationDate === null
        ? NaN
        : Number(params.expirationDate) || Date.parse(str(params.expirationDate));
    const expires = Number.isNaN(explicit)
      ? Date.now() + p.store.subsystem.applicationKeyLifetimeHours * 3_600_000
      : explicit;
    p.store.addKey({
      name,
      keyId: randomUUID(),
      user,
      expiresAt: new Date(expires).toISOString(),
      description: str(params.description),
    });
    return null;
  },
  DeleteApplicationKey: (p, c, _e, params) => {
    const name = requireName(params);
    if (!p.access.designTime(c.user, 'ApplicationKeys', 'Delete', name))
      throw errors.notAuthorizedDesignTime('Delete', 'ApplicationKeys');
    if (!p.store.appKeys.has(name)) throw errors.entityNotFound(name);
    p.store.removeKey(name);
    return null;
  },
};

const COLLECTIONS = ['Things', 'ThingTemplates', 'ThingShapes', 'DataShapes', 'Users', 'ApplicationKeys'];
const DESIGN_TIME = ['Create', 'Read', 'Update', 'Delete'] as const;

export const currentSessionServices: Record<string, Service> = {
  GetCurrentUser: (_p, c) => resultTable('USERNAME', c.user.name),
  GetCurrentUserGroups: (_p, c) =>
    infoTable(
      [['name', 'GROUPNAME']],
      [...c.user.groups].map((name) => ({ name })),
    ),
  GetCurrentUserOrganizations: (p, c) =>
    infoTable(
      [['name', 'ORGANIZATIONNAME']],
      [...p.store.organizations.keys()].filter((o) => p.access.inOrganization(c.user, o)).map((name) => ({ name })),
    ),
  GetDesignTimeCollectionPermissions: (p, c) =>
    infoTable(
      [
        ['name', 'STRING'],
        ['type', 'STRING'],
        ['permissionName', 'STRING'],
        ['isPermitted', 'BOOLEAN'],
      ],
      COLLECTIONS.flatMap((name) =>
        DESIGN_TIME.map((perm) => ({
          name,
          type: 'Collection',
          permissionName: perm,
          isPermitted: p.access.designTime(c.user, name, perm),
        })),
      ),
    ),
};

export function assertKnownPermission(type: string): void {
  const all = ['ServiceInvoke', 'PropertyRead', 'PropertyWrite', 'EventInvoke', 'EventSubscribe', ...DESIGN_TIME];
  if (!all.includes(type)) throw new PlatformError(400, `Invalid permission type [${type}]`);
}
