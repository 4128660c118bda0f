import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../../src/emulators/thingpark/index.js';
import { parseRawQuery, verifyUplinkDetailed } from '../../../src/thingpark/tunnel.js';

const open: ThingParkEmulator[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});
async function start(o: Parameters<typeof startThingParkEmulator>[0] = {}) {
  const e = await startThingParkEmulator(o);
  open.push(e);
  return e;
}

async function token(e: ThingParkEmulator): Promise<{ access_token: string; expires_in: number }> {
  const r = await fetch(e.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: e.clientId,
      client_secret: e.clientSecret,
    }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { access_token: string; expires_in: number };
}

const twx = (name: string, extra: Record<string, unknown> = {}) => ({
  connectorId: 'actility-thingworx-iot',
  name,
  configuration: {
    hostName: 'twx.example.com:443',
    applicationKey: 'real-app-key-0001',
    thingTemplateName: 'actilityThingTemplateSF',
    ...extra,
  },
});

describe('ThingPark emulator: OAuth and connections API', () => {
  it('issues tokens only for the right client and answers 401 without one', async () => {
    const e = await start({ tokenTtlSeconds: 7 });
    const bad = await fetch(e.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: e.clientId, client_secret: 'nope' }),
    });
    expect(bad.status).toBe(401);
    const t = await token(e);
    expect(t.expires_in).toBe(7);
    const noAuth = await fetch(`${e.url}/thingpark/dx/core/latest/api/connections`);
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toMatchObject({ code: 1, message: expect.any(String) });
    const flowNoAuth = await fetch(`${e.url}/iot-flow/v1/connections`);
    expect(await flowNoAuth.json()).toMatchObject({ code: 'com-4001' });
    e.revokeTokens();
    const revoked = await fetch(`${e.url}/iot-flow/v1/connectors`, {
      headers: { authorization: `Bearer ${t.access_token}` },
    });
    expect(revoked.status).toBe(401);
  });

  it('expires tokens after expires_in on its clock', async () => {
    let clock = 1_000_000;
    const e = await start({ tokenTtlSeconds: 10, now: () => clock });
    const t = await token(e);
    const h = { authorization: `Bearer ${t.access_token}` };
    expect((await fetch(`${e.url}/iot-flow/v1/connectors`, { headers: h })).status).toBe(200);
    clock += 10_001;
    expect((await fetch(`${e.url}/iot-flow/v1/connectors`, { headers: h })).status).toBe(401);
  });

  it('creates with 201 + Location, masks secrets, moves OPENING to OPENED, replaces on PUT, deletes', async () => {
    let clock = 5_000_000;
    const e = await start({ openingDelayMs: 1000, now: () => clock });
    const h = { authorization: `Bearer ${(await token(e)).access_token}`, 'content-type': 'application/json' };
    const api = `${e.url}/thingpark/dx/core/latest/api`;
    const created = await fetch(`${api}/connections`, { method: 'POST', headers: h, body: JSON.stringify(twx('a')) });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, unknown>;
    expect(typeof body.id).toBe('string');
    expect(created.headers.get('location')).toBe(`/connections/${body.id}`);
    expect(body).toMatchObject({
      state: 'OPENING',
      active: true,
      configuration: { applicationKey: '*****', pipeCount: 1, createDevices: true },
    });
    clock += 1000;
    const got = (await (await fetch(`${api}/connections/${body.id}`, { headers: h })).json()) as Record<
      string,
      unknown
    >;
    expect(got).toMatchObject({ state: 'OPENED', configuration: { applicationKey: '*****' } });
    expect(e.connections()[0]!.configuration.applicationKey).toBe('real-app-key-0001');

    // PUT sending the masked value back stores it: the connection can no longer authenticate
    const put = await fetch(`${api}/connections/${body.id}`, {
      method: 'PUT',
      headers: h,
      body: JSON.stringify({ ...got, name: 'b' }),
    });
    expect(put.status).toBe(200);
    clock += 1000;
    const after = (await (await fetch(`${api}/connections`, { headers: h })).json()) as Record<string, unknown>[];
    expect(after[0]).toMatchObject({ name: 'b', state: 'AUTHENTICATION_FAILED' });
    expect(e.connections()[0]!.configuration.applicationKey).toBe('*****');

    const del = await fetch(`${api}/connections/${body.id}`, { method: 'DELETE', headers: h });
    expect(del.status).toBe(204);
    const gone = await fetch(`${api}/connections/${body.id}`, { headers: h });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 24, message: expect.stringContaining(String(body.id)) });
  });

  it('validates against the connector schema (no unknown keys) and enforces the 5-connection quota', async () => {
    const e = await start();
    const h = { authorization: `Bearer ${(await token(e)).access_token}`, 'content-type': 'application/json' };
    const api = `${e.url}/iot-flow/v1`;
    const post = (b: unknown) => fetch(`${api}/connections`, { method: 'POST', headers: h, body: JSON.stringify(b) });
    const connectors = (await (await fetch(`${api}/connectors`, { headers: h })).json()) as {
      id: string;
      connection: { configurationSchema: { additionalProperties: boolean } };
    }[];
    expect(
      connectors.find((c) => c.id === 'actility-thingworx-iot')?.connection.configurationSchema.additionalProperties,
    ).toBe(false);
    for (const [b, text] of [
      [twx('x', { uplinkPayloadTemplate: 'x' }), 'uplinkPayloadTemplate is not a known property'],
      [twx('x', { pipeCount: 256 }), 'pipeCount must be <= 255'],
      [{ ...twx('x'), connectorId: 'nope' }, 'Unknown connector'],
      [{ ...twx('x'), extra: 1 }, 'Unknown property extra'],
    ] as const) {
      const r = await post(b);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { message: string }).message).toContain(text);
    }
    expect((await fetch(`${api}/connections`, { method: 'POST', headers: h, body: '{x' })).status).toBe(400);
    for (let i = 0; i < 5; i++) expect((await post(twx(`c${i}`))).status).toBe(201);
    const sixth = await post(twx('c6'));
    expect(sixth.status).toBe(409);
    expect(await sixth.json()).toMatchObject({
      code: 'com-4009',
      message: expect.stringContaining('maximum authorized amount of connections (5)'),
    });
  });

  it('keeps credentials and connections in the state file across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpx-tp-state-'));
    try {
      const state = join(dir, 'state.json');
      const a = await start({ state });
      const h = { authorization: `Bearer ${(await token(a)).access_token}`, 'content-type': 'application/json' };
      await fetch(`${a.url}/iot-flow/v1/connections`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify(twx('kept')),
      });
      await a.close();
      open.splice(open.indexOf(a), 1);
      expect(JSON.parse(readFileSync(state, 'utf8')).connections[0].name).toBe('kept');
      const b = await start({ state });
      expect(b.clientSecret).toBe(a.clientSecret);
      expect(b.asKey).toBe(a.asKey);
      expect(b.connections().map((c) => c.name)).toEqual(['kept']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('posts signed uplinks the way ThingPark does', async () => {
    const e = await start();
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        server.emit('got', req.url, body, req.headers);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const doc = {
        DevEUI_uplink: {
          Time: '2024-03-05T08:15:02.507+00:00',
          DevEUI: '70B3D5E75E00A1B2',
          FPort: 5,
          FCntUp: 3,
          payload_hex: '01',
          CustomerID: '1',
        },
      };
      const got = once(server, 'got');
      const r = await e.postUplink(`http://127.0.0.1:${port}/uplink?mine=1`, doc);
      expect(r.status).toBe(200);
      const [url, body, headers] = (await got) as [string, string, Record<string, string>];
      expect(url).toMatch(
        /^\/uplink\?mine=1&LrnDevEui=70B3D5E75E00A1B2&LrnFPort=5&LrnInfos=[^&]+&AS_ID=[^&]+&Time=[^&]+%2B00%3A00&Token=[0-9a-f]{64}$/,
      );
      expect(headers['user-agent']).toBe('ACTILITY-LRCLRN-DEVICE-AGENT/1.0');
      const query = parseRawQuery(url.split('?')[1]!);
      expect(verifyUplinkDetailed({ body: JSON.parse(body), query, asKey: e.asKey, asId: e.asId }).ok).toBe(true);
    } finally {
      server.close();
    }
  });

  it('reports accepted downlinks at /_emulator/downlinks and injects faults', async () => {
    const e = await start();
    e.injectFault({ status: 503, path: '/connectors', count: 2 });
    const t = await token(e);
    const h = { authorization: `Bearer ${t.access_token}` };
    expect((await fetch(`${e.url}/iot-flow/v1/connectors`, { headers: h })).status).toBe(503);
    expect((await fetch(`${e.url}/iot-flow/v1/connectors`, { headers: h })).status).toBe(503);
    expect((await fetch(`${e.url}/iot-flow/v1/connectors`, { headers: h })).status).toBe(200);
    expect(await (await fetch(`${e.url}/_emulator/downlinks`)).json()).toEqual([]);
  });

  it('refuses a corrupt state file and a busy port with clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpx-tp-bad-'));
    try {
      const state = join(dir, 'state.json');
      writeFileSync(state, '{oops');
      await expect(startThingParkEmulator({ state })).rejects.toMatchObject({ code: 'TPX_EMULATOR_STATE' });
      const a = await start();
      const port = Number(new URL(a.url).port);
      await expect(startThingParkEmulator({ port })).rejects.toMatchObject({
        code: 'TPX_EMULATOR_LISTEN',
        message: expect.stringContaining('EADDRINUSE'),
        fix: { id: 'emulator-listen', inUse: true },
        details: { port },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('posts a signed uplink on request through /_emulator/uplink', async () => {
    const e = await start();
    const target = await start();
    // the target is another emulator: any POST to an unknown path answers 404, which is reported back
    const doc = {
      DevEUI_notification: {
        Time: '2024-03-05T08:15:02.507+00:00',
        DevEUI: '70B3D5E75E00A1B2',
        Type: 'reset',
        CustomerID: '1',
      },
    };
    const r = await fetch(`${e.url}/_emulator/uplink`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${target.url}/as/uplink`, document: doc }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 404 });
    const seen = target.requests.find((q) => q.path === '/as/uplink');
    expect(seen).toMatchObject({ method: 'POST', status: 404 });
    const bad = await fetch(`${e.url}/_emulator/uplink`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
  });
});
