import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { generateCertificate } from '../../src/emulators/tls.js';

describe('emulator TLS', () => {
  it('generates a certificate that a client trusting the CA file accepts for 127.0.0.1', async () => {
    const tls = await generateCertificate();
    const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (_q, s) => s.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const { readFileSync } = await import('node:fs');
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(tls.caFile), servername: undefined });
    await once(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    socket.destroy();
    server.close();
  });
});
