/**
 * The decisions of runThingWorxSetup against a small in-test platform (the emulator tests cover the real
 * service texts): what is created, what is reused, what a dry run leaves alone, what an error names.
 */
import { describe, expect, it } from 'vitest';
import { parseBindPolicy, parseKeyExpiry } from '../../src/cli/parsers.js';
import { TpxError } from '../../src/errors.js';
import { ThingWorxError } from '../../src/thingworx/errors.js';
import { runThingWorxSetup, type SetupResult } from '../../src/thingworx/setup.js';
import { bindPolicyValue, type ServiceCaller } from '../../src/thingworx/setup-platform.js';

type Row = Record<string, unknown>;
const table = (rows: Row[]) => ({ rows });
const scalar = (v: unknown) => ({ rows: [{ result: v }] });

class FakePlatform implements ServiceCaller {
  users = new Set<string>(['Administrator']);
  keys = new Map<string, { user: string; expires: number | null; id: string }>();
  collections = new Map<string, { vis: Row[]; dt: Row[] }>([
    ['Things', { vis: [], dt: [] }],
    ['ThingTemplates', { vis: [], dt: [] }],
  ]);
  esVisibility: Row[] = [];
  runTime = new Set<string>();
  config: Row = { name: 'ws', bindProtectionPolicy: 'First-in-wins', idleTimeout: 60 };
  writes: string[] = [];
  denied: string | undefined;

  async service(entity: string, service: string, p: Record<string, unknown> = {}): Promise<unknown> {
    if (this.denied === service) {
      throw new ThingWorxError('TPX_TWX_SERVICE_DENIED', 'denied', {
        status: 403,
        platformText: `Not authorized for ServiceInvoke on ${service} in ${entity.split('/').pop()}`,
      });
    }
    const write = (what: string) => this.writes.push(`${service} ${what}`);
    const key = entity.startsWith('ApplicationKeys/') ? this.keys.get(decodeURIComponent(entity.slice(16))) : undefined;
    switch (service) {
      case 'GetCurrentUser':
        return scalar('Administrator');
      case 'GetEntityList': {
        const names = p.type === 'User' ? [...this.users] : [...this.keys.keys()];
        return table(names.filter((n) => n === p.nameMask).map((name) => ({ name })));
      }
      case 'CreateUser':
        write(String(p.name));
        expect(String(p.password).length).toBeGreaterThan(20);
        this.users.add(String(p.name));
        return table([]);
      case 'CreateApplicationKey':
        write(String(p.name));
        this.keys.set(String(p.name), {
          user: String(p.user),
          expires: Date.parse(String(p.expirationDate)),
          id: 'b1e2c3d4-0000-4000-8000-00000000abcd',
        });
        return table([]);
      case 'GetUserName':
        return scalar(key!.user);
      case 'GetExpirationDate':
        return scalar(key!.expires);
      case 'SetExpirationDate':
        write(entity);
        key!.expires = Date.parse(String(p.expirationDate));
        return table([]);
      case 'GetKeyID':
        return scalar(key!.id);
      case 'GetCollectionVisibilityPermissions':
        return table(this.collections.get(String(p.collectionName))!.vis);
      case 'GetCollectionDesignTimePermissions':
        return table(this.collections.get(String(p.collectionName))!.dt);
      case 'AddCollectionVisibilityPermission':
        write(`${p.collectionName} ${p.principal}`);
        this.collections
          .get(String(p.collectionName))!
          .vis.push({ name: p.principal, type: p.principalType, isPermitted: true });
        return table([]);
      case 'AddCollectionDesignTimePermission':
        write(`${p.collectionName} ${p.principal} ${p.type}`);
        this.collections
          .get(String(p.collectionName))!
          .dt.push({ name: p.principal, type: p.principalType, permissionName: p.type, isPermitted: p.allow });
        return table([]);
      case 'GetVisibilityPermissions':
        return table(this.esVisibility);
      case 'AddVisibilityPermission':
        write(String(p.principal));
        this.esVisibility.push({ name: p.principal, type: p.principalType, isPermitted: true });
        return table([]);
      case 'CheckPermissionForUser':
        if (!this.users.has(String(p.user)))
          throw new ThingWorxError('TPX_TWX_NOT_FOUND', 'nf', {
            status: 404,
            platformText: `User [${p.user}] not found`,
          });
        return scalar(this.runTime.has(`${p.user}:${p.name}`));
      case 'AddRunTimePermission':
        write(`${p.principal} ${p.resource}`);
        this.runTime.add(`${p.principal}:${p.resource}`);
        return table([]);
      case 'GetConfigurationTables':
        return table([{ name: 'WebSocketSettings' }, { name: 'BindProtectionSettings' }]);
      case 'GetConfigurationTable':
        return p.tableName === 'BindProtectionSettings' ? table([{ ...this.config }]) : table([{ idleTimeout: 60 }]);
      case 'SetConfigurationTable':
        write(String(p.tableName));
        this.config = { ...(p.configurationTable as { rows: Row[] }).rows[0] };
        return table([]);
      default:
        throw new Error(`unexpected ${entity} ${service}`);
    }
  }
}

