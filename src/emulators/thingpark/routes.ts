/**
 * The ThingPark emulator's routes, as one table (method, path, handler) over one shared state:
 * - OAuth2 client credentials (Keycloak): POST /users-auth/protocol/openid-connect/token
 * - DX Admin token (legacy, research/thingpark.md §2.2): POST /thingpark/dx/admin/latest/api/oauth/token with the
 *   form (or query) fields grant_type, client_id, client_secret, renewToken, validityPeriod; GET …/oauth/tokeninfo
 * - connections API under /thingpark/dx/core/latest/api (DX Core) and /iot-flow/v1 (IoT Flow)
 * - LRC tunnel downlinks (v2 and v1), and the emulator's own /_emulator/… endpoints.
 * Never imports the tpx client.
 */

import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readText } from '../../util/read-text.js';
import { CONNECTORS } from './connectors.js';
import { handleDownlink } from './lrc.js';
import { ApiError, type ConnectionStore } from './store.js';

export const DX = '/thingpark/dx/core/latest/api';
export const IOTFLOW = '/iot-flow/v1';
export const TOKEN_PATH = '/users-auth/protocol/openid-connect/token';
export const DX_ADMIN = '/thingpark/dx/admin/latest/api';
/** Page size of `?pageIndex=` lists (a community CLI assumes 100: UNCONFIRMED, secondary source). */
export const DX_PAGE_SIZE = 100;

export interface IssuedToken {
  expiresAt: number;
  clientId: string;
}

/** What every route reads and changes. */
export interface EmulatorState {
  store: ConnectionStore;
  tokens: Map<string, IssuedToken>;
  issued: { count: number };
  ttlSeconds: number;
  pageSize?: number;
  maxTimestampDeviation: number;
  devices?: Set<string>;
  emitter: EventEmitter;
  now: () => number;
  postUplink: (url: string, document: unknown) => Promise<unknown>;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  /** Captures of a RegExp path. */
  params: string[];
  state: EmulatorState;
}

export interface Route {
  method: string;
  path: string | RegExp;
  handle: (c: RouteContext) => Promise<void> | void;
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return readText(req, 1_000_000, () => new ApiError(413, 10, 'Request body too large'));
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 10, 'Request body is not valid JSON');
  }
}

