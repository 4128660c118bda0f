/**
 * Two connectors on one ThingWorx key (issue 11, on call): every session of the key is listed, those holding no
 * binds too, live ones told from ghosts, and more than one live connector is a failure naming the competitor.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AlwaysOnClient } from '../../src/alwayson/client.js';
import { BindRejectedError } from '../../src/alwayson/errors.js';
import { sayReport } from '../../src/cli/commands/thingworx-check.js';
import { startThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingParkClient } from '../../src/thingpark/api.js';
import { runThingWorxChecks } from '../../src/thingworx/check.js';
import { hostedToSameHost } from '../../src/thingworx/check-connectors.js';
import { holdersOfKey, listSessions, sessionState, thingHolders } from '../../src/thingworx/check-sessions.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { ADMIN_KEY, CONNECTOR_KEY, fullySetUp } from './scenario-states.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

async function twoConnectors(policy: 'first-in-wins' | 'last-in-wins' = 'first-in-wins') {
  const state = fullySetUp();
  state.subsystem = { ...state.subsystem, bindProtectionPolicy: policy };
  state.things = [
    { name: '0018B20000000B20', template: 'actilityThingTemplateSF' },
    { name: '0018B20000000B21', template: 'actilityThingTemplateSF' },
  ];
  const emu = await startThingWorxEmulator({ state });
  cleanups.push(() => emu.close());
  const client = () => {
    const c = new AlwaysOnClient({ url: emu.wsUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile) });
    c.on('warning', () => undefined);
    cleanups.push(() => c.close());
    return c;
  };
  const a = client();
  await a.start();
  await a.bind(['0018B20000000B20', '0018B20000000B21']);
  const b = client();
  await b.start();
  // Under First in wins bridge B is refused and sits connected, holding nothing.
  if (policy === 'first-in-wins') await expect(b.bind(['0018B20000000B20'])).rejects.toBeInstanceOf(BindRejectedError);
  else await b.bind(['0018B20000000B20']);
  return { emu, a, b };
}

function checks(emu: ThingWorxEmulator, extra: Partial<Parameters<typeof runThingWorxChecks>[0]> = {}) {
  return runThingWorxChecks({
    url: emu.restUrl,
    appKey: CONNECTOR_KEY,
    adminKey: ADMIN_KEY,
    ca: readFileSync(emu.caFile),
    timeoutMs: 5000,
    ...extra,
  });
}

describe('live connectors of a key', () => {
  it('First in wins: B holds no binds and is still counted; 2 live connectors fail, naming B', async () => {
    const { emu } = await twoConnectors();
    const raw = await checks(emu);
    const report = sayReport(raw);
    const item = report.items.find((i) => i.id === 'connectors')!;
    expect(item.status, item.detail).toBe('failed');
    expect(item.detail).toMatch(
      /^2 live connectors use key tpx-connector-key: session \S+ \(from 127\.0\.0\.1:\d+, since /,
    );
    const sessions = (item.data as { sessions: { endpointId: string; numberBoundThings: number }[] }).sessions;
    expect(sessions.map((s) => s.numberBoundThings).sort()).toEqual([0, 2]);
    const idle = sessions.find((s) => s.numberBoundThings === 0)!;
    expect((item.data as { competing: string[] }).competing).toEqual([idle.endpointId]);
    expect(item.fix).toContain(`the competing session ${idle.endpointId} (from 127.0.0.1:`);
    expect(item.fix).toMatch(/0 binds\): it holds no binds, they were refused/);
    expect(report.ok).toBe(false);
    // The ghost item only counts sessions holding binds, and these are live.
    expect(report.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({ status: 'warned' });
    expect(report.items.find((i) => i.id === 'hosted-connection')).toMatchObject({
      status: 'skipped',
      detail: /TPX_THINGPARK_URL/,
    });
  });

  it("another key's live connector holding the device Things competes with this key's (B refused)", async () => {
    const state = fullySetUp();
    state.subsystem = { ...state.subsystem, bindProtectionPolicy: 'first-in-wins' };
    state.things = [{ name: '0018B20000000B20', template: 'actilityThingTemplateSF' }];
    const emu = await startThingWorxEmulator({ state });
    cleanups.push(() => emu.close());
    const open = async (appKey: string) => {
      const c = new AlwaysOnClient({ url: emu.wsUrl, appKey, ca: readFileSync(emu.caFile) });
      c.on('warning', () => undefined);
      cleanups.push(() => c.close());
      await c.start();
      return c;
    };
    await (await open(ADMIN_KEY)).bind(['0018B20000000B20']);
    await expect((await open(CONNECTOR_KEY)).bind(['0018B20000000B20'])).rejects.toBeInstanceOf(BindRejectedError);
    const item = sayReport(await checks(emu)).items.find((i) => i.id === 'connectors')!;
    expect(item.status).toBe('failed');
    expect(item.detail).toMatch(
      /^1 live connector uses key tpx-connector-key: session .*0 binds\)\. 1 live session\(s\) of other keys also bind device Things: key admin-key session .*1 bind\)/,
    );
  });

  it('one connector with pipeCount 2 is one connector, not two', async () => {
    const { emu } = await twoConnectors('last-in-wins');
    const item = (await checks(emu, { pipeCount: 2 })).items.find((i) => i.id === 'connectors')!;
    expect(item).toMatchObject({ status: 'passed' });
    expect(item.detail).toMatch(/^1 live connector uses key tpx-connector-key/);
  });

  it('an active Actility-hosted connection to the same host is named with the command that stops it', async () => {
    const { emu } = await twoConnectors();
    const tp = await startThingParkEmulator({ openingDelayMs: 0 });
    cleanups.push(() => tp.close());
    const api = new ThingParkClient({ url: tp.url, clientId: tp.clientId, clientSecret: tp.clientSecret });
    const host = new URL(emu.restUrl).host;
    const mk = (name: string, hostName: string, active = true) =>
      api.createConnection({
        connectorId: 'actility-thingworx-iot',
        name,
        active,
        configuration: { hostName, applicationKey: CONNECTOR_KEY, thingTemplateName: 'actilityThingTemplateSF' },
      });
    const hosted = await mk('Actility ThingWorx Connection', host);
    await mk('Switched off', host, false);
    await mk('Elsewhere', 'twx.example.com:8443');
    const raw = await checks(emu, { hostedConnections: () => api.listConnections() });
    const report = sayReport(raw);
    const item = report.items.find((i) => i.id === 'hosted-connection')!;
    expect(item.status).toBe('failed');
    expect(item.detail).toContain(`${hosted.id} "Actility ThingWorx Connection" (OPENED) points at 127.0.0.1:`);
    expect(item.fix).toContain(`tpx connection update ${hosted.id} --active false`);
    const connectors = report.items.find((i) => i.id === 'connectors')!;
    expect(connectors.fix).toContain(`Stop connection ${hosted.id} "Actility ThingWorx Connection"`);
    // The library names no command: the CLI words the phrase.
    expect(JSON.stringify(raw.items.find((i) => i.id === 'hosted-connection'))).not.toContain('tpx connection');
  });

  it('host matching: host:port, a URL, the default port, case; not another port or an inactive one', () => {
    const c = (hostName: string, extra: Record<string, unknown> = {}) => ({
      id: hostName,
      name: hostName,
      connectorId: 'actility-thingworx-iot',
      active: true,
      configuration: { hostName },
      ...extra,
    });
    const list = [
      c('TWX.example.com:443'),
      c('https://twx.example.com'),
      c('twx.example.com'),
      c('twx.example.com:8443'),
      c('twx.example.com:443', { active: false }),
      c('twx.example.com:443', { connectorId: 'actility-http-iot' }),
    ];
    expect(hostedToSameHost(list, 'https://twx.example.com').map((x) => x.id)).toEqual([
      'TWX.example.com:443',
      'https://twx.example.com',
      'twx.example.com',
    ]);
  });

  it('live or ghost: connections by default, last use when asked or when connections are not reported', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const old = '2026-12-03T11:00:00.000Z';
    expect(sessionState({ numberConnections: 1, lastUsedDate: old }, { now })).toEqual({
      state: 'live',
      stateBy: 'connections',
    });
    expect(sessionState({ numberConnections: 0 }, { now })).toEqual({ state: 'ghost', stateBy: 'connections' });
    expect(sessionState({ numberConnections: 1, lastUsedDate: old }, { now, basis: 'last-used' })).toEqual({
      state: 'ghost',
      stateBy: 'last-used',
    });
    expect(sessionState({ lastUsedDate: old }, { now, idleMs: 2 * 3_600_000 })).toEqual({
      state: 'live',
      stateBy: 'last-used',
    });
    expect(sessionState({}, { now })).toEqual({ state: 'unknown', stateBy: 'none' });
  });

  it('lists sessions without binds, ghosts, and who holds each Thing', async () => {
    const { emu } = await twoConnectors();
    emu.faults.ghostSession(['0018B20000000C30'], 'tpx-connector-key');
    const admin = new ThingWorxRest({ url: emu.restUrl, appKey: ADMIN_KEY, ca: readFileSync(emu.caFile) });
    const rest = new ThingWorxRest({ url: emu.restUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile) });
    cleanups.push(() => admin.close());
    cleanups.push(() => rest.close());
    const all = (await listSessions(admin))!;
    expect(all.map((s) => `${s.state}:${s.numberBoundThings}`).sort()).toEqual(['ghost:1', 'live:0', 'live:2']);
    const h = await thingHolders(rest, admin, ['0018B20000000B20', '0018B20000000C30', 'Nobody'], {
      keyName: 'tpx-connector-key',
    });
    expect(h.map((x) => [x.thing, x.bound, x.holder])).toEqual([
      ['0018B20000000B20', true, 'this-key-competing'],
      ['0018B20000000C30', true, 'ghost'],
      ['Nobody', false, undefined],
    ]);
    expect(h[0]!.connectorsOfKey).toBe(2);
    // Without an administrator's key: bound or not, from IsRemoteThingBound (the connector's user may not run it
    // here), else from the Thing's isConnected.
    const plain = await thingHolders(rest, undefined, ['0018B20000000B20', 'X'], { isConnected: { X: false } });
    expect(plain.map((x) => [x.bound, x.sessionsListed])).toEqual([
      [undefined, false],
      [false, false],
    ]);
    expect((await thingHolders(admin, undefined, ['0018B20000000B20']))[0]!.bound).toBe(true);
  });

  it("holdersOfKey: the key's name asked once and used; a key whose name cannot be asked still gets the holders", async () => {
    const { emu } = await twoConnectors();
    const admin = new ThingWorxRest({ url: emu.restUrl, appKey: ADMIN_KEY, ca: readFileSync(emu.caFile) });
    const own = new ThingWorxRest({ url: emu.restUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile) });
    cleanups.push(() => admin.close());
    cleanups.push(() => own.close());
    let asked = 0;
    emu.events.on('rest', (e: { path: string }) => {
      if (e.path.includes('GetApplicationKeyExpirationInfo')) asked += 1;
    });
    const lookup = holdersOfKey({ own, appKey: CONNECTOR_KEY, admin, pipeCount: 1 });
    for (let i = 0; i < 2; i++) {
      const [h] = await lookup(['0018B20000000B20'], { askBound: false });
      expect(h).toMatchObject({ bound: true, holder: 'this-key-competing', connectorsOfKey: 2 });
    }
    expect(asked).toBe(1);
    // The name's request fails (not a ThingWorx answer: the connection): the holder is still named, its relation
    // to this key unknown, and the name is asked again next time.
    let fail = true;
    const flaky = {
      service: own.service.bind(own),
      getCurrentUser: () => (fail ? Promise.reject(new Error('socket hang up')) : own.getCurrentUser()),
    };
    const again = holdersOfKey({ own: flaky, appKey: CONNECTOR_KEY, admin, pipeCount: 1 });
    expect((await again(['0018B20000000B20']))[0]).toMatchObject({ bound: true, holder: 'unknown' });
    fail = false;
    expect((await again(['0018B20000000B20']))[0]).toMatchObject({ holder: 'this-key-competing' });
  });
});