const NOW = new Date('2026-11-25T12:00:00Z');
const run = (c: FakePlatform, extra: Partial<Parameters<typeof runThingWorxSetup>[0]> = {}) =>
  runThingWorxSetup({
    client: c,
    user: 'tpx-connector',
    keyExpiresAt: new Date('2027-11-25T12:00:00Z'),
    now: () => NOW,
    ...extra,
  });
const statuses = (r: SetupResult) => Object.fromEntries(r.steps.map((s) => [s.id, s.status]));

describe('runThingWorxSetup', () => {
  it('from a bare platform: creates the user and key, grants exactly the guide rights', async () => {
    const c = new FakePlatform();
    const r = await run(c, { bindPolicy: 'last-in-wins' });
    expect(r.changed).toBe(true);
    expect(r.keyCreated).toBe(true);
    expect(r.appKey).toBe('b1e2c3d4-0000-4000-8000-00000000abcd');
    expect(r.adminUser).toBe('Administrator');
    expect(new Set(Object.values(statuses(r)))).toEqual(new Set(['ok', 'done']));
    expect(c.writes.sort()).toEqual(
      [
        'CreateUser tpx-connector',
        'CreateApplicationKey tpx-connector-key',
        'AddCollectionVisibilityPermission Things Composer',
        'AddCollectionVisibilityPermission ThingTemplates Composer',
        'AddCollectionDesignTimePermission Things tpx-connector Create',
        'AddCollectionDesignTimePermission Things tpx-connector Read',
        'AddCollectionDesignTimePermission ThingTemplates tpx-connector Create',
        'AddCollectionDesignTimePermission ThingTemplates tpx-connector Read',
        'AddVisibilityPermission Composer',
        'AddRunTimePermission tpx-connector CreateThing',
        'AddRunTimePermission tpx-connector CreateThingTemplate',
        'AddRunTimePermission tpx-connector GetEntityList',
        'SetConfigurationTable BindProtectionSettings',
      ].sort(),
    );
    expect(c.config).toEqual({ name: 'ws', bindProtectionPolicy: 'Last-in-wins', idleTimeout: 60 });
    expect(c.keys.get('tpx-connector-key')).toMatchObject({
      user: 'tpx-connector',
      expires: Date.parse('2027-11-25T12:00:00Z'),
    });
  });

  it('a second run changes nothing and reuses the key', async () => {
    const c = new FakePlatform();
    await run(c, { bindPolicy: 'last-in-wins' });
    const before = c.writes.length;
    const r = await run(c, { bindPolicy: 'last-in-wins' });
    expect(c.writes.length).toBe(before);
    expect(r.changed).toBe(false);
    expect(r.keyCreated).toBe(false);
    expect(r.appKey).toBe('b1e2c3d4-0000-4000-8000-00000000abcd');
    expect(new Set(Object.values(statuses(r)))).toEqual(new Set(['ok']));
  });

  it('--dry-run writes nothing and plans every change, even for a user that does not exist yet', async () => {
    const c = new FakePlatform();
    const steps: string[] = [];
    const r = await run(c, {
      dryRun: true,
      bindPolicy: 'last-in-wins',
      onStep: (s) => steps.push(`${s.id}:${s.status}`),
    });
    expect(c.writes).toEqual([]);
    expect(r.appKey).toBeUndefined();
    expect(statuses(r)).toMatchObject({
      admin: 'ok',
      user: 'planned',
      key: 'planned',
      'runTime:EntityServices': 'planned',
      bindPolicy: 'planned',
    });
    expect(r.steps.find((s) => s.id === 'bindPolicy')!.detail).toBe('would change First-in-wins → Last-in-wins');
    expect(steps.filter((s) => s.endsWith(':planned')).length).toBeGreaterThan(0);
  });

  it('renews an expired key, never leaving one without expiry', async () => {
    const c = new FakePlatform();
    c.users.add('tpx-connector');
    c.keys.set('tpx-connector-key', {
      user: 'tpx-connector',
      expires: Date.parse('2026-01-01T00:00:00Z'),
      id: 'k-old-0000000000',
    });
    let r = await run(c);
    expect(r.steps.find((s) => s.id === 'key')).toMatchObject({
      status: 'done',
      detail: 'expired 2026-01-01: now expires 2027-11-25',
    });
    c.keys.get('tpx-connector-key')!.expires = null;
    r = await run(c);
    expect(r.steps.find((s) => s.id === 'key')!.detail).toMatch(/^has no expiration date: now expires 2027-11-25/);
    expect(c.keys.get('tpx-connector-key')!.expires).toBe(Date.parse('2027-11-25T12:00:00Z'));
  });

  it('extends a key that expires within 7 days, keeps one that expires later', async () => {
    const c = new FakePlatform();
    c.users.add('tpx-connector');
    c.keys.set('tpx-connector-key', {
      user: 'tpx-connector',
      expires: Date.parse('2026-11-28T00:00:00Z'),
      id: 'k-0000000000000',
    });
    let r = await run(c);
    expect(r.steps.find((s) => s.id === 'key')).toMatchObject({
      status: 'done',
      detail: 'expires 2026-11-28, in less than 7 days: now expires 2027-11-25',
    });
    c.keys.get('tpx-connector-key')!.expires = Date.parse('2026-12-10T00:00:00Z');
    r = await run(c);
    expect(r.steps.find((s) => s.id === 'key')).toMatchObject({ status: 'ok', detail: 'exists, expires 2026-12-10' });
    // A request that is not later than what the key has changes nothing either.
    c.keys.get('tpx-connector-key')!.expires = Date.parse('2026-11-28T00:00:00Z');
    r = await run(c, { keyExpiresAt: new Date('2026-11-28T06:00:00Z') });
    expect(r.steps.find((s) => s.id === 'key')!.status).toBe('ok');
  });

  it('refuses a key name that belongs to another user', async () => {
    const c = new FakePlatform();
    c.keys.set('tpx-connector-key', { user: 'someone', expires: null, id: 'x' });
    await expect(run(c)).rejects.toMatchObject({
      code: 'TPX_SETUP_KEY_OWNER',
      message: expect.stringMatching(/belongs to user someone/),
    });
  });

  it('a missing right stops setup naming the exact right, with the steps so far', async () => {
    const c = new FakePlatform();
    c.denied = 'CreateUser';
    const err = (await run(c).catch((e) => e)) as TpxError;
    expect(err).toBeInstanceOf(TpxError);
    expect(err.code).toBe('TPX_SETUP_FORBIDDEN');
    expect(err.message).toContain('Not authorized for ServiceInvoke on CreateUser in EntityServices');
    expect(err.details?.missingRight).toBe('Not authorized for ServiceInvoke on CreateUser in EntityServices');
    const steps = err.details?.steps as { id: string; status: string }[];
    expect(steps.map((s) => `${s.id}:${s.status}`)).toEqual(['admin:ok', 'user:failed']);
    expect(c.writes).toEqual([]);
  });
});

