/** Issue 15 item 6: messages that said something untrue, each observed case with the sentence it now says. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { runUplinkSend } from '../../src/cli/commands/uplink.js';
import { createTestContext } from '../../src/cli/context.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

const AS = { TPX_AS_ID: 'TWA_1.1.AS', TPX_AS_KEY: 'f3203a20a2e8dfaf6686b621f56d05e3' };
const home = tempConfigHome();
afterAll(() => home.cleanup());

describe('uplink send', () => {
  it('with nothing listening, says no bridge answered (not "refused", not "check the AS key")', async () => {
    const r = await runInProcess(
      ['uplink', 'send', '--dev-eui', '70B3D57ED0000001', '--url', 'http://127.0.0.1:1/uplink'],
      { env: { ...home.env, ...AS } },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: No bridge answered at http://127.0.0.1:1/uplink: ');
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('fix: Start the bridge (tpx bridge) or the sandbox, or give the ingest URL with --url');
    expect(r.stderr).not.toMatch(/refused|AS key/);
  });

  it('a 401 from the bridge is a refusal whose fix names the AS_ID/AS key', async () => {
    const server = createServer((_req, res) => res.writeHead(401).end('bad token'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
      const t = createTestContext({ env: AS });
      const err = await runUplinkSend(t.ctx, { url, devEui: '70B3D57ED0000001' }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'TPX_UPLINK_REFUSED',
        message: 'The bridge refused 1 uplink(s): HTTP 401: bad token',
        fix: expect.stringContaining('AS_ID/AS key'),
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the live line counts n/total', async () => {
    const server = createServer((_req, res) => res.writeHead(202).end('{"status":"accepted"}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
      const t = createTestContext({ env: AS, tty: true });
      await runUplinkSend(t.ctx, { url, devEui: '70B3D57ED0000001', count: '3', fcnt: '10' });
      expect(t.stderr.text).toContain('sent 3/3 · 3 accepted · FCntUp 12 -> 202');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('downlink push', () => {
  it('without --payload says it is missing (not: --payload "" is not hexadecimal)', async () => {
    const r = await runInProcess(['downlink', 'push', '--dev-eui', '70B3D57ED0000001'], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: Missing --payload.');
    expect(r.stderr).not.toContain('hexadecimal');
  });
});
