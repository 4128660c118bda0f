import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificate } from '../../src/emulators/tls.js';
import { classifyThingWorxText, ThingWorxError } from '../../src/thingworx/errors.js';
import { normaliseThingWorxUrl, ThingWorxRest } from '../../src/thingworx/rest.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

describe('ThingWorxRest', () => {
  let server: Server;
  let url: string;
  let ca: string;
  const seen: Seen[] = [];
  let handler: Handler = (_r, res) => res.end();

  beforeAll(async () => {
    const tls = await generateCertificate();
    ca = readFileSync(tls.caFile, 'utf8');
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        seen.push(s);
        handler(s, res);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const client = () => new ThingWorxRest({ url, appKey: 'key-0123456789abcdef', ca, retries: 2 });

  it('sends the app key, JSON and CSRF headers and parses the infotable', async () => {
    seen.length = 0;
    handler = (_r, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ dataShape: { fieldDefinitions: {} }, rows: [{ result: 'tpxuser' }] }));
    };
    const c = client();
    expect(await c.getCurrentUser()).toBe('tpxuser');
    await c.close();
    const r = seen[0]!;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/Thingworx/Resources/CurrentSessionInfo/Services/GetCurrentUser');
    expect(r.headers.appkey).toBe('key-0123456789abcdef');
    expect(r.headers.accept).toBe('application/json');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-xsrf-token']).toBe('TWX-XSRF-TOKEN-VALUE');
    expect(r.body).toBe('{}');
  });

  it('treats the empty body of a NOTHING service as success and encodes names', async () => {
    seen.length = 0;
    handler = (_r, res) => res.end();
    const c = client();
    await c.createThing('A B', 'actilityThingTemplateSF');
    await c.enableThing('A B');
    await c.close();
    expect(JSON.parse(seen[0]!.body)).toEqual({ name: 'A B', thingTemplateName: 'actilityThingTemplateSF' });
    expect(seen[1]!.url).toBe('/Thingworx/Things/A%20B/Services/EnableThing');
  });

  it('turns the plain-text error into a ThingWorxError with the fix', async () => {
    handler = (_r, res) => {
      res.statusCode = 403;
      res.end('Not authorized for ServiceInvoke on GetEntityList in EntityServices');
    };
    const c = client();
    const err = await c.getEntityList('Thing').catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(ThingWorxError);
    const e = err as ThingWorxError;
    expect(e.code).toBe('TPX_TWX_SERVICE_DENIED');
    expect(e.status).toBe(403);
    expect(e.platformText).toContain('GetEntityList');
    expect(e.fix).toMatch(/Run Time, add GetEntityList/);
  });

  it('retries an idempotent read on 503, never a create', async () => {
    seen.length = 0;
    let n = 0;
    handler = (_r, res) => {
      n += 1;
      if (n === 1) {
        res.statusCode = 503;
        res.end('busy');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ rows: [{ name: 'X' }] }));
    };
    const c = client();
    expect((await c.getEntityList('Thing')).map((r) => r.name)).toEqual(['X']);
    expect(seen.length).toBe(2);
    seen.length = 0;
    n = 0;
    await expect(c.createThing('Y', 'T')).rejects.toMatchObject({ status: 503 });
    expect(seen.length).toBe(1);
    await c.close();
  });

  it('a 401 is a rejected key', async () => {
    handler = (_r, res) => {
      res.statusCode = 401;
      res.end('<html><head><title>HTTP Status 401 – Unauthorized</title></head></html>');
    };
    const c = client();
    await expect(c.getCurrentUser()).rejects.toMatchObject({ code: 'TPX_TWX_UNAUTHORIZED', status: 401 });
    await c.close();
  });

  it('refuses an untrusted certificate and a plain http URL', async () => {
    const c = new ThingWorxRest({ url, appKey: 'k', retries: 0 });
    await expect(c.getCurrentUser()).rejects.toMatchObject({ code: 'TPX_TWX_TLS' });
    await c.close();
    expect(() => new ThingWorxRest({ url: 'http://127.0.0.1:1', appKey: 'k' })).toThrow(/plain HTTP/);
  });

  it('pages GetEntityList by splitting the name prefix when a page is full', async () => {
    const names = ['00A', '00B', '01C', '0F1', '1AB'];
    handler = (r, res) => {
      const p = JSON.parse(r.body) as { nameMask: string; maxItems: number };
      const re = new RegExp(`^${p.nameMask.replace('*', '.*')}$`);
      const rows = names.filter((x) => re.test(x)).slice(0, p.maxItems);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ rows: rows.map((name) => ({ name })) }));
    };
    const c = client();
    expect(await c.listEntityNames('Thing', { pageSize: 2 })).toEqual(names);
    await c.close();
  });
});

describe('normaliseThingWorxUrl', () => {
  it("accepts host:port as the connector's hostName does, and drops any path", () => {
    expect(normaliseThingWorxUrl('twx.example.com:8443').origin).toBe('https://twx.example.com:8443');
    expect(normaliseThingWorxUrl('twx.example.com').origin).toBe('https://twx.example.com');
    expect(normaliseThingWorxUrl('https://twx.example.com/Thingworx/Composer/index.html').origin).toBe(
      'https://twx.example.com',
    );
    expect(() => normaliseThingWorxUrl('http://twx.example.com')).toThrow(/plain HTTP/);
    expect(normaliseThingWorxUrl('http://twx.example.com', true).protocol).toBe('http:');
    expect(() => normaliseThingWorxUrl('ftp://x')).toThrow(/not an https/);
    expect(() => normaliseThingWorxUrl('https://')).toThrow(/not a ThingWorx URL/);
  });
});

describe('classifyThingWorxText', () => {
  it('recognises the reference document texts', () => {
    expect(
      classifyThingWorxText(
        'Unable to dispatch [ uri = /Resources/EntityServices/Services/GetEntityList/]: Entity EntityServices does not exist or is not yet associated with a Thing',
      ),
    ).toMatchObject({ code: 'TPX_TWX_NO_VISIBILITY', details: { entity: 'EntityServices' } });
    expect(classifyThingWorxText('Not authorized for Create on Things')).toMatchObject({
      code: 'TPX_TWX_DESIGN_TIME_DENIED',
    });
    expect(classifyThingWorxText('Entity Not Found : [actilityThingTemplateSF]')).toMatchObject({
      code: 'TPX_TWX_NOT_FOUND',
      details: { entity: 'actilityThingTemplateSF' },
    });
    expect(classifyThingWorxText('something else')).toBeUndefined();
  });
});