describe('missing visibility', () => {
  it('is named as the visibility of the entity, with the platform text', async () => {
    const c = new FakePlatform();
    c.service = async (entity, service) => {
      if (service === 'GetCurrentUser') return scalar('eve');
      throw new ThingWorxError('TPX_TWX_NO_VISIBILITY', 'no visibility', {
        status: 404,
        platformText: `Unable to dispatch [ uri = /${entity}/Services/${service}/]: Entity EntityServices does not exist or is not yet associated with a Thing`,
      });
    };
    const err = (await run(c).catch((e) => e)) as TpxError;
    expect(err.details?.missingRight).toBe('Visibility on EntityServices');
    expect(err.message).toMatch(
      /lack a right: Visibility on EntityServices \(ThingWorx: "Unable to dispatch \[ uri = \/Resources\/EntityServices\/Services\/GetEntityList\/\]/,
    );
    expect((err.details!.steps as { detail: string }[])[1]!.detail).toBe('missing right: Visibility on EntityServices');
  });
});

describe('setup inputs', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  it('parses --key-expiry and refuses past or never-expiring keys', () => {
    expect(parseKeyExpiry('1y', now).toISOString()).toBe('2027-11-25T12:00:00.000Z');
    expect(parseKeyExpiry('90d', now).toISOString()).toBe('2027-02-23T12:00:00.000Z');
    expect(parseKeyExpiry('6mo', now).toISOString()).toBe('2027-05-25T12:00:00.000Z');
    expect(parseKeyExpiry('2027-12-31', now).toISOString()).toBe('2027-12-31T00:00:00.000Z');
    expect(() => parseKeyExpiry('never', now)).toThrow(/a key must expire/);
    expect(() => parseKeyExpiry('0', now)).toThrow(/a key must expire/);
    expect(() => parseKeyExpiry('2020-01-01', now)).toThrow(/not in the future/);
    expect(() => parseKeyExpiry('50y', now)).toThrow(/10 years/);
    expect(() => parseKeyExpiry('soon', now)).toThrow(/not a duration or a date/);
  });

  it('parses --bind-policy and keeps the platform spelling of the value', () => {
    expect(parseBindPolicy('Last in wins')).toBe('last-in-wins');
    expect(() => parseBindPolicy('whatever')).toThrow(/Invalid --bind-policy/);
    expect(bindPolicyValue('First-in-wins', 'last-in-wins')).toBe('Last-in-wins');
    expect(bindPolicyValue('FIRST_IN_WINS', 'last-in-wins')).toBe('LAST_IN_WINS');
    expect(bindPolicyValue('firstinwins', 'last-in-wins')).toBe('lastinwins');
    expect(bindPolicyValue('Last in wins', 'last-in-wins')).toBe('Last in wins');
  });
});
