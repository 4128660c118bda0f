/** The permission model and the services `tpx thingworx setup` uses, from a bare platform. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { ROOT } from '../../helpers/cli.js';
import { RawEdge, rest } from './helpers.js';

const ES = 'Resources/EntityServices/Services';
const CF = 'Resources/CollectionFunctions/Services';
const WS = 'Subsystems/WSCommunicationsSubsystem/Services';
const emus: ThingWorxEmulator[] = [];
const edges: RawEdge[] = [];
afterEach(async () => {
  for (const e of edges.splice(0)) await e.close();
  for (const e of emus.splice(0)) await e.close();
});
async function bare(): Promise<ThingWorxEmulator> {
  const emu = await startThingWorxEmulator({ state: join(ROOT, 'examples', 'thingworx', 'bare.json') });
  emus.push(emu);
  return emu;
}

/** The set-up guide's steps through the services, as `tpx thingworx setup` does them. */
async function setUp(emu: ThingWorxEmulator): Promise<string> {
  const ok = async (path: string, body: Record<string, unknown>) => {
    const r = await rest(emu, 'POST', path, body);
    expect(r.status, `${path}: ${r.text}`).toBe(200);
    return r;
  };
  const expiry = new Date(Date.now() + 365 * 86_400_000).toISOString();
  await ok(`${ES}/CreateUser`, { name: 'conn', password: 'pw' });
  await ok(`${ES}/CreateApplicationKey`, { name: 'conn-key', user: 'conn', expirationDate: expiry });
  for (const collectionName of ['Things', 'ThingTemplates']) {
    await ok(`${CF}/AddCollectionVisibilityPermission`, {
      collectionName,
      principal: 'Composer',
      principalType: 'Organization',
    });
    for (const type of ['Create', 'Read'])
      await ok(`${CF}/AddCollectionDesignTimePermission`, {
        collectionName,
        principal: 'conn',
        principalType: 'User',
        type,
        allow: true,
      });
  }
  await ok(`${ES}/AddVisibilityPermission`, { principal: 'Composer', principalType: 'Organization' });
  for (const resource of ['CreateThing', 'CreateThingTemplate', 'GetEntityList'])
    await ok(`${ES}/AddRunTimePermission`, {
      principal: 'conn',
      principalType: 'User',
      resource,
      type: 'ServiceInvoke',
      allow: true,
    });
  await ok(`${WS}/SetConfigurationTable`, {
    tableName: 'BindProtectionSettings',
    configurationTable: { rows: [{ bindProtectionPolicy: 'LastInWins' }] },
    persistent: true,
  });
  const id = await ok('ApplicationKeys/conn-key/Services/GetKeyID', {});
  return id.json.rows[0].result as string;
}

