/** WSCommunicationsSubsystem: configuration tables and endpoint sessions (live and ghost). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { nextEvent, RawEdge, rest } from './helpers.js';

const WS = 'Subsystems/WSCommunicationsSubsystem/Services';
let emu: ThingWorxEmulator;

beforeAll(async () => {
  emu = await startThingWorxEmulator({
    state: {
      users: [{ name: 'conn' }],
      appKeys: [
        { name: 'conn-key', keyId: 'conn-key-id-0001', user: 'conn' },
        { name: 'admin-key', keyId: 'admin-key-id-0001', user: 'Administrator' },
      ],
      defaultAppKey: 'admin-key',
      things: ['A', 'B', 'C'].map((name) => ({ name, template: 'RemoteThing', owner: 'conn' })),
      ghostSessions: [{ appKey: 'conn-key', things: ['A'], lastUsedDate: '2024-01-01T00:00:00Z' }],
    },
  });
});
afterAll(async () => {
  await emu?.close();
});

describe('ThingWorx emulator: WSCommunicationsSubsystem', () => {
  it('lists its configuration tables and their definitions; writes take effect at once', async () => {
    const tables = await rest(emu, 'POST', `${WS}/GetConfigurationTables`);
    expect(tables.json.rows.map((r: { name: string }) => r.name)).toEqual([
      'BindProtectionSettings',
      'ConnectionSettings',
    ]);
    const def = await rest(emu, 'POST', `${WS}/GetConfigurationTableDefinition`, {
      tableName: 'BindProtectionSettings',
    });
    expect(def.json.rows.map((r: { name: string }) => r.name)).toEqual([
      'bindProtectionPolicy',
      'enableVisibilityPermissionCheck',
    ]);
    const conn = await rest(emu, 'POST', `${WS}/GetConfigurationTable`, { tableName: 'ConnectionSettings' });
    expect(conn.json.rows[0]).toMatchObject({ idleConnectionTimeout: 60, authWaitTime: 15, requestTimeout: 30 });
    const set = await rest(emu, 'POST', `${WS}/SetConfigurationTableRows`, {
      tableName: 'BindProtectionSettings',
      values: { rows: [{ bindProtectionPolicy: 'Last in wins' }] },
    });
    expect(set.status).toBe(200);
    expect(emu.store.subsystem.bindProtectionPolicy).toBe('last-in-wins');
    expect((await rest(emu, 'POST', `${WS}/GetConfigurationTable`, { tableName: 'Nope' })).status).toBe(404);
    emu.setBindPolicy('first-in-wins');
  });

  it('lists live and ghost sessions with their binds and closes one by endpoint id', async () => {
    const edge = await RawEdge.authed(emu, emu.keyId('conn-key'));
    expect((await edge.bind(['B', 'C'])).header.code).toBe('SUCCESS');
    const all = await rest(emu, 'POST', `${WS}/QueryEndpointSessions`, { appKeyName: 'conn-key' });
    expect(all.json.rows).toHaveLength(2);
    const stale = await rest(emu, 'POST', `${WS}/QueryEndpointSessions`, {
      lastUsedBefore: Date.parse('2025-01-01T00:00:00Z'),
    });
    expect(stale.json.rows.map((r: { numberBoundThings: number }) => r.numberBoundThings)).toEqual([1]);
    expect(stale.json.rows[0]).toMatchObject({ numberConnections: 0 }); // the ghost has no socket
    const live = all.json.rows.find((r: { numberBoundThings: number }) => r.numberBoundThings === 2);
    expect(live).toMatchObject({
      userContext: 'conn',
      authenticationType: 'AUTH_THINGWORX_APPKEY',
      numberConnections: 1,
    });
    const bound = await rest(emu, 'POST', `${WS}/GetBoundThingsForEndpoint`, { endpointId: live.endpointId });
    expect(bound.json.rows.map((r: { name: string }) => r.name)).toEqual(['B', 'C']);
    const bad = await rest(emu, 'POST', `${WS}/CloseEndpointSessions`, {
      endpointId: live.endpointId,
      appKeyName: 'x',
    });
    expect(bad.status).toBe(400);
    expect((await rest(emu, 'POST', `${WS}/CloseEndpointSessions`, {})).status).toBe(400);
    const unbound = nextEvent(emu, 'unbind', (e: { reason: string }) => e.reason === 'closedByAdmin');
    const closed = await rest(emu, 'POST', `${WS}/CloseEndpointSessions`, { endpointId: live.endpointId });
    expect(closed.json.rows).toEqual([{ result: 1 }]);
    expect(await unbound).toMatchObject({ names: ['B', 'C'] });
    await edge.closed;
    expect(emu.boundThings()).toEqual(['A']);
    expect(emu.state().ghostSessions).toEqual([expect.objectContaining({ appKey: 'conn-key', things: ['A'] })]);
  });
});
