/** `tpx connection …` run as a subprocess of bin/tpx.js against an in-process ThingPark emulator (non-interactive). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { type RunResult, tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';
import { emulatorBearer } from '../helpers/thingpark.js';

const APP_KEY = 'twx-app-key-5f3a9c1e-0d2b';
const AS_KEY = '0123456789abcdef0123456789abcdef';
let emu: ThingParkEmulator;
let home: ReturnType<typeof tempConfigHome>;

beforeAll(async () => {
  emu = await startThingParkEmulator({ openingDelayMs: 0 });
  home = tempConfigHome();
});
afterAll(async () => {
  await emu.close();
  home.cleanup();
});
const bearer = () => emulatorBearer(emu);

beforeEach(async () => {
  // start each test with no connections (through the emulator's own API, not tpx)
  const headers = await bearer();
  for (const c of emu.connections())
    await fetch(`${emu.url}/iot-flow/v1/connections/${c.id}`, { method: 'DELETE', headers });
});

/** Creates a connection through the emulator's API directly (test set-up; tpx create is tested on its own). */
async function create(configuration: Record<string, unknown> = {}): Promise<{ id: string }> {
  const r = await fetch(`${emu.url}/iot-flow/v1/connections`, {
    method: 'POST',
    headers: await bearer(),
    body: JSON.stringify({
      connectorId: 'actility-thingworx-iot',
      name: 'plant-a',
      configuration: {
        hostName: 'twx.example.com:8443',
        applicationKey: APP_KEY,
        thingTemplateName: 'actilityThingTemplateSF',
        ...configuration,
      },
    }),
  });
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string };
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...home.env,
    TPX_THINGPARK_URL: emu.url,
    TPX_THINGPARK_CLIENT_ID: emu.clientId,
    TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
    ...extra,
  };
}

const tpx = (args: string[], extra: Record<string, string> = {}) => runInProcess(args, { env: env(extra) });

function noSecrets(r: RunResult): void {
  const all = r.stdout + r.stderr;
  for (const s of [APP_KEY, emu.clientSecret, AS_KEY]) expect(all).not.toContain(s);
}

const createArgs = [
  'connection',
  'create',
  '--name',
  'plant-a',
  '--host-name',
  'twx.example.com:8443',
  '--app-key',
  APP_KEY,
];

