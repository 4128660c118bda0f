/** The one HTTP helper against small fake servers: hanging, slow, 5xx, wrong TLS. Short timeouts, no sleeps. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError, type HttpEvent, httpRequest } from '../../src/util/http.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const base = { service: 'ThingPark', operation: 'listing connections', setting: 'thingparkUrl' } as const;

describe('httpRequest', () => {
  it('gives up on a server that never answers after the total time, with data to render', async () => {
    const host = await serve(() => undefined);
    const t0 = Date.now();
    const err = await httpRequest({ ...base, method: 'GET', url: `http://${host}/x`, timeoutMs: 200 }).catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({
      code: 'TPX_HTTP_TIMEOUT',
      message: `ThingPark at ${host} did not answer within 200ms (listing connections).`,
      details: { service: 'ThingPark', host, operation: 'listing connections', timeoutMs: 200, phase: 'headers' },
    });
  });

  it('does not retry a call that ran out of time, even when idempotent', async () => {
    let hits = 0;
    const host = await serve(() => {
      hits += 1;
    });
    await expect(
      httpRequest({ ...base, method: 'GET', url: `http://${host}/`, timeoutMs: 150, retry: { idempotent: true } }),
    ).rejects.toMatchObject({ code: 'TPX_HTTP_TIMEOUT' });
    expect(hits).toBe(1);
  });

  it('times out a body that stops half-way (phase body)', async () => {
    const host = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
    });
    await expect(httpRequest({ ...base, method: 'GET', url: `http://${host}/`, timeoutMs: 200 })).rejects.toMatchObject(
      { code: 'TPX_HTTP_TIMEOUT', details: { phase: 'body' } },
    );
  });

  it('waits for a slow server that answers within the time', async () => {
    const host = await serve((_req, res) => {
      setTimeout(() => res.end('ok'), 100);
    });
    const r = await httpRequest({ ...base, method: 'GET', url: `http://${host}/`, timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 200, text: 'ok' });
  });

  it('retries 5xx of idempotent calls with the one backoff, bounded in attempts; never a POST', async () => {
    let hits = 0;
    const host = await serve((_req, res) => {
      hits += 1;
      res.writeHead(503).end('busy');
    });
    const events: HttpEvent[] = [];
    const sleeps: number[] = [];
    const r = await httpRequest({
      ...base,
      method: 'GET',
      url: `http://${host}/`,
      retry: { idempotent: true, attempts: 3 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 1,
      onEvent: (e) => events.push(e),
    });
    expect(r.status).toBe(503);
    expect(hits).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.reason)).toEqual(['HTTP 503', 'HTTP 503']);
    hits = 0;
    expect((await httpRequest({ ...base, method: 'POST', url: `http://${host}/`, body: '{}' })).status).toBe(503);
    expect(hits).toBe(1);
  });

  it('does not wait for a Retry-After longer than the time left', async () => {
    let hits = 0;
    const host = await serve((_req, res) => {
      hits += 1;
      res.writeHead(503, { 'retry-after': '60' }).end();
    });
    const t0 = Date.now();
    const r = await httpRequest({
      ...base,
      method: 'GET',
      url: `http://${host}/`,
      timeoutMs: 1000,
      retry: { idempotent: true },
    });
    expect(r.status).toBe(503);
    expect(hits).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('says in one line that a plain-HTTP server answered an https:// URL (no retry)', async () => {
    const host = await serve((_req, res) => {
      res.end('plain');
    });
    const err = (await httpRequest({
      ...base,
      method: 'GET',
      url: `https://${host}/`,
      retry: { idempotent: true },
    }).catch((e) => e)) as HttpError;
    expect(err).toMatchObject({ code: 'TPX_HTTP_NOT_TLS', details: { host, service: 'ThingPark' } });
    expect(err.message).toBe(`ThingPark at ${host} does not speak TLS: a plain-HTTP server answered the https:// URL.`);
    expect(err.message).not.toContain('\n');
  });

  it('reports a refused connection as unreachable after the retries', async () => {
    const host = await serve(() => undefined);
    const s = servers.pop() as Server;
    await new Promise((r) => s.close(r));
    const sleeps: number[] = [];
    const err = await httpRequest({
      ...base,
      method: 'GET',
      url: `http://${host}/`,
      retry: { idempotent: true, attempts: 2 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TPX_HTTP_UNREACHABLE', details: { errno: 'ECONNREFUSED', host } });
    expect(sleeps).toHaveLength(1);
  });
});
