/**
 * The REST API under /Thingworx with ThingWorx's rules (research/thingworx-rest.md §1): appKey header (or Basic),
 * no appKey in the URL, the CSRF content-type rule on POST/PUT/DELETE, JSON only with Accept: application/json
 * (HTML otherwise), infotable JSON results, empty 200 for services returning nothing, plain-text errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readText } from '../../util/read-text.js';
import type { InfoTableJson } from './json-values.js';
import { errors, PlatformError } from './permissions.js';
import type { Caller, Platform } from './platform.js';
import { definitionsTable } from './services-things.js';

const MAX_BODY = 4 * 1024 * 1024;
const CSRF_TYPES = /^(application\/json|application\/xml|text\/xml)\b/i;

function readBody(req: IncomingMessage): Promise<string> {
  return readText(req, MAX_BODY, () => new PlatformError(413, 'Request body too large'));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function html(t: InfoTableJson): string {
  const fields = Object.keys(t.dataShape.fieldDefinitions);
  const cell = (v: unknown) => escapeHtml(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? ''));
  const rows = t.rows.map((r) => `<tr>${fields.map((f) => `<td>${cell(r[f])}</td>`).join('')}</tr>`).join('');
  return `<html><body><table><tr>${fields.map((f) => `<th>${escapeHtml(f)}</th>`).join('')}</tr>${rows}</table></body></html>`;
}

export class RestApi {
  constructor(private readonly platform: Platform) {}

  private authenticate(req: IncomingMessage, url: URL): Caller {
    if (url.searchParams.has('appKey') || url.searchParams.has('appkey'))
      throw new PlatformError(401, 'ApplicationKey Is Not Allowed As A URL Parameter');
    const store = this.platform.store;
    const key = req.headers.appkey;
    if (key !== undefined) {
      const found = store.userForKey(String(key));
      if (!found) throw new PlatformError(401, 'Authentication failed: invalid or expired application key');
      return { user: found.user, keyName: found.key.name, via: 'rest' };
    }
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      const found = store.userForPassword(name, rest.join(':'));
      if (found) return { user: found.user, via: 'rest' };
    }
    throw new PlatformError(401, 'Authentication failed: no valid application key or credentials');
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let status = 200;
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      let segs: string[];
      try {
        segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw new PlatformError(400, `Malformed URL: ${url.pathname}`);
      }
      if (segs[0] !== 'Thingworx') throw new PlatformError(404, `Not Found: ${url.pathname}`);
      const caller = this.authenticate(req, url);
      const method = req.method ?? 'GET';
      if (method === 'POST' || method === 'PUT' || method === 'DELETE') {
        const ct = req.headers['content-type'] ?? '';
        const xsrf = req.headers['x-xsrf-token'] === 'TWX-XSRF-TOKEN-VALUE' && /^multipart\/form-data/i.test(ct);
        if (!CSRF_TYPES.test(ct) && !xsrf)
          throw new PlatformError(
            403,
            `Request with Content-Type [${ct}] rejected by the CSRF content-type filter; use application/json`,
          );
      }
      const text = await readBody(req);
      let body: Record<string, unknown> = {};
      if (text.trim() !== '' && /json/i.test(req.headers['content-type'] ?? '')) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
            body = parsed as Record<string, unknown>;
          else throw new Error('not an object');
        } catch {
          throw new PlatformError(400, 'Unable to parse the JSON request body');
        }
      }
      if (this.platform.delayMs > 0) await new Promise((r) => setTimeout(r, this.platform.delayMs));
      if (this.platform.failStatus !== null)
        throw new PlatformError(this.platform.failStatus, `Injected failure ${this.platform.failStatus}`);
      const result = await this.route(caller, method, segs.slice(1), body);
      this.platform.events.emit('rest', { method, path: url.pathname, status: 200, user: caller.user.name });
      if (result === null) {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
        return;
      }
      const accept = req.headers.accept ?? '';
      if (/application\/json/i.test(accept)) {
        const out = JSON.stringify(result);
        res.writeHead(200, {
          'content-type': 'application/json;charset=UTF-8',
          'content-length': Buffer.byteLength(out),
        });
        res.end(out);
      } else {
        const out =
          'dataShape' in result
            ? html(result as InfoTableJson)
            : `<html><body><pre>${escapeHtml(JSON.stringify(result))}</pre></body></html>`;
        res.writeHead(200, { 'content-type': 'text/html;charset=UTF-8', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      }
    } catch (err) {
      status = err instanceof PlatformError ? err.status : 500;
      const text = err instanceof Error ? err.message : String(err);
      this.platform.events.emit('rest', {
        method: req.method,
        path: (req.url ?? '').split('?')[0],
        status,
        error: text,
      });
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }
  }

  private async route(
    caller: Caller,
    method: string,
    segs: string[],
    body: Record<string, unknown>,
  ): Promise<InfoTableJson | Record<string, unknown> | null> {
    const p = this.platform;
    const [collection, entity, charColl, char] = segs;
    if (!collection) throw new PlatformError(404, 'Not Found: /Thingworx');
    if (entity === undefined) {
      if (method !== 'GET') throw new PlatformError(405, `Method ${method} not allowed`);
      return p.invoke(caller, 'Resources', 'EntityServices', 'GetEntityList', { type: collection.replace(/s$/, '') });
    }
    if (charColl === 'Services') {
      if (char === undefined) throw new PlatformError(404, 'Service name missing');
      if (method !== 'POST') throw new PlatformError(405, `Method ${method} not allowed on a service; use POST`);
      return p.invoke(caller, collection, entity, char, body);
    }
    if (collection === 'Things' && charColl === 'Properties') {
      if (method === 'GET') return p.readProperties(caller, entity, char);
      if (method === 'PUT' && char !== undefined && char !== '*') {
        if (!Object.hasOwn(body, char))
          throw errors.badRequest(`Request body must be a JSON object with the property [${char}]`);
        await p.writeProperty(caller, entity, char, body[char]);
        return null;
      }
      if (method === 'PUT') {
        for (const [k, v] of Object.entries(body)) await p.writeProperty(caller, entity, k, v);
        return null;
      }
      throw new PlatformError(405, `Method ${method} not allowed on properties`);
    }
    if (charColl === 'PropertyDefinitions' && method === 'GET') {
      p.requireEntity(caller, collection, entity, `/${segs.join('/')}/`);
      if (collection === 'Things')
        return definitionsTable(p.store.thingProperties(p.store.things.get(entity)!).values());
      if (collection === 'ThingTemplates') return definitionsTable(p.store.templateProperties(entity).values());
    }
    if (charColl === undefined && (collection === 'Things' || collection === 'ThingTemplates')) {
      if (method === 'GET') return this.entityJson(caller, collection, entity);
      if (method === 'DELETE') {
        const service = collection === 'Things' ? 'DeleteThing' : 'DeleteThingTemplate';
        p.requireEntity(caller, collection, entity, `/${collection}/${entity}/`);
        const { deleteEntity } = await import('./services-entity.js');
        deleteEntity(p, caller, collection, entity, service);
        return null;
      }
    }
    throw new PlatformError(404, `Not Found: /Thingworx/${segs.join('/')}`);
  }

  private entityJson(caller: Caller, collection: string, name: string): Record<string, unknown> {
    const p = this.platform;
    p.requireEntity(caller, collection, name, `/${collection}/${name}/`);
    if (collection === 'Things') {
      const t = p.store.things.get(name)!;
      return {
        name: t.name,
        description: t.description,
        thingTemplate: t.template,
        enabled: t.enabled,
        isSystemObject: false,
        owner: { name: t.owner, type: 'User' },
        tags: [],
      };
    }
    const t = p.store.templates.get(name)!;
    return {
      name: t.name,
      description: t.description,
      baseThingTemplate: t.base,
      isSystemObject: t.system,
      owner: { name: t.owner, type: 'User' },
      tags: [],
    };
  }
}
