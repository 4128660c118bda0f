/** The emulator's DX Admin login and pageIndex paging (as a third-party DX client uses them), and tpx's client on them. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../../src/emulators/thingpark/index.js';
import { parseValidityPeriod } from '../../../src/emulators/thingpark/routes.js';
import { DX_ADMIN_TOKEN_PATH, ThingParkClient } from '../../../src/thingpark/api.js';

const open: ThingParkEmulator[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});
async function emulator(o: Parameters<typeof startThingParkEmulator>[0] = {}) {
  const emu = await startThingParkEmulator({ openingDelayMs: 0, ...o });
  open.push(emu);
  return emu;
}
const ADMIN = '/thingpark/dx/admin/latest/api/oauth';

async function dxToken(emu: ThingParkEmulator, fields: Record<string, string>) {
  const r = await fetch(`${emu.url}${ADMIN}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: emu.clientId,
      client_secret: emu.clientSecret,
      ...fields,
    }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('DX Admin token endpoint', () => {
  it('logs in with the form fields, honours validityPeriod and renewToken, and answers tokeninfo', async () => {
    const emu = await emulator();
    const first = await dxToken(emu, { validityPeriod: '90days' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ access_token: expect.any(String), expires_in: 90 * 86_400 });
    const same = await dxToken(emu, {});
    expect(same.body.access_token).toBe(first.body.access_token);
    const renewed = await dxToken(emu, { renewToken: 'true', validityPeriod: '1h' });
    expect(renewed.body.access_token).not.toBe(first.body.access_token);
    expect(renewed.body.expires_in).toBe(3600);
    const info = await fetch(`${emu.url}${ADMIN}/tokeninfo?access_token=${renewed.body.access_token}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ client_id: emu.clientId, expires_in: 3600, token_type: 'bearer' });
    expect((await fetch(`${emu.url}${ADMIN}/tokeninfo?access_token=nope`)).status).toBe(401);
    expect((await dxToken(emu, { client_secret: 'wrong' })).status).toBe(401);
    expect((await dxToken(emu, { validityPeriod: 'forever' })).status).toBe(400);
    // the token works on the API
    const list = await fetch(`${emu.url}/thingpark/dx/core/latest/api/connections`, {
      headers: { authorization: `Bearer ${renewed.body.access_token}` },
    });
    expect(list.status).toBe(200);
  });

  it('reads validity periods', () => {
    expect(parseValidityPeriod('90days')).toBe(7_776_000);
    expect(parseValidityPeriod('30 minutes')).toBe(1800);
    expect(parseValidityPeriod('45')).toBe(45);
    expect(parseValidityPeriod('2h')).toBe(7200);
    expect(parseValidityPeriod('soon')).toBeUndefined();
  });

  it("tpx's client logs in there when given it as the token URL", async () => {
    const emu = await emulator();
    const client = new ThingParkClient({
      url: emu.url,
      tokenUrl: `${emu.url}${DX_ADMIN_TOKEN_PATH}`,
      clientId: emu.clientId,
      clientSecret: emu.clientSecret,
    });
    expect(await client.listConnections()).toEqual([]);
    expect(emu.requests.map((r) => r.path)).toContain(DX_ADMIN_TOKEN_PATH);
  });
});

describe('pageIndex paging', () => {
  const body = (name: string) => ({
    connectorId: 'actility-thingworx-iot',
    name,
    configuration: { hostName: 'h:1', applicationKey: 'app-key-123456789', thingTemplateName: 'tpl' },
  });

  it('the emulator serves ?pageIndex= pages (it returned page 1 for every index)', async () => {
    const emu = await emulator({ pageSize: 2, maxConnections: 10 });
    const client = new ThingParkClient({ url: emu.url, clientId: emu.clientId, clientSecret: emu.clientSecret });
    for (let i = 0; i < 5; i++) await client.createConnection(body(`c${i}`));
    const token = await client.tokens.get();
    const page = async (i: number) =>
      (
        (await (
          await fetch(`${emu.url}/thingpark/dx/core/latest/api/connections?pageIndex=${i}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { name: string }[]
      ).map((c) => c.name);
    expect(await page(1)).toEqual(['c0', 'c1']);
    expect(await page(2)).toEqual(['c2', 'c3']);
    expect(await page(3)).toEqual(['c4']);
  });

  it("tpx's client follows pageIndex on DX Core when a full page comes without a Link, and stops on a repeat", async () => {
    const items = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: String(from + i), connectorId: 'x', name: `n${from + i}` }));
    const hits: string[] = [];
    let ignoresPageIndex = false;
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url?.startsWith('/users-auth/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"t","expires_in":60}');
        return;
      }
      const index = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('pageIndex') ?? 1);
      const page = ignoresPageIndex || index === 1 ? items(1, 3) : index === 2 ? items(4, 3) : items(7, 1);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new ThingParkClient({ url, clientId: 'a', clientSecret: 'b', dxPageSize: 3 });
      expect((await client.listConnections()).map((c) => c.id)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
      expect(hits.filter((h) => h.includes('pageIndex'))).toEqual([
        '/thingpark/dx/core/latest/api/connections?pageIndex=2',
        '/thingpark/dx/core/latest/api/connections?pageIndex=3',
      ]);
      ignoresPageIndex = true;
      expect(await client.listConnections()).toHaveLength(3);
    } finally {
      server.close();
    }
  });
});