describe('ThingWorx emulator: permissions and set-up services', () => {
  it('a bare platform set up through the services gives the connector exactly the guide rights', async () => {
    const emu = await bare();
    const key = await setUp(emu);
    const exp = await rest(emu, 'POST', 'ApplicationKeys/conn-key/Services/GetExpirationDate', {});
    expect(exp.json.rows[0].result).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    const o = { key };
    expect((await rest(emu, 'POST', `${ES}/GetEntityList`, { type: 'Thing' }, o)).status).toBe(200);
    expect(
      (await rest(emu, 'POST', `${ES}/CreateThingTemplate`, { name: 'T', thingTemplateName: 'RemoteThing' }, o)).status,
    ).toBe(200);
    expect((await rest(emu, 'POST', `${ES}/CreateThing`, { name: 'D', thingTemplateName: 'T' }, o)).status).toBe(200);
    expect((await rest(emu, 'POST', `${ES}/CreateUser`, { name: 'x' }, o)).text).toBe(
      'Not authorized for ServiceInvoke on CreateUser in EntityServices',
    );
    const check = async (name: string) =>
      (await rest(emu, 'POST', `${ES}/CheckPermissionForUser`, { name, type: 'ServiceInvoke', user: 'conn' })).json
        .rows[0].result;
    expect(await check('GetEntityList')).toBe(true);
    expect(await check('DeleteThing')).toBe(false);
    const all = await rest(emu, 'POST', `${ES}/GetPermissionsForUser`, {
      name: '*',
      user: 'conn',
      permissionName: 'ServiceInvoke',
    });
    const permitted = all.json.rows
      .filter((r: { isPermitted: boolean }) => r.isPermitted)
      .map((r: { name: string }) => r.name);
    expect(permitted.sort()).toEqual(['CreateThing', 'CreateThingTemplate', 'GetEntityList']);
    const cfg = await rest(emu, 'POST', `${WS}/GetConfigurationTable`, { tableName: 'BindProtectionSettings' });
    expect(cfg.json.rows[0].bindProtectionPolicy).toBe('LastInWins');
    expect(emu.store.subsystem.bindProtectionPolicy).toBe('last-in-wins');
  });

  it('adding the same rights twice changes nothing; reads show them', async () => {
    const emu = await bare();
    await setUp(emu);
    const before = JSON.stringify(emu.state().permissions);
    for (const type of ['Create', 'Read'])
      await rest(emu, 'POST', `${CF}/AddCollectionDesignTimePermission`, {
        collectionName: 'Things',
        principal: 'conn',
        principalType: 'User',
        type,
        allow: true,
      });
    await rest(emu, 'POST', `${ES}/AddVisibilityPermission`, { principal: 'Composer', principalType: 'Organization' });
    expect(JSON.stringify(emu.state().permissions)).toBe(before);
    const dt = await rest(emu, 'POST', `${CF}/GetCollectionDesignTimePermissions`, { collectionName: 'Things' });
    expect(dt.json.rows).toEqual([
      { principal: 'conn', principalType: 'User', resource: '', type: 'Create', allow: true },
      { principal: 'conn', principalType: 'User', resource: '', type: 'Read', allow: true },
    ]);
    const vis = await rest(emu, 'POST', `${ES}/GetVisibilityPermissions`, {});
    expect(vis.json.rows).toEqual([{ principal: 'Composer', principalType: 'Organization' }]);
    const rt = await rest(emu, 'POST', `${ES}/GetRunTimePermissions`, {});
    expect(rt.json.rows.map((r: { resource: string }) => r.resource)).toEqual([
      'CreateThing',
      'CreateThingTemplate',
      'GetEntityList',
    ]);
  });

  it('a non-administrator key gets the platform texts for every set-up step', async () => {
    const emu = await bare();
    await rest(emu, 'POST', `${ES}/CreateUser`, { name: 'u' });
    await rest(emu, 'POST', `${ES}/CreateApplicationKey`, { name: 'u-key', userNameReference: 'u' });
    const key = (await rest(emu, 'POST', 'ApplicationKeys/u-key/Services/GetKeyID')).json.rows[0].result;
    const as = { key };
    expect((await rest(emu, 'POST', `${ES}/CreateUser`, { name: 'x' }, as)).text).toBe(
      'Unable to dispatch [ uri = /Resources/EntityServices/Services/CreateUser/]: Entity EntityServices does not exist or is not yet associated with a Thing',
    );
    await rest(emu, 'POST', `${ES}/AddVisibilityPermission`, { principal: 'Composer', principalType: 'Organization' });
    expect((await rest(emu, 'POST', `${ES}/CreateUser`, { name: 'x' }, as)).text).toBe(
      'Not authorized for ServiceInvoke on CreateUser in EntityServices',
    );
    await rest(emu, 'POST', `${ES}/AddRunTimePermission`, {
      principal: 'u',
      principalType: 'User',
      resource: 'CreateUser',
      type: 'ServiceInvoke',
    });
    expect((await rest(emu, 'POST', `${ES}/CreateUser`, { name: 'x' }, as)).text).toBe(
      'Not authorized for Create in Users',
    );
    expect(
      (await rest(emu, 'POST', `${WS}/SetConfigurationTable`, { tableName: 'BindProtectionSettings' }, as)).text,
    ).toBe(
      'Unable to dispatch [ uri = /Subsystems/WSCommunicationsSubsystem/Services/SetConfigurationTable/]: Entity WSCommunicationsSubsystem does not exist or is not yet associated with a Thing',
    );
    const expiry = await rest(emu, 'POST', 'ApplicationKeys/u-key/Services/GetExpirationDate', {}, as);
    expect(expiry.json.rows[0].result).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const bad = await rest(emu, 'POST', `${WS}/SetConfigurationTable`, {
      tableName: 'BindProtectionSettings',
      configurationTable: { rows: [{ bindProtectionPolicy: 'sometimes' }] },
    });
    expect(bad.status).toBe(400);
  });

  it('an explicit deny beats an allow; groups and organizations grant', async () => {
    const emu = await startThingWorxEmulator({
      state: {
        users: [{ name: 'u', groups: ['Ops'] }],
        appKeys: [{ name: 'k', keyId: 'u-key-id-0000001', user: 'u' }],
        organizations: [{ name: 'OpsOrg', members: ['Ops'] }],
        permissions: {
          entities: {
            'Resources/EntityServices': {
              visibility: ['OpsOrg'],
              runTime: [
                { principal: 'Ops', principalType: 'Group', resource: '*', type: 'ServiceInvoke', allow: true },
                { principal: 'u', principalType: 'User', resource: 'CreateThing', type: 'ServiceInvoke', allow: false },
              ],
            },
          },
        },
      },
    });
    emus.push(emu);
    const as = { key: 'u-key-id-0000001' };
    expect((await rest(emu, 'POST', `${ES}/GetEntityList`, {}, as)).status).toBe(200);
    expect(
      (await rest(emu, 'POST', `${ES}/CreateThing`, { name: 'a', thingTemplateName: 'RemoteThing' }, as)).text,
    ).toBe('Not authorized for ServiceInvoke on CreateThing in EntityServices');
    const r = await rest(emu, 'POST', `${ES}/CheckPermission`, { name: 'CreateThing', type: 'ServiceInvoke' }, as);
    expect(r.json.rows).toEqual([{ result: false }]);
  });

  it('the optional visibility check on bind refuses a Thing the key user cannot see', async () => {
    const emu = await startThingWorxEmulator({
      state: {
        users: [{ name: 'u' }],
        appKeys: [{ name: 'k', keyId: 'u-key-id-0000001', user: 'u' }],
        things: [
          { name: 'Mine', template: 'RemoteThing', owner: 'u' },
          { name: 'Theirs', template: 'RemoteThing' },
        ],
        subsystem: { enableVisibilityPermissionCheck: true },
      },
    });
    emus.push(emu);
    const e = await RawEdge.authed(emu, 'u-key-id-0000001');
    edges.push(e);
    expect((await e.bind(['Mine'])).header.code).toBe('SUCCESS');
    expect((await e.bind(['Theirs'])).header.code).toBe('FORBIDDEN');
    emu.store.subsystem.enableVisibilityPermissionCheck = false;
    expect((await e.bind(['Theirs'])).header.code).toBe('SUCCESS');
  });

  it('saves its state and starts again from it with the same keys, rights, Things and values', async () => {
    const emu = await bare();
    await setUp(emu);
    emu.addThings(['S1']);
    await rest(emu, 'POST', 'Things/S1/Services/AddPropertyDefinition', { name: 'v', type: 'NUMBER', logged: true });
    await rest(emu, 'PUT', 'Things/S1/Properties/v', { v: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'tpx-emu-'));
    try {
      const file = join(dir, 'state.json');
      emu.saveState(file);
      const again = await startThingWorxEmulator({ state: file });
      emus.push(again);
      expect(again.keyId('conn-key')).toBe(emu.keyId('conn-key'));
      expect(again.appKey).toBe(emu.appKey);
      expect(again.propertyValue('S1', 'v')).toBe(3);
      expect(again.history('S1', 'v')).toHaveLength(1);
      expect(again.store.subsystem.bindProtectionPolicy).toBe('last-in-wins');
      const key = again.keyId('conn-key');
      expect((await rest(again, 'POST', `${ES}/GetEntityList`, {}, { key })).status).toBe(200);
      expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
