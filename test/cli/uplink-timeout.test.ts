/** `tpx uplink send` to a bridge that never answers: bounded by --timeout (it waited undici's 300 s). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

describe('uplink send --timeout', () => {
  it('gives up on a silent bridge after --timeout and says the uplink was not accepted', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplink`;
    try {
      const stdout = new BufferWriter();
      const stderr = new BufferWriter();
      const app = new App({ stdout, stderr, stdinIsTTY: false, env: { NO_COLOR: '1' } });
      const t0 = Date.now();
      const code = await runCli(
        ['uplink', 'send', '--dev-eui', '70B3D57ED0000001', '--url', url, '--no-sign', '--timeout', '300ms'],
        app,
      );
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(code).toBe(1);
      expect(stdout.text).toContain('0 of 1 uplink(s) from 70B3D57ED0000001 accepted');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
