import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runUplinkSend } from '../../src/cli/commands/uplink.js';
import { createTestContext } from '../../src/cli/context.js';
import { parseRawQuery, verifyUplink } from '../../src/thingpark/tunnel.js';
import { runTpx, tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';
import { type World, world } from './bridge-helpers.js';

const AS = { TPX_AS_ID: 'TWA_1.1.AS', TPX_AS_KEY: 'f3203a20a2e8dfaf6686b621f56d05e3' };

describe('tpx uplink send', () => {
  let w: World | undefined;
  const servers: import('node:http').Server[] = [];
  afterEach(async () => {
    await w?.close();
    w = undefined;
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('posts realistic, correctly signed uplinks with counting FCntUp', async () => {
    const got: { query: Record<string, string>; body: Record<string, Record<string, unknown>> }[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => {
        text += d;
      });
      req.on('end', () => {
        got.push({ query: parseRawQuery((req.url ?? '').split('?')[1] ?? ''), body: JSON.parse(text) });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
    const t = createTestContext({ env: AS, json: true });
    const code = await runUplinkSend(t.ctx, {
      url,
      devEui: '70-b3-d5-7e-d0-00-00-01',
      fport: '5',
      payload: 'CAFE',
      fcnt: '41',
      count: '3',
    });
    expect(code).toBe(0);
    expect(JSON.parse(t.stdout.text)).toMatchObject({ sent: 3, accepted: 3, rejected: {}, fcntFirst: 41 });
    expect(got.map((g) => g.body.DevEUI_uplink!.FCntUp).sort()).toEqual([41, 42, 43]);
    for (const g of got) {
      expect(g.body.DevEUI_uplink).toMatchObject({ DevEUI: '70B3D57ED0000001', FPort: 5, payload_hex: 'cafe' });
      expect(g.query.AS_ID).toBe(AS.TPX_AS_ID);
      expect(verifyUplink({ body: g.body, query: g.query, asKey: AS.TPX_AS_KEY, asId: AS.TPX_AS_ID })).toBe(true);
    }
    expect(t.stdout.text).not.toContain(AS.TPX_AS_KEY);
  });

  it('without --fcnt, two runs back to back never reuse a counter (the clock in ms, not in s)', async () => {
    const fcnts: number[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => {
        text += d;
      });
      req.on('end', () => {
        fcnts.push(JSON.parse(text).DevEUI_uplink.FCntUp);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
    const send = async (count: string) => {
      const t = createTestContext({ env: AS, json: true });
      expect(await runUplinkSend(t.ctx, { url, devEui: '70B3D57ED0000001', count })).toBe(0);
      return JSON.parse(t.stdout.text) as { fcntFirst: number };
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // QA's case: 3 uplinks at 10/s (300 ms), then at once 5 more, within the same second of the clock.
      vi.setSystemTime(1_700_000_000_000);
      const first = await send('3');
      vi.setSystemTime(1_700_000_000_300);
      const second = await send('5');
      expect(second.fcntFirst).toBeGreaterThan(first.fcntFirst + 2);
      expect(new Set(fcnts).size).toBe(8);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses --fcnt that --count would take past the largest FCntUp', async () => {
    const t = createTestContext({ env: AS });
    await expect(
      runUplinkSend(t.ctx, { devEui: '70B3D57ED0000001', fcnt: '4294967295', count: '2', url: 'http://127.0.0.1:1/u' }),
    ).rejects.toMatchObject({ code: 'TPX_USAGE', message: expect.stringContaining('past 4294967295') });
  });

  it('nothing listening at --url: says no bridge answered, not that a key is wrong', async () => {
    const t = createTestContext({ env: AS });
    const err = (await runUplinkSend(t.ctx, { devEui: '70B3D57ED0000001', url: 'http://127.0.0.1:1/uplink' }).catch(
      (e: unknown) => e,
    )) as { code: string; message: string; fix: string };
    expect(err).toMatchObject({
      code: 'TPX_UPLINK_UNREACHABLE',
      message: /No bridge answered at http:\/\/127\.0\.0\.1:1/,
    });
    expect(err.fix).not.toMatch(/AS_ID|AS key/);
    expect(t.stdout.text).toContain(
      '0 of 1 uplink(s) from 70B3D57ED0000001 accepted by http://127.0.0.1:1/uplink; 1 got no answer.',
    );
    expect(t.stdout.text).not.toContain('refused');
  });

  it('--json with refused uplinks: one JSON document holding the error, exit 1', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad_token"}'));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
    const h = tempConfigHome();
    const r = await runInProcess(['uplink', 'send', '--dev-eui', '70B3D57ED0000001', '--url', url, '--json'], {
      env: { ...h.env, ...AS },
    });
    h.cleanup();
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      sent: 1,
      accepted: 0,
      rejected: { '401': 1 },
      error: { code: 'TPX_UPLINK_REFUSED', fix: /AS key/ },
    });
    expect(r.stderr).toMatch(/error: The bridge refused 1 uplink/);
  });

  it('refuses bad input with usage errors before sending anything', async () => {
    const t = createTestContext({ env: AS });
    await expect(runUplinkSend(t.ctx, {})).rejects.toThrow(/--dev-eui/);
    await expect(runUplinkSend(t.ctx, { devEui: '1234' })).rejects.toThrow(/not a DevEUI/);
    await expect(runUplinkSend(t.ctx, { devEui: '70B3D57ED0000001', payload: 'abc' })).rejects.toThrow(/hexadecimal/);
    await expect(runUplinkSend(t.ctx, { devEui: '70B3D57ED0000001', fport: '0' })).rejects.toThrow(/--fport/);
    const noKey = createTestContext({ env: {} });
    await expect(runUplinkSend(noKey.ctx, { devEui: '70B3D57ED0000001' })).rejects.toThrow(/AS_ID and the AS key/);
  });

  it('--direct acts as the connector for one message (Thing created, values pushed)', async () => {
    w = await world();
    const dev = '70B3D57ED00000D1';
    const r = await runTpx(
      ['uplink', 'send', '--direct', '--dev-eui', dev, '--payload', '0a0b', '--fcnt', '9', '--json'],
      {
        env: w.env,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direct: true, thing: dev, created: true, fcnt: 9 });
    expect(w.twx.propertyValue(dev, 'FCntUp')).toBe(9);
    expect(w.twx.propertyValue(dev, 'payloadHex')).toBe('0a0b');
    expect(w.twx.boundThings()).not.toContain(dev);
  });
});
