/**
 * A small ThingWorx REST client (research/thingworx-rest.md §1–§7) on undici.
 *
 * - Authenticates with the `appKey` header (never the URL parameter), asks for JSON (`Accept`), and follows the
 *   CSRF rule: every POST/PUT/DELETE carries `Content-Type: application/json` (a service without inputs sends `{}`);
 *   `X-XSRF-TOKEN: TWX-XSRF-TOKEN-VALUE` (a fixed literal, not a token to fetch) goes on every request.
 * - TLS is verified (TLS 1.2 minimum) unless `insecure`; a CA file's contents can be given as `ca`.
 * - Plain-text error bodies become a ThingWorxError with the status, the platform's text and the fix.
 * - Only idempotent reads are retried (GET, and the read-only services in READ_SERVICES), on network errors
 *   and 502/503/504.
 */
import { Agent, type Dispatcher } from 'undici';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  HttpError,
  type HttpEvent,
  type HttpResponse,
  httpRequest,
} from '../util/http.js';
import { httpError, networkError, ThingWorxError } from './errors.js';
import { FIX } from './fixes.js';
import { asInfoTable, normaliseThingWorxUrl, parseBody, READ_SERVICES, RETRY_STATUS } from './rest-policy.js';
import type {
  EntityListRow,
  InfoTableJson,
  PropertyDefinition,
  PropertyDefinitionInput,
  ThingTemplateInfo,
} from './types.js';
import { parsePropertyDefinitions } from './types.js';

export { asInfoTable, normaliseThingWorxUrl, READ_SERVICES } from './rest-policy.js';
/** The platform's JSON shapes (types.ts), for the callers of this client. */
export type * from './types.js';

export interface ThingWorxRestOptions {
  /** https://host:port (a trailing /Thingworx is accepted and dropped). */
  url: string;
  appKey: string;
  /** PEM contents of a CA to trust (not a file name). */
  ca?: string | Buffer;
  /** Skip certificate verification (never in production). */
  insecure?: boolean;
  /** Total time of one call, retries included (default 30 000 ms; the CLI's --timeout). */
  timeoutMs?: number;
  /** Every HTTP attempt (start, end, retry): for a progress spinner. */
  onHttp?: (e: HttpEvent) => void;
  /** Retries of idempotent reads, default 2. */
  retries?: number;
  /** Use this dispatcher instead of an own Agent (it is not closed by close()). */
  dispatcher?: Dispatcher;
  /** Accept an http:// URL (diagnosis only: the connector needs TLS). Default false. */
  allowPlainHttp?: boolean;
}

export interface RequestOptions {
  /** Retry on network errors and 502/503/504 (only for calls without side effects). */
  idempotent?: boolean;
  signal?: AbortSignal;
}

function encodePath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

export class ThingWorxRest {
  readonly origin: string;
  private readonly appKey: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly onHttp: ((e: HttpEvent) => void) | undefined;

