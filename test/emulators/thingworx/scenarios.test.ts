/** Each scenario file of examples/thingworx/ gives the platform behaviour it describes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { ROOT } from '../../helpers/cli.js';
import { RawEdge, rest } from './helpers.js';

const CONNECTOR = 'tpx-connector-key';
const ES = 'Resources/EntityServices/Services';
const emus: ThingWorxEmulator[] = [];
const edges: RawEdge[] = [];

async function scenario(name: string): Promise<ThingWorxEmulator> {
  const emu = await startThingWorxEmulator({ state: join(ROOT, 'examples', 'thingworx', `${name}.json`) });
  emus.push(emu);
  return emu;
}
afterEach(async () => {
  for (const e of edges.splice(0)) await e.close();
  for (const e of emus.splice(0)) await e.close();
});

const asConnector = (emu: ThingWorxEmulator) => ({ key: emu.keyId(CONNECTOR) });
const admin = (emu: ThingWorxEmulator) => ({ key: emu.keyId('admin-key') });

describe('ThingWorx emulator: scenario files', () => {
  it('fully-set-up: the connector key may list, create and bind; the template has every property', async () => {
    const emu = await scenario('fully-set-up');
    expect(emu.appKey).toBe(emu.keyId(CONNECTOR));
    const o = asConnector(emu);
    expect(
      (await rest(emu, 'POST', `${ES}/GetEntityList`, { type: 'ThingTemplate', nameMask: 'actility*' }, o)).json.rows,
    ).toHaveLength(1);
    expect(
      (await rest(emu, 'POST', `${ES}/CreateThingTemplate`, { name: 'probeTT', thingTemplateName: 'RemoteThing' }, o))
        .status,
    ).toBe(200);
    // no ServiceInvoke on DeleteThingTemplate, but the owner may DELETE its entity
    expect((await rest(emu, 'POST', `${ES}/DeleteThingTemplate`, { name: 'probeTT' }, o)).status).toBe(403);
    expect((await rest(emu, 'DELETE', 'ThingTemplates/probeTT', undefined, o)).status).toBe(200);
    expect(
      (await rest(emu, 'POST', `${ES}/CreateThing`, { name: 'DEV1', thingTemplateName: 'actilityThingTemplateSF' }, o))
        .status,
    ).toBe(200);
    const defs = await rest(
      emu,
      'POST',
      'ThingTemplates/actilityThingTemplateSF/Services/GetPropertyDefinitions',
      {},
      o,
    );
    expect(defs.json.rows.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining([
        'uplinkData',
        'downlink',
        'DevEUI',
        'lastUplinkTime',
        'FPort',
        'FCntUp',
        'payloadHex',
        'RSSI',
        'SNR',
        'spreadingFactor',
        'downlinkStatus',
      ]),
    );
    expect(defs.json.rows.find((r: { name: string }) => r.name === 'uplinkData')).toMatchObject({
      baseType: 'JSON',
      isLogged: true,
    });
    expect(defs.json.rows.find((r: { name: string }) => r.name === 'downlink')).toMatchObject({
      isRemote: true,
      isReadOnly: false,
    });
    const dt = await rest(
      emu,
      'POST',
      'Resources/CurrentSessionInfo/Services/GetDesignTimeCollectionPermissions',
      {},
      o,
    );
    const allowed = dt.json.rows
      .filter((r: { isPermitted: boolean }) => r.isPermitted)
      .map((r: { name: string; permissionName: string }) => `${r.name}:${r.permissionName}`);
    expect(allowed.sort()).toEqual(['ThingTemplates:Create', 'ThingTemplates:Read', 'Things:Create', 'Things:Read']);
    const mask = { type: 'Thing', permissionType: 'Delete' };
    const own = await rest(emu, 'POST', `${ES}/GetEntityListWithPermissionMask`, mask, admin(emu));
    expect(own.json.rows.map((r: { name: string }) => r.name)).toEqual(['DEV1']);
    const cp = await rest(emu, 'POST', `${ES}/CheckPermission`, { name: 'GetEntityList', type: 'ServiceInvoke' }, o);
    expect(cp).toMatchObject({
      status: 403,
      text: 'Not authorized for ServiceInvoke on CheckPermission in EntityServices',
    });
    const e = await RawEdge.authed(emu, emu.keyId(CONNECTOR));
    edges.push(e);
    expect((await e.bind(['DEV1'])).header.code).toBe('SUCCESS');
  });

  it.each([
    ['no-get-entity-list', 'GetEntityList', { type: 'Thing' }],
    ['no-create-thing', 'CreateThing', { name: 'D', thingTemplateName: 'actilityThingTemplateSF' }],
    ['no-create-thing-template', 'CreateThingTemplate', { name: 'T', thingTemplateName: 'RemoteThing' }],
  ])('%s: 403 "Not authorized for ServiceInvoke on %s in EntityServices"', async (name, service, body) => {
    const emu = await scenario(name);
    const r = await rest(emu, 'POST', `${ES}/${service}`, body, asConnector(emu));
    expect(r).toMatchObject({ status: 403, text: `Not authorized for ServiceInvoke on ${service} in EntityServices` });
  });

  it('no-visibility: the reference document text over REST and over AlwaysOn', async () => {
    const emu = await scenario('no-visibility');
    const text =
      'Unable to dispatch [ uri = /Resources/EntityServices/Services/GetEntityList/]: Entity EntityServices does not exist or is not yet associated with a Thing';
    expect(await rest(emu, 'POST', `${ES}/GetEntityList`, { type: 'Thing' }, asConnector(emu))).toMatchObject({
      status: 404,
      text,
    });
    const e = await RawEdge.authed(emu, emu.keyId(CONNECTOR));
    edges.push(e);
    const r = await e.call('POST', {
      kind: 'request',
      entityType: 'RESOURCE',
      entityName: 'EntityServices',
      characteristic: 'SERVICES',
      name: 'GetEntityList',
      headers: {},
      params: null,
    });
    expect(r.body).toMatchObject({ reason: text });
  });

  it('no-collection-visibility and no-design-time-create', async () => {
    let emu = await scenario('no-collection-visibility');
    const r = await rest(emu, 'GET', 'ThingTemplates/actilityThingTemplateSF', undefined, asConnector(emu));
    expect(r).toMatchObject({ status: 404, text: 'Entity Not Found : [actilityThingTemplateSF]' });
    emu = await scenario('no-design-time-create');
    const c = await rest(
      emu,
      'POST',
      `${ES}/CreateThing`,
      { name: 'D', thingTemplateName: 'actilityThingTemplateSF' },
      asConnector(emu),
    );
    expect(c).toMatchObject({ status: 403, text: 'Not authorized for Create in Things' });
  });

  it('expired-key: REST 401 and AUTH 0x81; the expiry is visible to an administrator', async () => {
    const emu = await scenario('expired-key');
    expect(
      (await rest(emu, 'POST', 'Resources/CurrentSessionInfo/Services/GetCurrentUser', {}, asConnector(emu))).status,
    ).toBe(401);
    const e = await RawEdge.connect(emu);
    edges.push(e);
    expect((await e.call('AUTH', { kind: 'auth', claims: { appKey: emu.appKey } })).header.code).toBe('UNAUTHORIZED');
    const info = await rest(
      emu,
      'POST',
      'Users/tpx-connector/Services/GetApplicationKeyExpirationInfo',
      {},
      admin(emu),
    );
    expect(info.json.rows[0]).toMatchObject({
      name: 'tpx-connector-key',
      expired: true,
      expirationDate: Date.parse('2020-01-01T00:00:00Z'),
    });
  });

  it('administrator-key, missing-template, template-missing-property', async () => {
    let emu = await scenario('administrator-key');
    expect((await rest(emu, 'POST', 'Resources/CurrentSessionInfo/Services/GetCurrentUser')).json.rows[0].result).toBe(
      'Administrator',
    );
    emu = await scenario('missing-template');
    const l = await rest(emu, 'POST', `${ES}/GetEntityList`, {
      type: 'ThingTemplate',
      nameMask: 'actilityThingTemplateSF',
    });
    expect(l.json.rows).toEqual([]);
    emu = await scenario('template-missing-property');
    const d = await rest(emu, 'POST', 'ThingTemplates/actilityThingTemplateSF/Services/GetPropertyDefinitions');
    expect(d.json.rows.map((r: { name: string }) => r.name)).not.toContain('downlink');
  });

  it('plain-http and tls-1.1-only', async () => {
    const plain = await scenario('plain-http');
    expect(plain.restUrl.startsWith('http://')).toBe(true);
    const old = await scenario('tls-1.1-only');
    const err = await new Promise<Error | null>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port: old.port,
        ca: readFileSync(old.caFile),
        minVersion: 'TLSv1.2',
        servername: 'localhost',
      });
      s.once('secureConnect', () => {
        s.end();
        resolve(null);
      });
      s.once('error', resolve);
    });
    expect(err).toBeInstanceOf(Error);
  });

  it('first-in-wins-ghost: the ghost holds the binds until an administrator closes it', async () => {
    const emu = await scenario('first-in-wins-ghost');
    const WS = 'Subsystems/WSCommunicationsSubsystem/Services';
    const cfg = await rest(emu, 'POST', `${WS}/GetConfigurationTable`, { tableName: 'BindProtectionSettings' });
    expect(cfg.json.rows[0]).toMatchObject({ bindProtectionPolicy: 'FirstInWins' });
    const sessions = await rest(emu, 'POST', `${WS}/QueryEndpointSessions`, { appKeyName: CONNECTOR });
    expect(sessions.json.rows).toHaveLength(1);
    expect(sessions.json.rows[0]).toMatchObject({
      appKeyName: CONNECTOR,
      userContext: 'tpx-connector',
      numberBoundThings: 2,
    });
    const bound = await rest(emu, 'POST', `${WS}/GetBoundThingsForEndpoint`, {
      endpointId: sessions.json.rows[0].endpointId,
    });
    expect(bound.json.rows.map((r: { name: string }) => r.name)).toEqual(['0018B20000000B20', '0018B20000000B21']);
    const e = await RawEdge.authed(emu, emu.keyId(CONNECTOR));
    edges.push(e);
    const r = await e.bind(['0018B20000000B20']);
    expect(r.header.code).toBe('FORBIDDEN');
    expect((r.body as { reason: string }).reason).toMatch(
      /Binding failed, see server log for more information V1BindMessage \[/,
    );
    expect((await rest(emu, 'POST', `${WS}/QueryEndpointSessions`, {}, asConnector(emu))).status).toBe(404);
    const closed = await rest(emu, 'POST', `${WS}/CloseEndpointSessions`, {
      appKeyName: CONNECTOR,
      hasBoundThings: true,
    });
    expect(closed.json.rows).toEqual([{ result: 1 }]);
    expect((await e.bind(['0018B20000000B20'])).header.code).toBe('SUCCESS');
  });
});
