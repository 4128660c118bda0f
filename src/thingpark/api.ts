/**
 * ThingPark IoT Flow connections API client (research/thingpark.md §3): DX Core on ThingPark Enterprise /
 * Community (`/thingpark/dx/core/latest/api`) or IoT Flow on an operator instance (`/iot-flow/v1`).
 * Bearer tokens from TokenProvider (one retry after a 401 with a fresh token); retries with backoff only for
 * idempotent calls (GET, PUT, DELETE); `{code, message}` errors become ThingParkApiError with a plain sentence.
 */
import type { Dispatcher } from 'undici';
import { type Phrase, TpxError, UsageError } from '../errors.js';
import { formatDuration, formatElapsed } from '../util/duration.js';
import { DEFAULT_TIMEOUT_MS, type HttpEvent, httpRequest } from '../util/http.js';
import { TokenProvider } from './oauth.js';

export type ApiFlavour = 'dx' | 'iotflow';
export const API_PATHS: Record<ApiFlavour, string> = {
  dx: '/thingpark/dx/core/latest/api',
  iotflow: '/iot-flow/v1',
};
export const TOKEN_PATH = '/users-auth/protocol/openid-connect/token';
/** The legacy DX Admin token endpoint (same form fields); give it as the token URL where Keycloak is absent. */
export const DX_ADMIN_TOKEN_PATH = '/thingpark/dx/admin/latest/api/oauth/token';
/** Items of a DX Core `pageIndex` page (a community client assumes 100: UNCONFIRMED). */
export const DX_PAGE_SIZE = 100;

/** A connection as the API returns it (secrets masked as `*****`). */
export interface Connection {
  id: string;
  connectorId: string;
  name: string;
  active?: boolean;
  state?: string;
  startupTime?: string;
  alarms?: unknown[];
  configuration: Record<string, unknown>;
}

/** What create and update send. */
export interface ConnectionBody {
  connectorId: string;
  name: string;
  active?: boolean;
  alarms?: unknown[];
  configuration: Record<string, unknown>;
}

export interface ConnectorInfo {
  id: string;
  version?: string;
  description?: string;
  connection?: { configurationSchema?: Record<string, unknown> };
}

export interface ClientEvent {
  type: 'request' | 'retry' | 'token';
  message: string;
}

export interface ThingParkClientOptions {
  /** https://host (the flavour's path is added) or a full API base URL. */
  url: string;
  flavour?: ApiFlavour;
  clientId: string;
  clientSecret: string;
  /** Default: <origin>/users-auth/protocol/openid-connect/token. */
  tokenUrl?: string;
  dispatcher?: Dispatcher;
  /** Attempts for idempotent calls (default 3). */
  attempts?: number;
  /** First backoff delay in ms (default 250; doubled each time, Retry-After honoured up to 10 s). */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source of the backoff (tests pass () => 1 for the full step). */
  random?: () => number;
  now?: () => number;
  /** DX Core `pageIndex` page size (default 100; UNCONFIRMED, 0 turns pageIndex paging off). */
  dxPageSize?: number;
  /** Total time of one call, retries and a token renewal included (default 30 s). */
  timeoutMs?: number;
  onEvent?: (e: ClientEvent) => void;
  /** Every HTTP attempt (start, end, retry): for a progress spinner. */
  onHttp?: (e: HttpEvent) => void;
}

/** "list the connections" -> "listing the connections" (for the data of errors). */
export function gerund(what: string): string {
  const [verb, ...rest] = what.split(' ');
  const v = verb ?? '';
  const ing = v.endsWith('e') && !v.endsWith('ee') ? `${v.slice(0, -1)}ing` : `${v}ing`;
  return [ing, ...rest].join(' ');
}