  constructor(options: ThingWorxRestOptions) {
    this.origin = normaliseThingWorxUrl(options.url, options.allowPlainHttp).origin;
    this.appKey = options.appKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.onHttp = options.onHttp;
    this.retries = options.retries ?? 2;
    this.ownDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: {
          ...(options.ca ? { ca: options.ca } : {}),
          minVersion: 'TLSv1.2',
          rejectUnauthorized: !options.insecure,
          timeout: Math.min(DEFAULT_CONNECT_TIMEOUT_MS, this.timeoutMs),
        },
        connections: 8,
      });
  }

  /**
   * Raw call: `path` below /Thingworx/ (e.g. "Things/ABC/Properties"). Returns the parsed JSON body, or an empty
   * infotable for the empty body of a service returning NOTHING.
   */
  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<unknown> {
    const url = `${this.origin}/Thingworx/${encodePath(path)}`;
    const label = `${method} ${path}`;
    const headers: Record<string, string> = {
      appKey: this.appKey,
      Accept: 'application/json',
      'X-XSRF-TOKEN': 'TWX-XSRF-TOKEN-VALUE',
    };
    let payload: string | undefined;
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body ?? {});
    }
    const idempotent = Boolean(opts.idempotent || method === 'GET');
    let res: HttpResponse;
    try {
      res = await httpRequest({
        method,
        url,
        headers,
        body: payload,
        dispatcher: this.dispatcher,
        signal: opts.signal,
        timeoutMs: this.timeoutMs,
        service: 'ThingWorx',
        operation: `calling ${label}`,
        setting: 'thingworxUrl',
        retry: { idempotent, attempts: 1 + this.retries, statuses: RETRY_STATUS, backoff: { initialMs: 200 } },
        onEvent: this.onHttp,
      });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (err.code === 'TPX_HTTP_TIMEOUT') {
        throw new ThingWorxError('TPX_TWX_TIMEOUT', err.message, {
          status: 0,
          platformText: '',
          request: label,
          cause: err,
          fix: FIX.unreachable,
          details: { ...err.details },
        });
      }
      const e = networkError(err.cause ?? err, this.origin, label);
      Object.assign(e.details ?? {}, {
        service: 'ThingWorx',
        host: err.details.host,
        operation: err.details.operation,
      });
      throw e;
    }
    if (res.status >= 200 && res.status < 300)
      return parseBody(res.text, String(res.headers['content-type'] ?? ''), label);
    throw httpError(res.status, res.text, label);
  }

  /** Executes a service: POST /Thingworx/<entityPath>/Services/<service> with the inputs as a JSON object. */
  async service(
    entityPath: string,
    service: string,
    params: object = {},
    opts: RequestOptions = {},
  ): Promise<InfoTableJson> {
    const idempotent = opts.idempotent ?? READ_SERVICES.has(service);
    const json = await this.call('POST', `${entityPath}/Services/${service}`, params, { ...opts, idempotent });
    return asInfoTable(json);
  }

  /** The `result` of a service returning a scalar (first row), or undefined. */
  async serviceResult<T = unknown>(
    entityPath: string,
    service: string,
    params: object = {},
    opts?: RequestOptions,
  ): Promise<T | undefined> {
    const it = await this.service(entityPath, service, params, opts);
    return it.rows[0]?.result as T | undefined;
  }

  /** The user of the application key (CurrentSessionInfo.GetCurrentUser). A 401 means the key is rejected. */
  async getCurrentUser(): Promise<string> {
    const user = await this.serviceResult<string>('Resources/CurrentSessionInfo', 'GetCurrentUser');
    if (typeof user !== 'string' || user === '') {
      throw new ThingWorxError('TPX_TWX_BAD_RESPONSE', 'ThingWorx returned no user for the application key.', {
        status: 200,
        platformText: '',
        fix: 'Check that the URL points at ThingWorx (https://host:port).',
      });
    }
    return user;
  }

  /** EntityServices.GetEntityList: entities of a type the user may see. `type` is singular: Thing, ThingTemplate… */
  async getEntityList(
    type: string,
    options: { nameMask?: string; maxItems?: number; tags?: string } = {},
  ): Promise<EntityListRow[]> {
    const params: Record<string, unknown> = { type, maxItems: options.maxItems ?? 500 };
    if (options.nameMask !== undefined) params.nameMask = options.nameMask;
    if (options.tags !== undefined) params.tags = options.tags;
    const it = await this.service('Resources/EntityServices', 'GetEntityList', params);
    return it.rows.map((r) => ({ ...r, name: String(r.name ?? '') }) as EntityListRow);
  }

  /**
   * All names of a type starting with `prefix`, however many. GetEntityList has no offset, so when a page comes
   * back full the prefix is split over `alphabet` (default the upper-case hex digits of DevEUIs) and each part
   * listed again. Names whose next character is outside the alphabet are missed: pick the alphabet to fit.
   */
  async listEntityNames(
    type: string,
    options: { prefix?: string; pageSize?: number; alphabet?: string } = {},
  ): Promise<string[]> {
    const pageSize = options.pageSize ?? 1000;
    const alphabet = options.alphabet ?? '0123456789ABCDEF';
    const found = new Set<string>();
    const walk = async (prefix: string): Promise<void> => {
      const rows = await this.getEntityList(type, { nameMask: `${prefix}*`, maxItems: pageSize });
      if (rows.length < pageSize) {
        for (const r of rows) found.add(r.name);
        return;
      }
      const exact = await this.getEntityList(type, { nameMask: prefix, maxItems: 1 });
      for (const r of exact) if (r.name === prefix) found.add(r.name);
      for (const ch of alphabet) await walk(prefix + ch);
    };
    await walk(options.prefix ?? '');
    return [...found].sort();
  }

  async createThing(name: string, template: string, description?: string, opts?: RequestOptions): Promise<void> {
    await this.service(
      'Resources/EntityServices',
      'CreateThing',
      { name, thingTemplateName: template, ...(description !== undefined ? { description } : {}) },
      opts,
    );
  }

  async enableThing(name: string, opts?: RequestOptions): Promise<void> {
    await this.service(`Things/${name}`, 'EnableThing', {}, opts);
  }

  async restartThing(name: string, opts?: RequestOptions): Promise<void> {
    await this.service(`Things/${name}`, 'RestartThing', {}, opts);
  }

  /** Deletes a Thing (DELETE /Things/<name>; the owner may, without a DeleteThing service right). */
  async deleteThing(name: string): Promise<void> {
    await this.call('DELETE', `Things/${name}`);
  }

  async deleteThingTemplate(name: string): Promise<void> {
    await this.call('DELETE', `ThingTemplates/${name}`);
  }

  /** CreateThingTemplate; the base template goes in `thingTemplateName` (there is no baseThingTemplate input). */
  async createThingTemplate(name: string, baseTemplate = 'RemoteThing', description?: string): Promise<void> {
    await this.service('Resources/EntityServices', 'CreateThingTemplate', {
      name,
      thingTemplateName: baseTemplate,
      ...(description !== undefined ? { description } : {}),
    });
  }

  /** The template's entity (GET /ThingTemplates/<name>), or undefined when ThingWorx says it is not found. */
  async getThingTemplate(name: string): Promise<ThingTemplateInfo | undefined> {
    try {
      const json = (await this.call('GET', `ThingTemplates/${name}`)) as Record<string, unknown>;
      const base = json.baseThingTemplate ?? json.thingTemplate;
      return {
        name: String(json.name ?? name),
        baseThingTemplate: typeof base === 'string' ? base : undefined,
        description: typeof json.description === 'string' ? json.description : undefined,
        raw: json,
      };
    } catch (err) {
      if (err instanceof ThingWorxError && err.code === 'TPX_TWX_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** The property definitions of a Thing Template (GET /ThingTemplates/<name>/PropertyDefinitions). */
  async getPropertyDefinitions(template: string): Promise<PropertyDefinition[]> {
    const json = await this.call('GET', `ThingTemplates/${template}/PropertyDefinitions`);
    return parsePropertyDefinitions(json);
  }

  /** AddPropertyDefinition on a Thing Template (or on a Thing with `collection: 'Things'`). */
  async addPropertyDefinition(
    template: string,
    def: PropertyDefinitionInput,
    collection: 'ThingTemplates' | 'Things' = 'ThingTemplates',
  ): Promise<void> {
    await this.service(`${collection}/${template}`, 'AddPropertyDefinition', def);
  }

  /** All property values of a Thing (GET /Things/<t>/Properties: one row, a field per property). */
  async getProperties(thing: string, opts?: RequestOptions): Promise<Record<string, unknown>> {
    const it = asInfoTable(await this.call('GET', `Things/${thing}/Properties`, undefined, opts));
    return it.rows[0] ?? {};
  }

  /** Writes properties, one PUT /Things/<t>/Properties/<p> with {"<p>": value} each (the documented form). */
  async setProperties(thing: string, values: Record<string, unknown>): Promise<void> {
    for (const [name, value] of Object.entries(values)) {
      await this.call('PUT', `Things/${thing}/Properties/${name}`, { [name]: value });
    }
  }

  /** Things.QueryPropertyHistory: logged values, newest first unless oldestFirst. */
  async queryPropertyHistory(
    thing: string,
    options: { startDate?: Date; endDate?: Date; maxItems?: number; oldestFirst?: boolean; query?: object } = {},
  ): Promise<Record<string, unknown>[]> {
    const params: Record<string, unknown> = {
      maxItems: options.maxItems ?? 500,
      oldestFirst: options.oldestFirst ?? false,
    };
    if (options.startDate) params.startDate = options.startDate.getTime();
    if (options.endDate) params.endDate = options.endDate.getTime();
    if (options.query) params.query = options.query;
    const it = await this.service(`Things/${thing}`, 'QueryPropertyHistory', params);
    return it.rows;
  }

  /**
   * Closes the own connection pool (not a dispatcher given in the options). `now`: destroys it, ending the calls in
   * flight and their sockets at once (a graceful close waits for them, and a frozen platform never answers).
   */
  async close(options: { now?: boolean } = {}): Promise<void> {
    if (!this.ownDispatcher) return;
    if (options.now) await this.dispatcher.destroy();
    else await this.dispatcher.close();
  }
}
