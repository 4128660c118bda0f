/**
 * The permission model (research/thingworx-rest.md §5): visibility through organizations, design-time
 * Create/Read/Update/Delete on collections and entities, run-time ServiceInvoke/PropertyRead/... per resource.
 * Administrators and owners may do everything; default is deny; an explicit deny beats an allow.
 * Also the platform's error texts.
 */
import { TpxError } from '../../errors.js';
import type { Permissions, Store, User } from './model.js';
import type { DesignTimeRule, PrincipalRef, RunTimeRule } from './state.js';

/** An error the platform answers with (HTTP status + plain-text body; mapped to an AlwaysOn code on the socket). */
export class PlatformError extends TpxError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('TPX_EMULATOR_PLATFORM_ERROR', message);
  }
}

export const errors = {
  notAuthorized: (permission: string, resource: string, entity: string) =>
    new PlatformError(403, `Not authorized for ${permission} on ${resource} in ${entity}`),
  notAuthorizedDesignTime: (permission: string, collection: string) =>
    new PlatformError(403, `Not authorized for ${permission} in ${collection}`),
  dispatch: (uri: string, entity: string) =>
    new PlatformError(
      404,
      `Unable to dispatch [ uri = ${uri}]: Entity ${entity} does not exist or is not yet associated with a Thing`,
    ),
  entityNotFound: (name: string) => new PlatformError(404, `Entity Not Found : [${name}]`),
  invokeFailed: (service: string, entity: string, reason: string, status = 500) =>
    new PlatformError(status, `Unable to Invoke Service ${service} on ${entity} : ${reason}`),
  badRequest: (text: string) => new PlatformError(400, text),
};

export type Collection = string;

export class Access {
  constructor(private readonly store: Store) {}

  isAdmin(user: User): boolean {
    return user.groups.has('Administrators');
  }

  inOrganization(user: User, org: string): boolean {
    const members = this.store.organizations.get(org);
    if (!members) return false;
    if (members.has(user.name)) return true;
    for (const g of user.groups) if (members.has(g)) return true;
    return false;
  }

  private matches(user: User, rule: PrincipalRef): boolean {
    switch (rule.principalType) {
      case 'User':
        return rule.principal === user.name;
      case 'Group':
        return user.groups.has(rule.principal);
      default:
        return this.inOrganization(user, rule.principal);
    }
  }

  private perms(collection: string, name: string | undefined): Permissions[] {
    const out: Permissions[] = [];
    const c = this.store.collectionPermissions.get(collection);
    if (c) out.push(c);
    if (name !== undefined) {
      const e = this.store.entityPermissions.get(`${collection}/${name}`);
      if (e) out.push(e);
    }
    return out;
  }

  /** Visibility of an entity (or, without a name, of the collection). */
  canSee(user: User, collection: string, name?: string, owner?: string): boolean {
    if (this.isAdmin(user) || (owner !== undefined && owner === user.name)) return true;
    for (const p of this.perms(collection, name))
      for (const org of p.visibility) if (this.inOrganization(user, org)) return true;
    return false;
  }

  private decide<R extends PrincipalRef & { allow: boolean }>(
    user: User,
    rules: R[],
    pick: (r: R) => boolean,
  ): boolean | undefined {
    let allowed: boolean | undefined;
    for (const r of rules) {
      if (!pick(r) || !this.matches(user, r)) continue;
      if (!r.allow) return false;
      allowed = true;
    }
    return allowed;
  }

  designTime(user: User, collection: string, type: DesignTimeRule['type'], name?: string, owner?: string): boolean {
    if (this.isAdmin(user) || (owner !== undefined && owner === user.name)) return true;
    const rules = this.perms(collection, name).flatMap((p) => p.designTime);
    return this.decide(user, rules, (r) => r.type === type) ?? false;
  }

  runTime(
    user: User,
    collection: string,
    name: string,
    resource: string,
    type: RunTimeRule['type'],
    owner?: string,
  ): boolean {
    if (this.isAdmin(user) || (owner !== undefined && owner === user.name)) return true;
    const rules = this.perms(collection, name).flatMap((p) => p.runTime);
    return this.decide(user, rules, (r) => r.type === type && (r.resource === '*' || r.resource === resource)) ?? false;
  }

  /** Throws the platform's text when the user may not invoke `service` on the entity. */
  requireServiceInvoke(user: User, collection: string, name: string, service: string, owner?: string): void {
    if (!this.runTime(user, collection, name, service, 'ServiceInvoke', owner))
      throw errors.notAuthorized('ServiceInvoke', service, name);
  }

  requireDesignTime(user: User, collection: string, type: DesignTimeRule['type']): void {
    if (!this.designTime(user, collection, type)) throw errors.notAuthorizedDesignTime(type, collection);
  }

  requireAdmin(user: User, service: string, entity: string): void {
    if (!this.isAdmin(user)) throw errors.notAuthorized('ServiceInvoke', service, entity);
  }

  /** The permission set of an entity or collection, created on first write. */
  permissionsFor(key: string, collection: boolean): Permissions {
    const map = collection ? this.store.collectionPermissions : this.store.entityPermissions;
    let p = map.get(key);
    if (!p) {
      p = { visibility: [], designTime: [], runTime: [] };
      map.set(key, p);
    }
    return p;
  }
}