describe('tpx connection (subprocess, non-interactive)', () => {
  it('create --json prints the created connection with the secret masked and stores the real key', async () => {
    const r = await tpx([
      ...createArgs,
      '--description',
      'line 1',
      '--pipe-count',
      '3',
      '--downlink-as-key',
      AS_KEY,
      '--json',
      '--verbose',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { connection: Record<string, unknown> };
    expect(Object.keys(doc)).toEqual(['connection']);
    expect(doc.connection).toMatchObject({
      id: expect.any(String),
      connectorId: 'actility-thingworx-iot',
      name: 'plant-a',
      state: 'OPENED',
      configuration: {
        hostName: 'twx.example.com:8443',
        applicationKey: '*****',
        downlinkAsKey: '*****',
        pipeCount: 3,
        thingTemplateName: 'actilityThingTemplateSF',
      },
    });
    expect(emu.connections()[0]!.configuration).toMatchObject({
      applicationKey: APP_KEY,
      downlinkAsKey: AS_KEY,
      description: 'line 1',
    });
    expect(r.stderr).toMatch(/POST .*\/connections -> 201/);
    noSecrets(r);
  });

  it('create refuses every bad field with a message naming it, sending nothing', async () => {
    const before = emu.requests.length;
    const r = await tpx([
      'connection',
      'create',
      '--name',
      ' ',
      '--host-name',
      'https://twx',
      '--app-key',
      'short',
      '--template',
      '9x y',
      '--pipe-count',
      '256',
      '--active',
      'maybe',
      '--create-devices',
      'x',
      '--send-metadata',
      'x',
      '--send-raw-decoded-format',
      'x',
      '--uplink-time-validity',
      '5min',
      '--downlink-enabled',
      'x',
      '--downlink-as-id',
      'a b',
      '--downlink-as-key',
      'zz',
      '--downlink-port',
      '0',
      '--reconnect-strategy',
      'FAST',
      '--description',
      'd'.repeat(1100),
    ]);
    expect(r.code).toBe(2);
    for (const flag of [
      '--name',
      '--description',
      '--host-name',
      '--app-key',
      '--template',
      '--pipe-count',
      '--active',
      '--create-devices',
      '--send-metadata',
      '--send-raw-decoded-format',
      '--uplink-time-validity',
      '--downlink-enabled',
      '--downlink-as-id',
      '--downlink-as-key',
      '--downlink-port',
      '--reconnect-strategy',
    ]) {
      expect(r.stderr).toContain(`${flag} `);
    }
    expect(r.stderr).toMatch(/^fix: /m);
    expect(emu.requests.length).toBe(before);

    const j = await tpx([
      'connection',
      'create',
      '--name',
      'x',
      '--host-name',
      'h:1',
      '--app-key',
      APP_KEY,
      '--pipe-count',
      '0',
      '--json',
    ]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({
      error: { code: 'TPX_USAGE', details: { fields: [{ flag: '--pipe-count', key: 'pipeCount' }] } },
    });
    noSecrets(j);
  });

  it('create without a TTY names the missing flags instead of prompting', async () => {
    const r = await tpx(['connection', 'create']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--name is required; --host-name is required; --app-key is required');
    const noUrl = await runInProcess(['connection', 'list'], { env: home.env });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('TPX_THINGPARK_URL');
  });

  it('create --dry-run prints the exact request with secrets masked and sends nothing', async () => {
    const before = emu.requests.length;
    const r = await tpx([...createArgs, '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      dryRun: true,
      request: {
        method: 'POST',
        url: `${emu.url}/thingpark/dx/core/latest/api/connections`,
        headers: { authorization: 'Bearer *****', 'content-type': 'application/json' },
        body: {
          connectorId: 'actility-thingworx-iot',
          name: 'plant-a',
          active: true,
          configuration: {
            thingTemplateName: 'actilityThingTemplateSF',
            pipeCount: 1,
            hostName: 'twx.example.com:8443',
            applicationKey: '*****',
          },
        },
      },
    });
    const human = await tpx([...createArgs, '--dry-run', '--thingpark-api', 'iotflow']);
    expect(human.stdout).toContain(`POST ${emu.url}/iot-flow/v1/connections`);
    expect(emu.requests.length).toBe(before);
    noSecrets(r);
    noSecrets(human);
  });

  it('list and get print a table or one JSON document', async () => {
    const a = await create({ thingTemplateName: 'tplA', pipeCount: 2 });
    const list = await tpx(['connection', 'list']);
    expect(list.code).toBe(0);
    // piped: tab-separated rows without a header
    expect(list.stdout).toContain(`${a.id}\tplant-a\tactility-thingworx-iot\tOPENED\ttwx.example.com:8443\ttplA\t2\n`);
    const onTerminal = await runInProcess(['connection', 'list'], { env: env(), columns: 120 });
    expect(onTerminal.stdout).toMatch(/^id {2,}name {2,}connector {2,}state {2,}host {2,}template {2,}pipes$/m);
    expect(onTerminal.stdout).toMatch(
      new RegExp(
        `^${a.id} {2,}plant-a {2,}actility-thingworx-iot {2,}OPENED {2,}twx.example.com:8443 {2,}tplA {2,}2$`,
        'm',
      ),
    );
    const json = await tpx(['connection', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      connections: [{ id: a.id, name: 'plant-a', configuration: { applicationKey: '*****' } }],
    });
    const get = await tpx(['connection', 'get', a.id]);
    expect(get.stdout).toContain('applicationKey\t*****\n');
    const getOnTerminal = await runInProcess(['connection', 'get', a.id], { env: env(), columns: 80 });
    expect(getOnTerminal.stdout).toMatch(/^applicationKey: +\*{5}$/m);
    const getJson = await tpx(['connection', 'get', a.id, '--json']);
    expect(JSON.parse(getJson.stdout).connection).toMatchObject({ id: a.id, state: 'OPENED' });
    for (const r of [list, json, get, getJson]) noSecrets(r);
    const missing = await tpx(['connection', 'get', '999999', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({
      code: 'TPX_THINGPARK_API',
      message: expect.stringContaining('999999'),
    });
  });

  it('update keeps every untouched field and re-sends the app key from the environment', async () => {
    const a = await create({
      description: 'keep me',
      thingTemplateName: 'tplKeep',
      pipeCount: 7,
      createDevices: false,
      uplinkTimeValidity: '5m',
      downlinkAsId: 'TWA_1.2.AS',
      downlinkAsKey: AS_KEY,
      downlinkPort: 12,
      reconnectStrategy: 'AGGRESSIVE',
    });
    const before = emu.connections()[0]!;
    const r = await tpx(['connection', 'update', a.id, '--pipe-count', '8', '--yes'], {
      TPX_THINGWORX_APP_KEY: APP_KEY,
      TPX_CONNECTION_DOWNLINK_AS_KEY: AS_KEY,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('configuration.pipeCount: 7 -> 8');
    // every secret sent is shown with its source (ThingPark masks them: tpx cannot tell whether they change)
    expect(r.stdout).toContain(
      'configuration.applicationKey: re-sent from TPX_THINGWORX_APP_KEY — ThingPark masks it, so tpx cannot tell if it changes',
    );
    expect(r.stdout).toContain('configuration.downlinkAsKey: re-sent from TPX_CONNECTION_DOWNLINK_AS_KEY');
    const after = emu.connections()[0]!;
    expect(after.configuration).toEqual({ ...before.configuration, pipeCount: 8 });
    expect(after.name).toBe(before.name);
    expect(after.active).toBe(true);
    noSecrets(r);

    const json = await tpx(['connection', 'update', a.id, '--name', 'renamed', '--yes', '--json'], {
      TPX_THINGWORX_APP_KEY: APP_KEY,
      TPX_CONNECTION_DOWNLINK_AS_KEY: AS_KEY,
    });
    expect(JSON.parse(json.stdout)).toMatchObject({
      changed: true,
      connection: { name: 'renamed' },
      diff: [
        { field: 'name', from: 'plant-a', to: 'renamed' },
        { field: 'configuration.applicationKey', resent: true, source: 'TPX_THINGWORX_APP_KEY' },
        { field: 'configuration.downlinkAsKey', resent: true, source: 'TPX_CONNECTION_DOWNLINK_AS_KEY' },
      ],
    });
    expect(emu.connections()[0]!.configuration.applicationKey).toBe(APP_KEY);
    noSecrets(json);

    const same = await tpx(['connection', 'update', a.id, '--name', 'renamed', '--json'], {
      TPX_THINGWORX_APP_KEY: APP_KEY,
      TPX_CONNECTION_DOWNLINK_AS_KEY: AS_KEY,
    });
    expect(JSON.parse(same.stdout)).toMatchObject({ changed: false, diff: [] });
  });

  it('update refuses clearly without the app key, and without --yes when it cannot ask', async () => {
    const a = await create();
    const puts = () => emu.requests.filter((q) => q.method === 'PUT').length;
    const before = puts();
    const r = await tpx(['connection', 'update', a.id, '--pipe-count', '2', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('without its ThingWorx application key');
    expect(r.stderr).toContain('TPX_THINGWORX_APP_KEY');
    const noYes = await tpx(['connection', 'update', a.id, '--pipe-count', '2'], { TPX_THINGWORX_APP_KEY: APP_KEY });
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('needs confirmation');
    // the question said as a statement, not "…? needs confirmation"
    expect(noYes.stderr).toMatch(
      new RegExp(`error: Update connection ${a.id}, sending applicationKey from .*: needs confirmation\\.`),
    );
    expect(noYes.stderr).not.toContain('? needs');
    expect(puts()).toBe(before);
    expect(emu.connections()[0]!.configuration.pipeCount).toBe(1);
  });

  it('update with the key from the profile, and --dry-run showing the diff', async () => {
    const a = await create();
    mkdirSync(join(home.dir, 'tpx'), { recursive: true });
    writeFileSync(
      join(home.dir, 'tpx', 'config.json'),
      JSON.stringify({ profiles: { withkey: { thingworxAppKey: APP_KEY } } }),
      { mode: 0o600 },
    );
    const dry = await tpx([
      'connection',
      'update',
      a.id,
      '--pipe-count',
      '9',
      '--dry-run',
      '--json',
      '--profile',
      'withkey',
    ]);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      request: { method: 'PUT', body: { configuration: { pipeCount: 9, applicationKey: '*****' } } },
      diff: [
        { field: 'configuration.pipeCount', from: 1, to: 9 },
        { field: 'configuration.applicationKey', resent: true, source: 'profile "withkey" (thingworxAppKey)' },
      ],
    });
    expect(emu.connections()[0]!.configuration.pipeCount).toBe(1);
    const r = await tpx(['connection', 'update', a.id, '--pipe-count', '9', '--yes', '--profile', 'withkey']);
    expect(r.code, r.stderr).toBe(0);
    expect(emu.connections()[0]!.configuration).toMatchObject({ pipeCount: 9, applicationKey: APP_KEY });
    noSecrets(dry);
  });

  it('delete asks for --yes without a TTY, then deletes', async () => {
    const a = await create();
    const no = await tpx(['connection', 'delete', a.id]);
    expect(no.code).toBe(2);
    expect(emu.connections()).toHaveLength(1);
    const yes = await tpx(['connection', 'delete', a.id, '--yes', '--json']);
    expect(yes.code).toBe(0);
    expect(JSON.parse(yes.stdout)).toEqual({ deleted: { id: a.id, name: 'plant-a' } });
    expect(emu.connections()).toHaveLength(0);
  });

  it('renews a refused token mid-run and retries the call once', async () => {
    const a = await create();
    const tokens = emu.tokensIssued();
    emu.injectFault({
      status: 401,
      method: 'GET',
      path: `/connections/${a.id}`,
      body: { code: 1, message: 'expired' },
    });
    const r = await tpx(['connection', 'update', a.id, '--name', 'after-renewal', '--yes', '--verbose'], {
      TPX_THINGWORX_APP_KEY: APP_KEY,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(emu.tokensIssued()).toBe(tokens + 2);
    expect(r.stderr).toContain('renewing it and retrying once');
    expect(emu.connections()[0]!.name).toBe('after-renewal');
    noSecrets(r);
  });

  it('handles 401 and 5xx with plain sentences', async () => {
    const bad = await tpx(['connection', 'list'], { TPX_THINGPARK_CLIENT_SECRET: 'wrong-secret-value' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ThingPark refused the client id and secret');
    expect(bad.stderr).toContain('TPX_THINGPARK_CLIENT_SECRET');
    expect(bad.stderr).not.toContain('wrong-secret-value');

    emu.injectFault({ status: 503, method: 'GET', path: '/connections' });
    const retried = await tpx(['connection', 'list', '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual({ connections: [] });

    emu.injectFault({
      status: 500,
      method: 'GET',
      path: '/connections',
      count: 3,
      body: { code: 25, message: 'unknown error' },
    });
    const failed = await tpx(['connection', 'list']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      'error: ThingPark had an internal error (HTTP 500) while trying to list connections: unknown error.',
    );
    expect(failed.stderr).toContain('fix: Try again later.');
    expect(failed.stderr).not.toMatch(/at .*\.js:\d+/);

    emu.injectFault({ status: 502, method: 'POST', path: '/connections' });
    const posts = emu.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/connections')).length;
    const post = await tpx(createArgs);
    expect(post.code).toBe(1);
    expect(post.stderr).toContain('tpx connection list');
    expect(emu.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/connections')).length).toBe(posts + 1);
    noSecrets(post);
  });

  it('reports the connector schema and the quota as ThingPark does', async () => {
    for (let i = 0; i < 5; i++) await create();
    const r = await tpx([...createArgs, '--allow-duplicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('maximum authorized amount of connections (5)');
    expect(r.stderr).toContain('tpx connection delete');
  });
});