export class ThingParkApiError extends TpxError {
  constructor(
    message: string,
    fix: Phrase,
    readonly status: number,
    readonly apiCode: string | number | undefined,
    readonly apiMessage: string | undefined,
  ) {
    super('TPX_THINGPARK_API', message, {
      fix,
      details: { status, ...(apiCode !== undefined ? { apiCode } : {}), ...(apiMessage ? { apiMessage } : {}) },
    });
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Resolves the API base URL and the token URL; refuses plain http except on loopback. */
export function apiEndpoints(
  url: string,
  flavour?: ApiFlavour,
  tokenUrl?: string,
): { base: string; tokenUrl: string; flavour: ApiFlavour } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `The ThingPark URL "${url}" is not a URL.`,
      'Give it as https://host (e.g. https://community.thingpark.io).',
    );
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) {
    throw new UsageError(
      `The ThingPark URL must use https (got ${u.protocol}//${u.host}).`,
      'Use https://…; plain http is accepted only for a local emulator on 127.0.0.1.',
    );
  }
  const path = u.pathname.replace(/\/+$/, '');
  const f: ApiFlavour = flavour ?? (path.includes('/iot-flow') ? 'iotflow' : 'dx');
  const base = path === '' ? `${u.origin}${API_PATHS[f]}` : `${u.origin}${path}`;
  return { base, tokenUrl: tokenUrl ?? `${u.origin}${TOKEN_PATH}`, flavour: f };
}

export function parseFlavour(value: string | undefined): ApiFlavour | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase().replace(/[^a-z]/g, '');
  if (v === 'dx' || v === 'dxcore' || v === 'tpe') return 'dx';
  if (v === 'iotflow' || v === 'tpw') return 'iotflow';
  throw new UsageError(
    `Unknown ThingPark API flavour "${value}".`,
    'Use dx (ThingPark Enterprise/Community, DX Core) or iotflow (operator IoT Flow v1).',
  );
}

function plainError(
  status: number,
  method: string,
  what: string,
  apiCode: string | number | undefined,
  apiMessage: string | undefined,
): ThingParkApiError {
  const said = apiMessage ? `: ${apiMessage.replace(/\.$/, '')}` : '';
  let message: string;
  let fix: Phrase;
  if (status === 400 || status === 422) {
    message = `ThingPark refused the request to ${what}${said}.`;
    fix = 'Correct the value named above and try again.';
  } else if (status === 401) {
    message = `ThingPark did not accept the access token even after renewing it${said}.`;
    fix = { id: 'thingpark-flavour' };
  } else if (status === 403) {
    message = `This account may not ${what}${said}.`;
    fix = 'Ask your ThingPark administrator for the IoT Flow connection rights.';
  } else if (status === 404) {
    message = `ThingPark found nothing to ${what}${said}.`;
    // Only a call naming one connection can be fixed by its id; a 404 on a collection means a wrong URL or flavour.
    fix = /^(read|update|delete) connection /.test(what)
      ? { id: 'connection-list', what: 'id' }
      : 'Check the ThingPark URL and the API flavour (dx or iotflow): this path does not exist there.';
  } else if (status === 409) {
    message = `ThingPark refused to ${what}${said}.`;
    fix = /maximum/i.test(apiMessage ?? '')
      ? { id: 'connection-delete' }
      : 'Resolve the conflict named above and try again.';
  } else if (status === 429) {
    message = `ThingPark is rate-limiting requests (HTTP 429) while trying to ${what}.`;
    fix = 'Wait a minute and try again.';
  } else if (status >= 500) {
    message = `ThingPark had an internal error (HTTP ${status}) while trying to ${what}${said}.`;
    fix = method === 'POST' ? { id: 'connection-list', what: 'created' } : 'Try again later.';
  } else {
    message = `ThingPark answered HTTP ${status} while trying to ${what}${said}.`;
    fix = 'Check the ThingPark URL and API flavour.';
  }
  return new ThingParkApiError(message, fix, status, apiCode, apiMessage);
}

function normaliseConnection(v: unknown): Connection {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const c: Connection = {
    ...(o as object),
    id: String(o.id ?? ''),
    connectorId: String(o.connectorId ?? ''),
    name: String(o.name ?? ''),
    configuration:
      o.configuration && typeof o.configuration === 'object' ? (o.configuration as Record<string, unknown>) : {},
  };
  return c;
}

