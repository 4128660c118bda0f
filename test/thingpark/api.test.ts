import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { apiEndpoints, parseFlavour, ThingParkApiError, ThingParkClient } from '../../src/thingpark/api.js';
import { checkSchema } from '../../src/thingpark/schema.js';

const open: ThingParkEmulator[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

async function setup(
  o: Parameters<typeof startThingParkEmulator>[0] = {},
  c: Partial<ConstructorParameters<typeof ThingParkClient>[0]> = {},
) {
  const emu = await startThingParkEmulator({ openingDelayMs: 0, ...o });
  open.push(emu);
  const sleeps: number[] = [];
  const events: string[] = [];
  const client = new ThingParkClient({
    url: emu.url,
    clientId: emu.clientId,
    clientSecret: emu.clientSecret,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
    onEvent: (e) => events.push(`${e.type}: ${e.message}`),
    ...c,
  });
  return { emu, client, sleeps, events };
}

const body = (name: string) => ({
  connectorId: 'actility-thingworx-iot',
  name,
  configuration: {
    hostName: 'twx.example.com:8443',
    applicationKey: 'app-key-123456789',
    thingTemplateName: 'actilityThingTemplateSF',
  },
});

describe('ThingParkClient', () => {
  it('resolves the API base per flavour and refuses plain http off loopback', () => {
    expect(apiEndpoints('https://community.thingpark.io')).toEqual({
      base: 'https://community.thingpark.io/thingpark/dx/core/latest/api',
      tokenUrl: 'https://community.thingpark.io/users-auth/protocol/openid-connect/token',
      flavour: 'dx',
    });
    expect(apiEndpoints('https://iot.thingpark.com', 'iotflow').base).toBe('https://iot.thingpark.com/iot-flow/v1');
    expect(apiEndpoints('https://x.example/iot-flow/v1/').flavour).toBe('iotflow');
    expect(() => apiEndpoints('http://thingpark.example')).toThrow(/must use https/);
    expect(() => apiEndpoints('nope')).toThrow(/not a URL/);
    expect(parseFlavour('IoT-Flow')).toBe('iotflow');
    expect(() => parseFlavour('soap')).toThrow(/Unknown ThingPark API flavour/);
  });

  for (const flavour of ['dx', 'iotflow'] as const) {
    it(`creates, lists, reads, updates and deletes (${flavour})`, async () => {
      const { client, emu } = await setup({}, { flavour });
      const c = await client.createConnection(body('one'));
      expect(c).toMatchObject({ id: expect.any(String), name: 'one', configuration: { applicationKey: '*****' } });
      expect((await client.listConnections()).map((x) => x.id)).toEqual([c.id]);
      const u = await client.updateConnection(c.id, { ...body('two') });
      expect(u.name).toBe('two');
      expect((await client.getConnection(c.id)).state).toBe('OPENED');
      await client.deleteConnection(c.id);
      await expect(client.getConnection(c.id)).rejects.toMatchObject({ status: 404, code: 'TPX_THINGPARK_API' });
      expect(
        emu.requests.every(
          (r) => r.path.startsWith(flavour === 'dx' ? '/thingpark/dx/' : '/iot-flow/') || r.path.includes('/token'),
        ),
      ).toBe(true);
      expect((await client.connector('actility-thingworx-iot'))?.connection?.configurationSchema).toBeTruthy();
    });
  }

  it('caches the token and renews it from expires_in', async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const { client, emu } = await setup({ tokenTtlSeconds: 60, now }, { now });
    await client.listConnections();
    await client.listConnections();
    expect(emu.tokensIssued()).toBe(1);
    clock += 50_000; // still valid with the renewal margin (6 s for a 60 s token)
    await client.listConnections();
    expect(emu.tokensIssued()).toBe(1);
    clock += 5_000; // inside the margin: renewed before the server would refuse it
    await client.listConnections();
    expect(emu.tokensIssued()).toBe(2);
    expect(emu.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  it('retries once with a fresh token after a 401, then gives a plain error', async () => {
    const { client, emu, events } = await setup();
    await client.listConnections();
    emu.revokeTokens();
    await client.listConnections();
    expect(emu.tokensIssued()).toBe(2);
    expect(events.some((e) => e.includes('renewing it and retrying once'))).toBe(true);
    emu.injectFault({ status: 401, path: '/connections', count: 2, body: { code: 1, message: 'token rejected' } });
    const err = await client.listConnections().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThingParkApiError);
    expect((err as ThingParkApiError).message).toBe(
      'ThingPark did not accept the access token even after renewing it: token rejected.',
    );
  });

  it('refuses wrong client credentials with a plain sentence', async () => {
    const { client } = await setup({}, { clientSecret: 'wrong' });
    await expect(client.listConnections()).rejects.toMatchObject({
      code: 'TPX_THINGPARK_AUTH',
      message: expect.stringContaining('refused the client id and secret'),
    });
  });

  it('retries idempotent calls on 5xx with backoff, never a POST', async () => {
    const { client, emu, sleeps } = await setup();
    emu.injectFault({ status: 503, method: 'GET', path: '/connections', count: 2 });
    expect(await client.listConnections()).toEqual([]);
    expect(sleeps).toEqual([250, 500]);
    emu.injectFault({ status: 502, method: 'GET', path: '/connections', count: 3 });
    await expect(client.listConnections()).rejects.toMatchObject({
      status: 502,
      message: expect.stringContaining('internal error (HTTP 502)'),
    });
    emu.injectFault({ status: 503, method: 'POST', path: '/connections' });
    const before = emu.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/connections')).length;
    await expect(client.createConnection(body('x'))).rejects.toMatchObject({
      status: 503,
      fix: { id: 'connection-list', what: 'created' },
    });
    expect(emu.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/connections')).length).toBe(before + 1);
    expect(await client.listConnections()).toEqual([]);
  });

  it('retries a 429, and takes a DELETE whose first answer was lost as done', async () => {
    const { client, emu, sleeps } = await setup();
    const c = await client.createConnection(body('d'));
    emu.injectFault({ status: 429, method: 'GET', path: '/connectors' });
    expect((await client.listConnectors()).length).toBeGreaterThan(0);
    expect(sleeps).toEqual([250]);
    emu.injectFault({ status: 504, method: 'DELETE', path: '/connections/', afterHandling: true });
    await client.deleteConnection(c.id);
    expect(emu.connections()).toEqual([]);
    const deletes = emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.status);
    expect(deletes).toEqual([504, 404]);
    // a first-attempt 404 is still an error
    await expect(client.deleteConnection(c.id)).rejects.toMatchObject({ status: 404 });
  });

  it('turns {code,message} errors into sentences (validation, quota)', async () => {
    const { client } = await setup({ maxConnections: 1 });
    await expect(
      client.createConnection({ ...body('bad'), configuration: { ...body('bad').configuration, extra: 1 } }),
    ).rejects.toMatchObject({
      status: 400,
      apiCode: 10,
      message:
        'ThingPark refused the request to create connection "bad": Invalid configuration: configuration.extra is not a known property.',
    });
    await client.createConnection(body('a'));
    await expect(client.createConnection(body('b'))).rejects.toMatchObject({
      status: 409,
      fix: { id: 'connection-delete' },
    });
  });

  it('follows rel="next" pages of the connection list', async () => {
    const { client, emu } = await setup({ maxConnections: 7, pageSize: 2 });
    for (let i = 0; i < 7; i++) await client.createConnection(body(`c${i}`));
    expect((await client.listConnections()).map((c) => c.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    expect(emu.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/connections')).length).toBe(4);
  });

  it('never follows a next link to another host (the token would leak)', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url?.startsWith('/users-auth/')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 60 }));
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json', link: '<http://127.0.0.2:1/steal?page=2>; rel="next"' })
        .end(JSON.stringify([{ id: 1, connectorId: 'actility-thingworx-iot', name: 'only' }]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = new ThingParkClient({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        clientId: 'a',
        clientSecret: 'b',
      });
      expect(await client.listConnections()).toMatchObject([{ id: '1', name: 'only', configuration: {} }]);
      expect(hits).toEqual(['/users-auth/protocol/openid-connect/token', '/thingpark/dx/core/latest/api/connections']);
    } finally {
      server.close();
    }
  });

  it('bounds the wait on a ThingPark that takes the login and never answers (no timeout made it wait 905 s)', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/users-auth/')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 60 }));
      }
      // anything else: accepted, never answered
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new ThingParkClient({ url: `http://${host}`, clientId: 'a', clientSecret: 'b', timeoutMs: 300 });
      const t0 = Date.now();
      await expect(client.listConnections()).rejects.toMatchObject({
        code: 'TPX_HTTP_TIMEOUT',
        message: `ThingPark at ${host} did not answer within 300ms (listing connections).`,
        details: { host, timeoutMs: 300, operation: 'listing connections', setting: 'thingparkUrl' },
      });
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('reports an unreachable ThingPark plainly', async () => {
    const { emu, client } = await setup();
    await emu.close();
    open.splice(0);
    await expect(client.listConnections()).rejects.toMatchObject({
      code: 'TPX_HTTP_UNREACHABLE',
      details: { errno: 'ECONNREFUSED', service: 'the ThingPark token endpoint', operation: 'getting an access token' },
    });
  });
});

describe('connector schema check', () => {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: ['hostName'],
    properties: {
      hostName: { type: 'string', minLength: 1 },
      pipeCount: { type: 'integer', minimum: 1, maximum: 255 },
      reconnectStrategy: { type: 'string', enum: ['CALM', 'NORMAL'] },
      uplinkTimeValidity: { type: 'string', pattern: '^[0-9]+[smhd]$' },
      tags: { type: 'array', items: { type: 'string' } },
    },
  };
  it('names every problem', () => {
    expect(checkSchema(schema, { hostName: 'h', pipeCount: 3, tags: ['a'] })).toEqual([]);
    expect(
      checkSchema(schema, {
        pipeCount: 0,
        reconnectStrategy: 'X',
        uplinkTimeValidity: '5 min',
        tags: [1],
        nope: true,
      }).map((p) => p.path),
    ).toEqual([
      'configuration.hostName',
      'configuration.pipeCount',
      'configuration.reconnectStrategy',
      'configuration.uplinkTimeValidity',
      'configuration.tags[0]',
      'configuration.nope',
    ]);
    expect(checkSchema(schema, { hostName: '', pipeCount: 1.5 })[0]).toEqual({
      path: 'configuration.hostName',
      message: 'must not be empty',
    });
    expect(checkSchema(undefined, { anything: 1 })).toEqual([]);
  });
});
