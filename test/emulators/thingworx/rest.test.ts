/** The emulator's REST API with ThingWorx's rules (undici, the emulator's CA). */
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { rest } from './helpers.js';

let emu: ThingWorxEmulator;

beforeAll(async () => {
  emu = await startThingWorxEmulator({
    state: {
      users: [{ name: 'alice', password: 'pw' }],
      appKeys: [{ name: 'alice-key', keyId: 'alice-key-id-00001', user: 'alice' }],
    },
  });
});
afterAll(async () => {
  await emu?.close();
});

describe('ThingWorx emulator: REST rules', () => {
  it('has the system templates from the start', async () => {
    const r = await rest(emu, 'POST', 'Resources/EntityServices/Services/GetEntityList', {
      type: 'ThingTemplate',
      maxItems: 10,
    });
    expect(r.status).toBe(200);
    expect(r.json.dataShape.fieldDefinitions.name).toMatchObject({ name: 'name', baseType: 'STRING' });
    expect(r.json.rows.map((x: { name: string }) => x.name)).toEqual([
      'GenericThing',
      'RemoteThing',
      'RemoteThingWithFileTransfer',
    ]);
    const d = await rest(emu, 'POST', 'ThingTemplates/RemoteThing/Services/GetPropertyDefinitions');
    expect(d.json.rows.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(['isConnected', 'lastConnection', 'name']),
    );
  });

  it('authenticates by appKey header or Basic; refuses no key, a bad key and ?appKey=', async () => {
    expect(
      (await rest(emu, 'POST', 'Resources/CurrentSessionInfo/Services/GetCurrentUser', {}, { key: null })).status,
    ).toBe(401);
    expect(
      (await rest(emu, 'POST', 'Resources/CurrentSessionInfo/Services/GetCurrentUser', {}, { key: 'nope' })).status,
    ).toBe(401);
    const q = await rest(
      emu,
      'POST',
      `Resources/CurrentSessionInfo/Services/GetCurrentUser?appKey=${emu.appKey}`,
      {},
      { key: null },
    );
    expect(q).toMatchObject({ status: 401, text: 'ApplicationKey Is Not Allowed As A URL Parameter' });
    const me = await rest(
      emu,
      'POST',
      'Resources/CurrentSessionInfo/Services/GetCurrentUser',
      {},
      { key: emu.keyId('alice-key') },
    );
    expect(me.json.rows).toEqual([{ result: 'alice' }]);
    const basic = await rest(
      emu,
      'POST',
      'Resources/CurrentSessionInfo/Services/GetCurrentUser',
      {},
      {
        key: null,
        headers: { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
      },
    );
    expect(basic.json.rows).toEqual([{ result: 'alice' }]);
  });

  it('applies the CSRF content-type rule to POST, answers HTML without Accept JSON, 405 for GET on a service', async () => {
    const r = await rest(
      emu,
      'POST',
      'Resources/CurrentSessionInfo/Services/GetCurrentUser',
      {},
      { headers: { 'content-type': 'text/plain' } },
    );
    expect(r.status).toBe(403);
    const html = await rest(
      emu,
      'POST',
      'Resources/CurrentSessionInfo/Services/GetCurrentUser',
      {},
      { headers: { accept: 'text/html' } },
    );
    expect(html.status).toBe(200);
    expect(html.text).toMatch(/^<html>.*Administrator/);
    expect((await rest(emu, 'GET', 'Resources/CurrentSessionInfo/Services/GetCurrentUser')).status).toBe(405);
    const bad = await request(`${emu.restUrl}/Thingworx/Things`, {
      method: 'GET',
      headers: { appKey: emu.appKey, accept: 'application/json' },
      dispatcher: new (await import('undici')).Agent({ connect: { ca: readFileSync(emu.caFile) } }),
    });
    expect(bad.statusCode).toBe(200);
    await bad.body.text();
  });

  it('creates a template and a Thing, adds properties, writes and reads values, keeps logged history', async () => {
    const es = 'Resources/EntityServices/Services';
    let r = await rest(emu, 'POST', `${es}/CreateThingTemplate`, { name: 'TT', thingTemplateName: 'RemoteThing' });
    expect(r).toMatchObject({ status: 200, text: '' });
    r = await rest(emu, 'POST', 'ThingTemplates/TT/Services/AddPropertyDefinition', {
      name: 'temp',
      type: 'NUMBER',
      logged: true,
    });
    expect(r.status).toBe(200);
    r = await rest(emu, 'POST', 'ThingTemplates/TT/Services/AddPropertyDefinitions', {
      ignoreInvalidDefinitions: true,
      values: {
        rows: [
          { name: 'label', baseType: 'STRING' },
          { name: 'temp', baseType: 'NUMBER' },
          { name: 'bad', baseType: 'NOPE' },
        ],
      },
    });
    expect(r.json.rows.map((x: { success: boolean }) => x.success)).toEqual([true, false, false]);
    r = await rest(emu, 'POST', 'ThingTemplates/TT/Services/AddPropertyDefinition', { name: 'temp', type: 'NUMBER' });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/^Unable to Invoke Service AddPropertyDefinition on TT : Property \[temp\] already exists/);
    expect((await rest(emu, 'POST', `${es}/CreateThing`, { name: 'X', thingTemplateName: 'Nope' })).status).toBe(404);
    expect((await rest(emu, 'POST', `${es}/CreateThing`, { name: 'X1', thingTemplateName: 'TT' })).status).toBe(200);
    expect((await rest(emu, 'POST', `${es}/CreateThing`, { name: 'X1', thingTemplateName: 'TT' })).status).toBe(403);
    expect((await rest(emu, 'GET', 'Things/X1')).json).toMatchObject({
      name: 'X1',
      thingTemplate: 'TT',
      enabled: false,
    });
    expect((await rest(emu, 'POST', 'Things/X1/Services/EnableThing')).status).toBe(200);
    expect((await rest(emu, 'POST', 'Things/X1/Services/RestartThing')).status).toBe(200);
    expect((await rest(emu, 'GET', 'Things/X1')).json.enabled).toBe(true);
    expect((await rest(emu, 'PUT', 'Things/X1/Properties/temp', { temp: '21.5' })).status).toBe(200);
    expect((await rest(emu, 'GET', 'Things/X1/Properties/temp')).json.rows).toEqual([{ temp: 21.5 }]);
    r = await rest(emu, 'POST', 'Things/X1/Services/UpdatePropertyValues', {
      values: {
        rows: [
          { name: 'temp', value: 22, time: 1000, quality: 'GOOD' },
          { name: 'label', value: 'a', time: 1000 },
        ],
      },
    });
    expect(r.status).toBe(200);
    r = await rest(emu, 'POST', 'Things/X1/Services/SetPropertyValues', { values: { rows: [{ label: 'b' }] } });
    expect(r.status).toBe(200);
    r = await rest(emu, 'POST', 'Things/X1/Services/GetPropertyValues');
    expect(r.json.rows[0]).toMatchObject({ temp: 22, label: 'b', isConnected: false, name: 'X1', thingTemplate: 'TT' });
    r = await rest(emu, 'POST', 'Things/X1/Services/QueryPropertyHistory', {});
    expect(r.json.rows.map((x: { temp: number }) => x.temp)).toEqual([21.5, 22]); // newest first (22 was stored with time 1000)
    // Two values of one property in the same millisecond: both kept, in the order they came.
    r = await rest(emu, 'POST', 'Things/X1/Services/UpdatePropertyValues', {
      values: {
        rows: [
          { name: 'temp', value: 23, time: 2000 },
          { name: 'temp', value: 24, time: 2000 },
        ],
      },
    });
    expect(r.status).toBe(200);
    r = await rest(emu, 'POST', 'Things/X1/Services/QueryPropertyHistory', { oldestFirst: true });
    expect(r.json.rows.map((x: { temp: number }) => x.temp)).toEqual([22, 23, 24, 21.5]);
    expect((await rest(emu, 'PUT', 'Things/X1/Properties/isConnected', { isConnected: true })).status).toBe(403);
    expect((await rest(emu, 'GET', 'Things/X1/Properties/nope')).status).toBe(404);
    r = await rest(emu, 'POST', 'Things/X1/Services/AddPropertyDefinition', { name: 'extra', type: 'STRING' });
    expect(r.status).toBe(200);
    expect(
      (await rest(emu, 'GET', 'Things/X1/PropertyDefinitions')).json.rows.some(
        (x: { name: string }) => x.name === 'extra',
      ),
    ).toBe(true);
    r = await rest(emu, 'POST', `${es}/DeleteThingTemplate`, { name: 'TT' });
    expect(r.status).toBe(500);
    expect((await rest(emu, 'DELETE', 'Things/X1')).status).toBe(200);
    expect((await rest(emu, 'GET', 'Things/X1')).text).toBe('Entity Not Found : [X1]');
    expect((await rest(emu, 'POST', `${es}/DeleteThingTemplate`, { name: 'TT' })).status).toBe(200);
    expect((await rest(emu, 'POST', `${es}/DeleteThingTemplate`, { name: 'RemoteThing' })).status).toBe(403);
  });

  it('refuses malformed input with a clear status and changes nothing', async () => {
    expect((await rest(emu, 'GET', 'Things/%E0%A4%A')).status).toBe(400);
    const notObject = await request(`${emu.restUrl}/Thingworx/Resources/EntityServices/Services/CreateThing`, {
      method: 'POST',
      headers: { appKey: emu.appKey, accept: 'application/json', 'content-type': 'application/json' },
      body: '[1,2]',
      dispatcher: new (await import('undici')).Agent({ connect: { ca: readFileSync(emu.caFile) } }),
    });
    expect(notObject.statusCode).toBe(400);
    expect(await notObject.body.text()).toBe('Unable to parse the JSON request body');
    expect(
      (await rest(emu, 'POST', 'Resources/EntityServices/Services/CreateThing', { thingTemplateName: 'RemoteThing' }))
        .text,
    ).toBe('Parameter [name] is required');
    expect((await rest(emu, 'POST', 'Resources/EntityServices/Services/NoSuchService')).status).toBe(404);
    expect((await rest(emu, 'POST', 'Resources/NoSuchResource/Services/X')).status).toBe(404);
    expect(emu.store.things.size).toBe(0);
  });

  it('keeps the last 1,000 values of a logged property', async () => {
    const { HISTORY_LIMIT } = await import('../../../src/emulators/thingworx/model.js');
    emu.store.addTemplate('H', 'RemoteThing', '', 'Administrator', [{ name: 'h', baseType: 'NUMBER', isLogged: true }]);
    const t = emu.store.addThing('HT', 'H', 'Administrator');
    const rows = Array.from({ length: HISTORY_LIMIT + 150 }, (_, i) => ({ name: 'h', value: i, time: i + 1 }));
    emu.platform.updateValues(t, rows);
    const h = emu.history('HT', 'h');
    expect(h.length).toBeGreaterThanOrEqual(HISTORY_LIMIT);
    expect(h.length).toBeLessThanOrEqual(HISTORY_LIMIT + 100);
    expect(h.at(-1)?.value).toBe(HISTORY_LIMIT + 149);
    emu.store.things.delete('HT');
    emu.store.templates.delete('H');
  });

  it('pages QueryImplementingThingsOptimizedWithTotalCount with isConnected', async () => {
    emu.addThings(['Q1', 'Q2', 'Q3']);
    const r = await rest(
      emu,
      'POST',
      'ThingTemplates/RemoteThing/Services/QueryImplementingThingsOptimizedWithTotalCount',
      {
        maxItems: 2,
        offset: 1,
        nameMask: 'Q*',
        propertyNames: { rows: [{ name: 'isConnected' }] },
      },
    );
    expect(r.json.rows[0].totalCount).toBe(3);
    expect(r.json.rows[0].rootEntityList.rows).toEqual([
      { name: 'Q2', description: '', thingTemplate: 'RemoteThing', isConnected: false },
      { name: 'Q3', description: '', thingTemplate: 'RemoteThing', isConnected: false },
    ]);
  });

  it('refuses a state whose references do not resolve, with a clear error', async () => {
    await expect(startThingWorxEmulator({ state: { things: [{ name: 'a', template: 'Nope' }] } })).rejects.toThrow(
      'Invalid emulator state: Thing a has the unknown template Nope.',
    );
    await expect(
      startThingWorxEmulator({ state: { appKeys: [{ name: 'k', keyId: 'x', user: 'ghost' }] } }),
    ).rejects.toThrow(/refers to the unknown user ghost/);
    await expect(startThingWorxEmulator({ state: { defaultAppKey: 'nope' } })).rejects.toThrow(/defaultAppKey nope/);
    await expect(
      startThingWorxEmulator({ state: { subsystem: { bindProtectionPolicy: 'maybe' } } as never }),
    ).rejects.toThrow(/bindProtectionPolicy/);
  });

  it('serves TLS 1.2 and newer only by default', async () => {
    const ok = await handshake(emu, 'TLSv1.2');
    expect(ok).toBe('TLSv1.2');
    await expect(handshake(emu, 'TLSv1.1')).rejects.toThrow();
  });

  it('knobs: plain HTTP, and TLS 1.1 only', async () => {
    const plain = await startThingWorxEmulator({ state: { transport: { tls: 'plain-http' } } });
    try {
      expect(plain.restUrl).toMatch(/^http:\/\//);
      expect(plain.wsUrl).toMatch(/^ws:\/\//);
      expect(plain.caFile).toBe('');
      expect(
        (await rest(plain, 'POST', 'Resources/CurrentSessionInfo/Services/GetCurrentUser')).json.rows[0].result,
      ).toBe('Administrator');
    } finally {
      await plain.close();
    }
    const old = await startThingWorxEmulator({ tls: 'tls1.1-only' });
    try {
      await expect(handshake(old, 'TLSv1.2')).rejects.toThrow();
      expect(await handshake(old, 'TLSv1.1')).toBe('TLSv1.1');
    } finally {
      await old.close();
    }
  });
});

function handshake(e: ThingWorxEmulator, version: 'TLSv1.1' | 'TLSv1.2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port: e.port,
      ca: readFileSync(e.caFile),
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
      servername: 'localhost',
    });
    s.once('secureConnect', () => {
      const v = s.getProtocol() ?? '';
      s.end();
      resolve(v);
    });
    s.once('error', reject);
  });
}