export class ThingParkClient {
  readonly base: string;
  readonly flavour: ApiFlavour;
  readonly tokens: TokenProvider;

  constructor(private readonly o: ThingParkClientOptions) {
    const e = apiEndpoints(o.url, o.flavour, o.tokenUrl);
    this.base = e.base;
    this.flavour = e.flavour;
    this.tokens = new TokenProvider({
      tokenUrl: e.tokenUrl,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      dispatcher: o.dispatcher,
      now: o.now,
      timeoutMs: o.timeoutMs,
      onHttp: o.onHttp,
      setting: o.tokenUrl ? 'thingparkTokenUrl' : 'thingparkUrl',
      onToken: ({ expiresIn }) =>
        o.onEvent?.({ type: 'token', message: `new access token (expires in ${formatDuration(expiresIn * 1000)})` }),
    });
  }

  /** The URL a path resolves to (for --dry-run). */
  urlOf(path: string): string {
    return `${this.base}${path}`;
  }

  /** Every connection; follows `Link: <…>; rel="next"` pages (IoT Flow API guidelines) on the same API base. */
  /**
   * Every connection. Follows `Link: <…>; rel="next"` pages (IoT Flow API guidelines) on the same API base. On DX
   * Core, a page without a Link that holds exactly dxPageSize connections is followed by `?pageIndex=2, 3…` (as a
   * community DX client pages; UNCONFIRMED), until a short page, or a page that repeats one already seen (a server
   * that ignores pageIndex).
   */
  async listConnections(purpose = 'list connections'): Promise<Connection[]> {
    const all: Connection[] = [];
    const seen = new Set<string>();
    const dxPageSize = this.o.dxPageSize ?? DX_PAGE_SIZE;
    let path: string | undefined = '/connections';
    let pageIndex = 1;
    for (let page = 0; path && page < 1000; page++) {
      const { json: body, next } = await this.exchange('GET', path, purpose);
      const arr = Array.isArray(body)
        ? body
        : Array.isArray((body as { items?: unknown })?.items)
          ? (body as { items: unknown[] }).items
          : [];
      const items = arr.map(normaliseConnection);
      if (items.length && items.every((c) => seen.has(c.id))) break; // pageIndex ignored: the same page again
      for (const c of items) seen.add(c.id);
      all.push(...items);
      path = next;
      if (!path && this.flavour === 'dx' && dxPageSize > 0 && items.length === dxPageSize) {
        pageIndex += 1;
        path = `/connections?pageIndex=${pageIndex}`;
      }
    }
    return all;
  }

