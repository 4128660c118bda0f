/**
 * On call, two connectors on one ThingWorx (issue 11): `tpx thingworx check` fails (exit 3) naming the competing
 * session and the Actility-hosted connection, `tpx thing show|list` say who holds each Thing, `tpx downlink push`
 * to a Thing nobody holds says so. In-process, against the emulators; two AlwaysOn sessions of one key stand for
 * two bridges (B's BIND refused under First in wins).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlwaysOnClient } from '../../src/alwayson/client.js';
import { BindRejectedError } from '../../src/alwayson/errors.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingParkClient } from '../../src/thingpark/api.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';
import { ADMIN_KEY, CONNECTOR_KEY, fullySetUp } from '../thingworx/scenario-states.js';

const HELD = '0018B20000000B20';
const ALSO_HELD = '0018B20000000B21';
const GHOSTED = '0018B20000000B22';
const FREE = '0018B20000000B23';

const home = tempConfigHome();
let twx: ThingWorxEmulator;
let tp: ThingParkEmulator;
let env: NodeJS.ProcessEnv;
let hostedId = '';
const clients: AlwaysOnClient[] = [];

beforeAll(async () => {
  const state = fullySetUp();
  state.subsystem = { ...state.subsystem, bindProtectionPolicy: 'first-in-wins' };
  state.things = [HELD, ALSO_HELD, GHOSTED, FREE].map((name) => ({
    name,
    template: 'actilityThingTemplateSF',
    owner: 'tpx-connector',
  }));
  twx = await startThingWorxEmulator({ state });
  const client = async () => {
    const c = new AlwaysOnClient({ url: twx.wsUrl, appKey: CONNECTOR_KEY, ca: readFileSync(twx.caFile) });
    c.on('warning', () => undefined);
    clients.push(c);
    await c.start();
    return c;
  };
  // Bridge A holds two Things; bridge B, started second, is refused (First in wins) and holds none.
  await (await client()).bind([HELD, ALSO_HELD]);
  await expect((await client()).bind([HELD])).rejects.toBeInstanceOf(BindRejectedError);
  twx.faults.ghostSession([GHOSTED], 'tpx-connector-key');
  // The Actility-hosted connection pointing at the same ThingWorx: the usual other connector.
  tp = await startThingParkEmulator({ openingDelayMs: 0 });
  const api = new ThingParkClient({ url: tp.url, clientId: tp.clientId, clientSecret: tp.clientSecret });
  hostedId = (
    await api.createConnection({
      connectorId: 'actility-thingworx-iot',
      name: 'Actility ThingWorx Connection',
      active: true,
      configuration: {
        hostName: new URL(twx.restUrl).host,
        applicationKey: CONNECTOR_KEY,
        thingTemplateName: 'actilityThingTemplateSF',
      },
    })
  ).id;
  env = {
    ...home.env,
    TPX_THINGWORX_URL: twx.restUrl,
    TPX_THINGWORX_CA: twx.caFile,
    TPX_THINGWORX_APP_KEY: CONNECTOR_KEY,
    TPX_THINGWORX_ADMIN_KEY: ADMIN_KEY,
  };
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await tp?.close();
  await twx?.close();
  home.cleanup();
});

const thingpark = () => ({
  TPX_THINGPARK_URL: tp.url,
  TPX_THINGPARK_CLIENT_ID: tp.clientId,
  TPX_THINGPARK_CLIENT_SECRET: tp.clientSecret,
});

describe('tpx thingworx check with two connectors on the key', () => {
  it('exit 3: names the competing session and the hosted connection with the command that stops it', async () => {
    const r = await runInProcess(['thingworx', 'check'], { env: { ...env, ...thingpark() }, columns: 200 });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/✗ Live connectors of this key +2 live connectors use key tpx-connector-key: session /);
    expect(r.stdout).toMatch(/the competing session [0-9a-f-]{36} \(from 127\.0\.0\.1:\d+, since .*, 0 binds\)/);
    expect(r.stdout).toContain(`tpx connection update ${hostedId} --active false`);
    expect(r.stdout).toMatch(/✗ Actility-hosted connection +Active Actility-hosted ThingWorx connection \d+ "Actility/);
    // The ghost is listed with what it holds.
    expect(r.stdout).toMatch(
      /✗ Ghost sessions holding binds +1 AlwaysOn session\(s\) of key tpx-connector-key hold binds on 1 Thing/,
    );
    expect(r.stderr).toMatch(/error: The ThingWorx check found 3 problem\(s\)/);
    expect(r.stdout + r.stderr).not.toContain(CONNECTOR_KEY);
    expect(r.stdout + r.stderr).not.toContain(tp.clientSecret);
  });

  it('--json: every session of the key, bindless ones too, each live or ghost', async () => {
    const r = await runInProcess(['thingworx', 'check', '--json'], { env });
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { items: { id: string; status: string; data?: { sessions?: unknown[] } }[] };
    const item = doc.items.find((i) => i.id === 'connectors')!;
    const sessions = item.data!.sessions as { state: string; numberBoundThings: number }[];
    expect(sessions.map((s) => `${s.state}:${s.numberBoundThings}`).sort()).toEqual(['ghost:1', 'live:0', 'live:2']);
    // Without ThingPark settings the hosted connection is not looked for.
    expect(doc.items.find((i) => i.id === 'hosted-connection')).toMatchObject({ status: 'skipped' });
  });

  it('--live-by last-used with a long --ghost-after counts the ghost as live too (configurable)', async () => {
    const r = await runInProcess(['thingworx', 'check', '--json', '--live-by', 'last-used', '--ghost-after', '1h'], {
      env,
    });
    const doc = JSON.parse(r.stdout) as { items: { id: string; detail: string }[] };
    expect(doc.items.find((i) => i.id === 'connectors')!.detail).toMatch(/^3 live connectors use key/);
    const bad = await runInProcess(['thingworx', 'check', '--live-by', 'vibes'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--live-by "vibes" is not connections or last-used/);
  });
});

describe('tpx thing show|list: who holds the Thing', () => {
  it('thing show names the holding session, its address and since when; lines fit 80 columns', async () => {
    const r = await runInProcess(['thing', 'show', HELD], { env, columns: 80 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bound: yes, by one of 2 live connectors of this key$/m);
    expect(r.stdout).toMatch(/^ {2}session [0-9a-f-]{36} \(key tpx-connector-key\)$/m);
    expect(r.stdout).toMatch(/^ {2}from 127\.0\.0\.1:\d+, 2 binds$/m);
    expect(r.stdout).toMatch(/^ {2}since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ, last used \d{4}-/m);
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);

    const ghost = await runInProcess(['thing', 'show', GHOSTED], { env, columns: 80 });
    expect(ghost.stdout).toMatch(/^bound: yes, by a ghost session \(no connection\)$/m);
    const free = await runInProcess(['thing', 'show', FREE], { env, columns: 80 });
    expect(free.stdout).toMatch(/^bound: no: no connector holds this Thing/m);

    const j = await runInProcess(['thing', 'show', HELD, '--json'], { env });
    expect(JSON.parse(j.stdout).holder).toMatchObject({
      bound: true,
      holder: 'this-key-competing',
      liveConnectorsOfKey: 2,
      session: { state: 'live', numberBoundThings: 2, appKeyName: 'tpx-connector-key' },
    });
  });

  it('thing show without an administrator key: bound or not, and how to name the holder', async () => {
    const { TPX_THINGWORX_ADMIN_KEY: _admin, ...plain } = env;
    const r = await runInProcess(['thing', 'show', FREE], { env: plain, columns: 80 });
    expect(r.stdout).toMatch(/^bound: no: no connector holds this Thing/m);
    const held = await runInProcess(['thing', 'show', HELD], { env: plain, columns: 80 });
    expect(held.stdout).toMatch(/^bound: yes, by a session tpx cannot name\. Naming the session/m);
    expect(held.stdout.replace(/\n +/g, ' ')).toMatch(
      /needs an administrator key \(--admin-key or TPX_THINGWORX_ADMIN_KEY\)/,
    );
    for (const l of held.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
  });

  it('thing list has a holder column, within 80 columns', async () => {
    const r = await runInProcess(['thing', 'list'], { env, columns: 80 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^DevEUI +connected +last connection +last uplink +holder$/m);
    expect(r.stdout).toMatch(new RegExp(`^${HELD} +yes .* shared$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${GHOSTED} +.* ghost$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${FREE} +no +none$`, 'm'));
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(r.stderr).toMatch(/holder: bridge = this key's live connector/);
    const piped = await runInProcess(['thing', 'list'], { env });
    expect(piped.stdout).toContain(`${FREE}\tno\t\t\tnone\n`);
  });
});

describe('tpx downlink push to a Thing nobody holds', () => {
  it('says that no connector holds it and what to check; exit 1', async () => {
    const r = await runInProcess(['downlink', 'push', '--dev-eui', FREE, '--payload', '0102'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /No connector holds Thing 0018B20000000B23: no AlwaysOn session binds it, so ThingWorx cannot forward the write of downlink/,
    );
    expect(r.stderr).toMatch(/Check that the bridge runs and bound 0018B20000000B23/);
    expect(r.stderr).toMatch(/tpx thing show 0018B20000000B23 --admin-key <administrator key>/);
    expect(r.stderr).not.toMatch(/internal error/);
    const j = await runInProcess(['downlink', 'push', '--dev-eui', FREE, '--payload', '0102', '--json'], { env });
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'TPX_TWX_THING_NOT_BOUND' });
  });
});
