/**
 * The platform reads and writes `tpx thingworx setup` needs, each one REST service call through the
 * ThingWorx client's generic `service()` (names in setup-names.ts). No decisions here: setup.ts decides.
 */
import { TpxError } from '../errors.js';
import type { BindPolicyNames, SetupNames } from './setup-names.js';

/** The part of the ThingWorx REST client setup uses (ThingWorxRest satisfies it). */
export interface ServiceCaller {
  service(entityPath: string, service: string, params?: Record<string, unknown>): Promise<unknown>;
}

export type Row = Record<string, unknown>;

/** Rows of an infotable result (or of an array); [] for an empty body. */
export function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  if (result && typeof result === 'object') {
    const rows = (result as { rows?: unknown }).rows;
    if (Array.isArray(rows)) return rows as Row[];
  }
  return [];
}

/** The scalar of a one-row result (field `result`, else the row's only field), or the value itself. */
export function scalarOf(result: unknown): unknown {
  if (result === null || result === undefined || typeof result !== 'object') return result;
  const row = rowsOf(result)[0];
  if (!row) return undefined;
  if ('result' in row) return row.result;
  const values = Object.values(row);
  return values.length === 1 ? values[0] : undefined;
}

/** A DATETIME value (epoch ms, numeric string or ISO text) as a Date; undefined for none. */
export function dateOf(v: unknown): Date | undefined {
  if (v === null || v === undefined || v === '' || v === 0) return undefined;
  const d = typeof v === 'number' || /^\d+$/.test(String(v)) ? new Date(Number(v)) : new Date(String(v));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** HTTP status and text of an error thrown by the client (ThingWorxError: status + platformText). */
export function errorInfo(err: unknown): { status?: number; text: string; code?: string } {
  const e = err as { status?: unknown; platformText?: unknown; message?: unknown; code?: unknown };
  const status = typeof e?.status === 'number' && e.status > 0 ? e.status : undefined;
  const platform = typeof e?.platformText === 'string' ? e.platformText : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  return { status, text: platform || message, code };
}

export function isNotAuthorized(err: unknown): boolean {
  const { status, text, code } = errorInfo(err);
  if (code === 'TPX_TWX_SERVICE_DENIED' || code === 'TPX_TWX_DESIGN_TIME_DENIED' || code === 'TPX_TWX_NO_VISIBILITY')
    return true;
  return /not authorized/i.test(text) || (status === 403 && !/content.?type/i.test(text));
}

export function isNotFound(err: unknown): boolean {
  const { status, text, code } = errorInfo(err);
  if (code === 'TPX_TWX_NO_VISIBILITY') return false;
  return code === 'TPX_TWX_NOT_FOUND' || status === 404 || /not found|does not exist/i.test(text);
}

/** The platform's "Not authorized for …" sentence when there is one. */
export function deniedRight(err: unknown): string | undefined {
  const { text, code } = errorInfo(err);
  const na = /Not authorized for [^\n.]*/i.exec(text)?.[0]?.trim();
  if (na) return na;
  const entity = code === 'TPX_TWX_NO_VISIBILITY' ? /Entity (\S+) does not exist/i.exec(text)?.[1] : undefined;
  return entity ? `Visibility on ${entity}` : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * One permission row, whatever the field names: the Permissions data shape (name = principal, type = principal
 * type, permissionName, isPermitted) or the rule form (principal, principalType, type = permission, allow).
 */
export function permissionRow(row: Row): {
  principal?: string;
  principalType?: string;
  permission?: string;
  allowed: boolean;
} {
  const ruleForm = row.principalType !== undefined;
  const allowed = row.isPermitted ?? row.allow ?? row.allowed ?? true;
  return {
    principal: str(row.principal) ?? str(row.name),
    principalType: ruleForm ? str(row.principalType) : str(row.type),
    permission: str(row.permissionName) ?? str(row.permission) ?? (ruleForm ? str(row.type) : undefined),
    allowed: allowed === true || allowed === 'true',
  };
}

export function hasGrant(rows: Row[], principal: string, principalType: string, permission?: string): boolean {
  return rows.some((r) => {
    const p = permissionRow(r);
    if (!p.allowed || p.principal !== principal) return false;
    if (p.principalType && p.principalType.toLowerCase() !== principalType.toLowerCase()) return false;
    if (permission !== undefined && p.permission !== undefined && p.permission !== permission) return false;
    return permission === undefined || p.permission === permission;
  });
}

export class SetupPlatform {
  constructor(
    private readonly c: ServiceCaller,
    readonly names: SetupNames,
  ) {}

  async currentUser(): Promise<string> {
    return String(scalarOf(await this.c.service(this.names.currentSession, 'GetCurrentUser', {})) ?? '');
  }

  /** The groups of the credentials' user, or undefined when the platform does not say. */
  async currentUserGroups(): Promise<string[] | undefined> {
    try {
      const r = await this.c.service(this.names.currentSession, 'GetCurrentUserGroups', {});
      return rowsOf(r)
        .map((row) => str(row.name))
        .filter((n): n is string => Boolean(n));
    } catch {
      return undefined;
    }
  }

  async entityExists(type: 'User' | 'ApplicationKey', name: string): Promise<boolean> {
    const r = await this.c.service(this.names.entityServices, 'GetEntityList', { type, nameMask: name, maxItems: 500 });
    return rowsOf(r).some((row) => row.name === name);
  }

  async createUser(name: string, password: string, description: string): Promise<void> {
    await this.c.service(this.names.entityServices, 'CreateUser', { name, password, description });
  }

  async keyInfo(name: string): Promise<{ user?: string; expiresAt?: Date; keyId?: string }> {
    const path = `ApplicationKeys/${name}`;
    const user = str(scalarOf(await this.c.service(path, 'GetUserName', {})));
    const expiresAt = dateOf(scalarOf(await this.c.service(path, 'GetExpirationDate', {})));
    return { user, expiresAt };
  }

  async keyId(name: string): Promise<string> {
    const id = str(scalarOf(await this.c.service(`ApplicationKeys/${name}`, 'GetKeyID', {})));
    if (!id) {
      throw new TpxError('TPX_SETUP_KEY_ID', `ThingWorx returned no Key ID for application key ${name}.`, {
        fix: 'Open the key in Composer → Security → Application Keys and copy its Key ID.',
      });
    }
    return id;
  }

  async createKey(name: string, user: string, expiresAt: Date, description: string): Promise<void> {
    // `user` is the input in the platform's service metadata (ThingTransformer typings); `userNameReference` is the
    // key's field name, accepted by some builds. Both are sent; setup reads the owner back to be sure.
    await this.c.service(this.names.entityServices, 'CreateApplicationKey', {
      name,
      user,
      userNameReference: user,
      description,
      expirationDate: expiresAt.toISOString(),
    });
  }

  async setKeyExpiry(name: string, expiresAt: Date): Promise<void> {
    await this.c.service(`ApplicationKeys/${name}`, 'SetExpirationDate', {
      expirationDate: expiresAt.toISOString(),
    });
  }

  collectionRows(kind: 'Visibility' | 'DesignTime', collection: string): Promise<Row[]> {
    return this.c
      .service(this.names.collectionFunctions, `GetCollection${kind}Permissions`, { collectionName: collection })
      .then(rowsOf);
  }

  async addCollectionVisibility(collection: string, organization: string): Promise<void> {
    await this.c.service(this.names.collectionFunctions, 'AddCollectionVisibilityPermission', {
      collectionName: collection,
      principal: organization,
      principalType: 'Organization',
    });
  }

  async addCollectionDesignTime(collection: string, user: string, type: string): Promise<void> {
    await this.c.service(this.names.collectionFunctions, 'AddCollectionDesignTimePermission', {
      collectionName: collection,
      principal: user,
      principalType: 'User',
      type,
      allow: true,
    });
  }

  entityVisibilityRows(entity: string): Promise<Row[]> {
    return this.c.service(entity, 'GetVisibilityPermissions', {}).then(rowsOf);
  }

  async addEntityVisibility(entity: string, organization: string): Promise<void> {
    await this.c.service(entity, 'AddVisibilityPermission', { principal: organization, principalType: 'Organization' });
  }

  async serviceAllowed(entity: string, service: string, user: string): Promise<boolean> {
    const r = scalarOf(
      await this.c.service(entity, 'CheckPermissionForUser', { name: service, type: 'ServiceInvoke', user }),
    );
    return r === true || r === 'true';
  }

  async allowService(entity: string, service: string, user: string): Promise<void> {
    await this.c.service(entity, 'AddRunTimePermission', {
      principal: user,
      principalType: 'User',
      resource: service,
      type: 'ServiceInvoke',
      allow: true,
    });
  }

  /** Finds the Bind Protection Policy in the WSCommunicationsSubsystem configuration tables. */
  async findBindPolicy(
    names: BindPolicyNames,
  ): Promise<{ table: string; field: string; value: string; row: Row; shape: unknown } | undefined> {
    const sub = this.names.wsSubsystem;
    const tables = names.table
      ? [names.table]
      : rowsOf(await this.c.service(sub, 'GetConfigurationTables', {}))
          .map((r) => str(r.name))
          .filter((n): n is string => Boolean(n));
    for (const table of tables) {
      const result = await this.c.service(sub, 'GetConfigurationTable', { tableName: table });
      const row = rowsOf(result)[0];
      if (!row) continue;
      const field =
        names.field ??
        Object.keys(row).find((k) => /bind.?protection|bind.?policy/i.test(k)) ??
        Object.keys(row).find((k) => /^(first|last).?in.?wins$/i.test(String(row[k] ?? '')));
      if (field && field in row) {
        const shape = result && typeof result === 'object' ? (result as { dataShape?: unknown }).dataShape : undefined;
        return { table, field, value: String(row[field] ?? ''), row, shape };
      }
    }
    return undefined;
  }

  async writeBindPolicy(
    found: { table: string; field: string; row: Row; shape: unknown },
    value: string,
  ): Promise<void> {
    await this.c.service(this.names.wsSubsystem, 'SetConfigurationTable', {
      tableName: found.table,
      configurationTable: {
        ...(found.shape ? { dataShape: found.shape } : {}),
        rows: [{ ...found.row, [found.field]: value }],
      },
      persistent: true,
    });
  }
}

/** The spelling to write: the current value's style with "first" turned into "last" (or the reverse). */
export function bindPolicyValue(current: string, target: 'last-in-wins' | 'first-in-wins'): string {
  const [from, to] = target === 'last-in-wins' ? ['first', 'last'] : ['last', 'first'];
  const m = new RegExp(from, 'i').exec(current);
  if (!m) return /^(first|last).?in.?wins$/i.test(current) ? current : target;
  const word = m[0];
  const cased =
    word === word.toUpperCase()
      ? to.toUpperCase()
      : word[0] === word[0]!.toUpperCase()
        ? to[0]!.toUpperCase() + to.slice(1)
        : to;
  return current.slice(0, m.index) + cased + current.slice(m.index + word.length);
}