  /** The path (relative to the API base) of a `rel="next"` link, only when it stays on this API base. */
  private nextPath(link: string | string[] | undefined): string | undefined {
    const text = Array.isArray(link) ? link.join(',') : link;
    const m = text ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(text) : null;
    if (!m) return undefined;
    let u: URL;
    try {
      u = new URL(m[1]!, this.base);
    } catch {
      return undefined;
    }
    const base = new URL(this.base);
    if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) return undefined;
    return `${u.pathname.slice(base.pathname.length)}${u.search}`;
  }

  async getConnection(id: string): Promise<Connection> {
    return normaliseConnection(
      await this.call('GET', `/connections/${encodeURIComponent(id)}`, `read connection ${id}`),
    );
  }

  async createConnection(body: ConnectionBody): Promise<Connection> {
    return normaliseConnection(await this.call('POST', '/connections', `create connection "${body.name}"`, body));
  }

  async updateConnection(id: string, body: ConnectionBody): Promise<Connection> {
    return normaliseConnection(
      await this.call('PUT', `/connections/${encodeURIComponent(id)}`, `update connection ${id}`, body),
    );
  }

  async deleteConnection(id: string): Promise<void> {
    await this.call('DELETE', `/connections/${encodeURIComponent(id)}`, `delete connection ${id}`);
  }

  async listConnectors(purpose = 'list the connectors'): Promise<ConnectorInfo[]> {
    const body = await this.call('GET', '/connectors', purpose);
    return (Array.isArray(body) ? body : []).filter((c): c is ConnectorInfo =>
      Boolean(c && typeof c === 'object' && typeof (c as ConnectorInfo).id === 'string'),
    );
  }

  async connector(id: string, purpose?: string): Promise<ConnectorInfo | undefined> {
    return (await this.listConnectors(purpose)).find((c) => c.id === id);
  }

  private async call(method: string, path: string, what: string, body?: unknown): Promise<unknown> {
    return (await this.exchange(method, path, what, body)).json;
  }

  private async exchange(
    method: string,
    path: string,
    what: string,
    body?: unknown,
  ): Promise<{ json: unknown; next?: string }> {
    const timeoutMs = this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let renewed = false;
    for (;;) {
      const token = await this.tokens.get(deadline);
      const { res, starts } = await this.send({ method, path, what, body, token, timeoutMs, deadline });
      const status = res.status;
      const text = res.text;
      if (status === 401 && !renewed) {
        renewed = true;
        this.tokens.invalidate();
        this.o.onEvent?.({ type: 'retry', message: 'access token refused (401): renewing it and retrying once' });
        continue;
      }
      // A DELETE whose first attempt succeeded without us seeing the answer finds nothing the second time.
      if (method === 'DELETE' && status === 404 && starts > 1) return { json: undefined };
      let json: unknown;
      try {
        json = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        json = undefined;
      }
      if (status >= 200 && status < 300) {
        if (text !== '' && json === undefined) {
          throw new TpxError('TPX_THINGPARK_NOT_JSON', `ThingPark answered ${what} with something that is not JSON.`, {
            details: { status, operation: gerund(what), setting: 'thingparkUrl' },
          });
        }
        return { json, next: this.nextPath(res.headers.link) };
      }
      throw answerError(status, method, what, text, json);
    }
  }

  /** One API call with the token (retried by httpRequest when idempotent); `starts` counts the attempts. */
  private async send(c: {
    method: string;
    path: string;
    what: string;
    body?: unknown;
    token: string;
    timeoutMs: number;
    deadline: number;
  }) {
    const { method, path, body } = c;
    let starts = 0;
    const res = await httpRequest({
      method: method as Dispatcher.HttpMethod,
      url: this.urlOf(path),
      headers: {
        authorization: `Bearer ${c.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: this.o.dispatcher,
      timeoutMs: c.timeoutMs,
      deadline: c.deadline,
      service: 'ThingPark',
      operation: gerund(c.what),
      setting: 'thingparkUrl',
      retry: {
        idempotent: method !== 'POST',
        attempts: this.o.attempts ?? 3,
        backoff: { initialMs: this.o.backoffMs ?? 250, maxMs: 10_000 },
      },
      sleep: this.o.sleep,
      random: this.o.random,
      onEvent: (e) => {
        if (e.type === 'start') starts += 1;
        this.o.onHttp?.(e);
        if (e.type === 'end' && e.status)
          this.o.onEvent?.({
            type: 'request',
            message: `${method} ${e.url} -> ${e.status} (${formatElapsed(e.ms ?? Number.NaN)})`,
          });
        if (e.type === 'retry')
          this.o.onEvent?.({
            type: 'retry',
            message: `${method} ${path}: ${e.reason}; retrying in ${formatElapsed(e.ms ?? Number.NaN)}`,
          });
      },
    });
    return { res, starts };
  }
}

/** The error of a non-2xx answer, from its {code, message} (or its text, tags removed). */
function answerError(status: number, method: string, what: string, text: string, json: unknown): ThingParkApiError {
  const err = (json && typeof json === 'object' ? json : {}) as { code?: unknown; message?: unknown };
  const apiCode = typeof err.code === 'string' || typeof err.code === 'number' ? err.code : undefined;
  const apiMessage =
    typeof err.message === 'string'
      ? err.message
      : text && json === undefined
        ? text
            .replace(/<[^>]*>/g, ' ')
            .replace(/\s+/g, ' ')
            .trim()
            .slice(0, 160)
        : undefined;
  return plainError(status, method, what, apiCode, apiMessage);
}