/** Client id and secret from the form, or from HTTP Basic (which some clients use). */
function clientCredentials(
  form: URLSearchParams,
  auth: string | undefined,
): { id: string | null; secret: string | null } {
  if (auth?.startsWith('Basic ')) {
    const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
    return { id: decodeURIComponent(u ?? ''), secret: decodeURIComponent(rest.join(':')) };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

function newToken(state: EmulatorState, clientId: string, ttlSeconds: number): string {
  const token = randomBytes(24).toString('base64url');
  state.tokens.set(token, { expiresAt: state.now() + ttlSeconds * 1000, clientId });
  state.issued.count += 1;
  return token;
}

/** Checks grant type and credentials; answers the OAuth error itself and returns undefined when they are wrong. */
function authenticate(c: RouteContext, form: URLSearchParams): string | undefined {
  const { id, secret } = clientCredentials(form, c.req.headers.authorization);
  if (form.get('grant_type') !== 'client_credentials') {
    send(c.res, 400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    return undefined;
  }
  const creds = c.state.store.credentials;
  if (id !== creds.clientId || secret !== creds.clientSecret) {
    send(c.res, 401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' });
    return undefined;
  }
  return id;
}

async function oidcToken(c: RouteContext): Promise<void> {
  const form = new URLSearchParams(await readBody(c.req));
  const id = authenticate(c, form);
  if (!id) return;
  const token = newToken(c.state, id, c.state.ttlSeconds);
  send(c.res, 200, {
    access_token: token,
    expires_in: c.state.ttlSeconds,
    token_type: 'Bearer',
    'not-before-policy': 0,
    scope: '',
  });
}

/**
 * validityPeriod as a DX client sends it ("90days"); the grammar is UNCONFIRMED, so this accepts a number with
 * seconds/minutes/hours/days (singular, plural or s/m/h/d), or bare seconds. Undefined when absent or unreadable.
 */
export function parseValidityPeriod(v: string | null): number | undefined {
  if (!v) return undefined;
  const m = /^\s*(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)?\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = (m[2] ?? 's').toLowerCase()[0]!;
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86_400 }[unit] ?? 1);
}

/** DX Admin token: the form fields (or query parameters) of the legacy endpoint; renewToken forces a new token. */
async function dxAdminToken(c: RouteContext): Promise<void> {
  const form = new URLSearchParams(await readBody(c.req));
  for (const [k, v] of c.url.searchParams) if (!form.has(k)) form.set(k, v);
  const id = authenticate(c, form);
  if (!id) return;
  const requested = form.get('validityPeriod');
  const ttl = parseValidityPeriod(requested);
  if (requested && ttl === undefined) {
    send(c.res, 400, { code: 10, message: `Invalid validityPeriod "${requested}"` });
    return;
  }
  const renew = /^(true|1|yes)$/i.test(form.get('renewToken') ?? '');
  const now = c.state.now();
  let token: string | undefined;
  if (!renew) {
    // The same client gets its still-valid token back unless it asks for a renewal.
    for (const [t, info] of c.state.tokens) if (info.clientId === id && info.expiresAt > now) token = t;
  }
  token ??= newToken(c.state, id, ttl ?? c.state.ttlSeconds);
  const info = c.state.tokens.get(token)!;
  send(c.res, 200, {
    access_token: token,
    token_type: 'bearer',
    expires_in: Math.max(0, Math.round((info.expiresAt - now) / 1000)),
    scope: '',
  });
}

/** GET …/oauth/tokeninfo?access_token=… (fields of a community client's status command; 401 when unknown). */
function tokenInfo(c: RouteContext): void {
  const token = c.url.searchParams.get('access_token') ?? bearer(c.req);
  const info = token ? c.state.tokens.get(token) : undefined;
  const now = c.state.now();
  if (!info || info.expiresAt <= now) throw new ApiError(401, 1, 'The access token is invalid or expired');
  send(c.res, 200, {
    expires_in: Math.round((info.expiresAt - now) / 1000),
    client_id: info.clientId,
    customer_id: '100000001',
    operator_id: 'emulator',
    token_type: 'bearer',
  });
}

function bearer(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

/** The access token of an API call (Authorization header or access_token parameter); throws 401 without one. */
function requireToken(c: RouteContext): void {
  const token = bearer(c.req) ?? c.url.searchParams.get('access_token') ?? undefined;
  const info = token ? c.state.tokens.get(token) : undefined;
  if (!info || info.expiresAt <= c.state.now()) {
    throw new ApiError(401, 1, token ? 'The access token is invalid or expired' : 'Missing access token');
  }
}

/**
 * GET /connections: `pageIndex` (DX Core, 1-based, DX_PAGE_SIZE a page, no Link: UNCONFIRMED) or `page`/`perPage`
 * as in the IoT Flow API guidelines (Link rel="next", X-Total…), capped by the pageSize option.
 */
function listConnections(c: RouteContext): void {
  const { store } = c.state;
  const all = [...store.connections.values()].map((x) => store.view(x));
  const pageIndex = c.url.searchParams.get('pageIndex');
  if (pageIndex !== null) {
    const size = c.state.pageSize ?? DX_PAGE_SIZE;
    const index = Math.max(1, Number(pageIndex) || 1);
    send(c.res, 200, all.slice((index - 1) * size, index * size));
    return;
  }
  const cap = c.state.pageSize ?? 100;
  const perPage = Math.max(1, Math.min(cap, Number(c.url.searchParams.get('perPage')) || Math.min(20, cap)));
  const page = Math.max(1, Number(c.url.searchParams.get('page')) || 1);
  const pages = Math.max(1, Math.ceil(all.length / perPage));
  const headers: Record<string, string> = { 'x-total': String(all.length), 'x-total-pages': String(pages) };
  if (page < pages) headers.link = `<${c.url.pathname}?page=${page + 1}&perPage=${perPage}>; rel="next"`;
  send(c.res, 200, all.slice((page - 1) * perPage, page * perPage), headers);
}

/** The connections API routes, under one base (DX Core or IoT Flow). */
function apiRoutes(base: string): Route[] {
  const one = new RegExp(`^${base.replace(/\//g, '\\/')}\\/connections\\/([^/]+)$`);
  const id = (c: RouteContext) => decodeURIComponent(c.params[0]!);
  const authed =
    (h: Route['handle']): Route['handle'] =>
    (c) => {
      requireToken(c);
      return h(c);
    };
  return [
    { method: 'GET', path: `${base}/connectors`, handle: authed((c) => send(c.res, 200, CONNECTORS)) },
    { method: 'GET', path: `${base}/connections`, handle: authed(listConnections) },
    {
      method: 'POST',
      path: `${base}/connections`,
      handle: authed(async (c) => {
        const created = c.state.store.create(parseJson(await readBody(c.req)));
        send(c.res, 201, c.state.store.view(created), { location: `/connections/${created.id}` });
      }),
    },
    {
      method: 'GET',
      path: one,
      handle: authed((c) => send(c.res, 200, c.state.store.view(c.state.store.get(id(c))))),
    },
    {
      method: 'PUT',
      path: one,
      handle: authed(async (c) => {
        const body = parseJson(await readBody(c.req));
        send(c.res, 200, c.state.store.view(c.state.store.replace(id(c), body)));
      }),
    },
    {
      method: 'DELETE',
      path: one,
      handle: authed((c) => {
        c.state.store.delete(id(c));
        c.res.writeHead(204).end();
      }),
    },
  ];
}

async function lrcDownlink(c: RouteContext): Promise<void> {
  await readBody(c.req);
  const raw = (c.req.url ?? '').split('?').slice(1).join('?');
  const version = c.url.pathname.includes('/v2/') ? 2 : 1;
  const { store } = c.state;
  const { response, accepted } = handleDownlink(version, raw, {
    asId: store.credentials.asId,
    asKey: store.credentials.asKey,
    maxTimestampDeviation: c.state.maxTimestampDeviation,
    devices: c.state.devices,
    now: c.state.now,
  });
  if (accepted) {
    store.recordDownlink(accepted);
    c.state.emitter.emit('downlink', accepted);
  }
  c.res.writeHead(response.status, { 'content-type': response.contentType });
  c.res.end(response.body);
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: TOKEN_PATH, handle: oidcToken },
  { method: 'POST', path: `${DX_ADMIN}/oauth/token`, handle: dxAdminToken },
  { method: 'GET', path: `${DX_ADMIN}/oauth/tokeninfo`, handle: tokenInfo },
  { method: 'POST', path: '/thingpark/lrc/rest/v2/downlink', handle: lrcDownlink },
  { method: 'POST', path: '/thingpark/lrc/rest/downlink', handle: lrcDownlink },
  { method: 'GET', path: '/_emulator/downlinks', handle: (c) => send(c.res, 200, c.state.store.downlinks) },
  {
    method: 'POST',
    path: '/_emulator/uplink',
    handle: async (c) => {
      const b = parseJson(await readBody(c.req)) as { url?: unknown; document?: unknown };
      if (typeof b.url !== 'string') throw new ApiError(400, 10, 'url is required');
      send(c.res, 200, await c.state.postUplink(b.url, b.document));
    },
  },
  ...apiRoutes(DX),
  ...apiRoutes(IOTFLOW),
];

/** The route for a request; a known path with another method is 405, anything else 404. */
export function findRoute(method: string, path: string): { route: Route; params: string[] } {
  let pathKnown = false;
  for (const route of ROUTES) {
    const m = typeof route.path === 'string' ? (route.path === path ? [] : null) : route.path.exec(path)?.slice(1);
    if (!m) continue;
    if (route.method === method) return { route, params: m };
    pathKnown = true;
  }
  if (pathKnown) throw new ApiError(405, 5, `Method ${method} not allowed`);
  throw new ApiError(404, 4, `No route ${method} ${path}`);
}
