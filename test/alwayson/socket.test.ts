import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectError, failureCause } from '../../src/alwayson/errors.js';
import { openSocket } from '../../src/alwayson/socket.js';

describe('openSocket', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives up after connectTimeoutMs on a platform that accepted the connection and froze, saying how long', async () => {
    // A frozen ThingWorx (SIGSTOP): the kernel accepts the TCP connection, nothing ever answers the TLS hello.
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { port } = server.address() as AddressInfo;
      const opening = openSocket(`wss://127.0.0.1:${port}/Thingworx/WS`, {
        appKey: 'k',
        chunkSize: 8192,
        maxPayload: 1 << 20,
        connectTimeoutMs: 10_000,
      });
      const outcome = opening.then(
        () => 'open',
        (e: unknown) => e,
      );
      await accepted;
      // ws's own handshakeTimeout is a socket idle timer (not faked here): only a limit of our own trips now.
      await vi.advanceTimersByTimeAsync(10_000);
      const error = await Promise.race([outcome, new Promise((r) => setImmediate(() => r('still waiting')))]);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as Error).message).toMatch(/127\.0\.0\.1:\d+.*within 10s/);
      expect(failureCause(error)).toBe('connect_timeout');
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
