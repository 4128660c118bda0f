/**
 * A ThingPark stand-in for tests, CI and demos. Plain HTTP on 127.0.0.1 (loopback only; real ThingPark is HTTPS), or
 * HTTPS with `tls` (a generated self-signed certificate: test a private CA with --thingpark-ca / TPX_THINGPARK_CA):
 * - OAuth2 client credentials: POST /users-auth/protocol/openid-connect/token (short-lived tokens on demand)
 * - Connections API under /thingpark/dx/core/latest/api (DX Core) and /iot-flow/v1 (IoT Flow): /connectors,
 *   /connections (list, create 201 + Location, get, PUT whole object, DELETE), secrets masked on read, quota
 * - LRC tunnel downlink: POST /thingpark/lrc/rest/v2/downlink (202/409) and /thingpark/lrc/rest/downlink (v1)
 * - postUplink(): signed DevEUI_uplink (or other report) POSTs to an application server, as ThingPark does
 * - GET /_emulator/downlinks reports the accepted downlinks (for shells and the sandbox).
 * Never imports the tpx client; shares only the token functions.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, request } from 'undici';
import { TpxError } from '../../errors.js';
import { signUplink } from '../../thingpark/tunnel.js';
import { readText } from '../../util/read-text.js';
import { generateCertificate, type TlsMaterial } from '../tls.js';
import { CONNECTORS } from './connectors.js';
import { handleDownlink } from './lrc.js';
import { ApiError, ConnectionStore, type Credentials, type RecordedDownlink, type StoredConnection } from './store.js';

export type { RecordedDownlink, StoredConnection } from './store.js';

export interface ThingParkEmulatorOptions {
  port?: number;
  host?: string;
  /** JSON file keeping credentials, connections and downlinks across restarts. */
  state?: string;
  /** Lifetime of access tokens (expires_in), default 300 s. */
  tokenTtlSeconds?: number;
  /** How long a new or changed connection stays OPENING, default 1000 ms. */
  openingDelayMs?: number;
  /** Connection quota, default 5 (the TPE error "maximum authorized amount of connections (5)"). */
  maxConnections?: number;
  /** LRC check of |now − Time| for downlinks in seconds, default 300; 0 = unlimited. */
  maxTimestampDeviation?: number;
  /** Fixed credentials (otherwise random, or those of the state file). */
  credentials?: Partial<Credentials>;
  /** Largest page of GET /connections (default 100; 20 per page unless perPage asks otherwise). */
  pageSize?: number;
  /** Known DevEUIs for downlinks (others get code 100); default: any. */
  devices?: string[];
  /** Serve HTTPS (TLS 1.2+): true generates a self-signed certificate; or give one. Default: plain HTTP. */
  tls?: boolean | TlsMaterial;
  now?: () => number;
}

export interface Fault {
  status: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  method?: string;
  /** Substring of the request path. */
  path?: string;
  body?: unknown;
  /** Carry the request out, then answer with the failure (a lost answer). */
  afterHandling?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

export interface ThingParkEmulator extends EventEmitter {
  url: string;
  /** With tls: the certificate to trust (its own CA); '' on plain HTTP. */
  caFile: string;
  clientId: string;
  clientSecret: string;
  asId: string;
  asKey: string;
  /** The v2 LRC downlink endpoint. */
  downlinkUrl: string;
  tokenUrl: string;
  /** Accepted downlinks, oldest first. Also emitted as 'downlink' events. */
  downlinks(): RecordedDownlink[];
  /** Stored connections with their real secrets (what the server holds, not what GET shows). */
  connections(): StoredConnection[];
  /** Every request served, oldest first. */
  requests: RequestRecord[];
  /** Number of access tokens issued so far. */
  tokensIssued(): number;
  /** Invalidates every issued token (the next API call gets 401). */
  revokeTokens(): void;
  /** Makes the next matching request(s) fail with the given status. */
  injectFault(fault: Fault): void;
  postUplink(
    targetUrl: string,
    document: unknown,
    opts?: { time?: string | Date; lrnInfos?: string; asId?: string; asKey?: string; dispatcher?: Dispatcher },
  ): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const DX = '/thingpark/dx/core/latest/api';
const IOTFLOW = '/iot-flow/v1';
const TOKEN_PATH = '/users-auth/protocol/openid-connect/token';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return readText(req, 1_000_000, () => new ApiError(413, 10, 'Request body too large'));
}

export async function startThingParkEmulator(options: ThingParkEmulatorOptions = {}): Promise<ThingParkEmulator> {
  const now = options.now ?? Date.now;
  const ttl = options.tokenTtlSeconds ?? 300;
  const store = new ConnectionStore({
    statePath: options.state,
    credentials: options.credentials,
    maxConnections: options.maxConnections ?? 5,
    openingDelayMs: options.openingDelayMs ?? 1000,
    now,
  });
  const tokens = new Map<string, number>();
  let issued = 0;
  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  const devices = options.devices ? new Set(options.devices.map((d) => d.toUpperCase())) : undefined;
  const emitter = new EventEmitter();

  const issueToken = (body: string, auth: string | undefined, res: ServerResponse) => {
    const form = new URLSearchParams(body);
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    if (auth?.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(rest.join(':'));
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return send(res, 400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    }
    if (id !== store.credentials.clientId || secret !== store.credentials.clientSecret) {
      return send(res, 401, {
        error: 'invalid_client',
        error_description: 'Invalid client or Invalid client credentials',
      });
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, now() + ttl * 1000);
    issued += 1;
    send(res, 200, { access_token: token, expires_in: ttl, token_type: 'Bearer', 'not-before-policy': 0, scope: '' });
  };

  const api = async (method: string, rest: string, req: IncomingMessage, res: ServerResponse, url: URL) => {
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('access_token') ?? undefined);
    const exp = token ? tokens.get(token) : undefined;
    if (exp === undefined || exp <= now()) {
      throw new ApiError(401, 1, token ? 'The access token is invalid or expired' : 'Missing access token');
    }
    if (rest === '/connectors' && method === 'GET') return send(res, 200, CONNECTORS);
    if (rest === '/connections') {
      if (method === 'GET') {
        // page/perPage as in the IoT Flow API guidelines (Link rel="next", X-Total…), capped by pageSize
        const all = [...store.connections.values()].map((c) => store.view(c));
        const cap = options.pageSize ?? 100;
        const perPage = Math.max(1, Math.min(cap, Number(url.searchParams.get('perPage')) || Math.min(20, cap)));
        const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
        const pages = Math.max(1, Math.ceil(all.length / perPage));
        const headers: Record<string, string> = { 'x-total': String(all.length), 'x-total-pages': String(pages) };
        if (page < pages) headers.link = `<${url.pathname}?page=${page + 1}&perPage=${perPage}>; rel="next"`;
        return send(res, 200, all.slice((page - 1) * perPage, page * perPage), headers);
      }
      if (method === 'POST') {
        const c = store.create(parseJson(await readBody(req)));
        return send(res, 201, store.view(c), { location: `/connections/${c.id}` });
      }
    }
    const m = /^\/connections\/([^/]+)$/.exec(rest);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (method === 'GET') return send(res, 200, store.view(store.get(id)));
      if (method === 'PUT') return send(res, 200, store.view(store.replace(id, parseJson(await readBody(req)))));
      if (method === 'DELETE') {
        store.delete(id);
        res.writeHead(204).end();
        return;
      }
      throw new ApiError(405, 5, `Method ${method} not allowed`);
    }
    throw new ApiError(404, 4, `No route ${method} ${rest}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    res.on('finish', () => requests.push({ method, path, status: res.statusCode }));
    const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || path.includes(f.path)));
    if (!fault) return route(req, res);
    fault.count = (fault.count ?? 1) - 1;
    if (fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
    if (fault.afterHandling) {
      // The request is carried out, but the client sees the failure (an answer lost on the way back).
      const sink = { headersSent: false, writeHead: () => sink, end: () => undefined, destroy: () => undefined };
      await route(req, sink as unknown as ServerResponse);
    } else {
      await readBody(req).catch(() => '');
    }
    send(res, fault.status, fault.body ?? { code: fault.status, message: `Injected failure (HTTP ${fault.status})` });
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const flavour = path.startsWith(IOTFLOW) ? 'iotflow' : 'dx';
    try {
      if (path === TOKEN_PATH && method === 'POST')
        return issueToken(await readBody(req), req.headers.authorization, res);
      if (path === '/thingpark/lrc/rest/v2/downlink' || path === '/thingpark/lrc/rest/downlink') {
        if (method !== 'POST') throw new ApiError(405, 5, 'Use POST');
        await readBody(req);
        const raw = (req.url ?? '').split('?').slice(1).join('?');
        const version = path.includes('/v2/') ? 2 : 1;
        const { response, accepted } = handleDownlink(version, raw, {
          asId: store.credentials.asId,
          asKey: store.credentials.asKey,
          maxTimestampDeviation: options.maxTimestampDeviation ?? 300,
          devices,
          now,
        });
        if (accepted) {
          store.recordDownlink(accepted);
          emitter.emit('downlink', accepted);
        }
        res.writeHead(response.status, { 'content-type': response.contentType });
        res.end(response.body);
        return;
      }
      if (path === '/_emulator/downlinks' && method === 'GET') return send(res, 200, store.downlinks);
      if (path === '/_emulator/uplink' && method === 'POST') {
        const b = parseJson(await readBody(req)) as { url?: unknown; document?: unknown };
        if (typeof b.url !== 'string') throw new ApiError(400, 10, 'url is required');
        return send(res, 200, await emulator.postUplink(b.url, b.document));
      }
      for (const base of [DX, IOTFLOW]) {
        if (path === base || path.startsWith(`${base}/`))
          return await api(method, path.slice(base.length), req, res, url);
      }
      throw new ApiError(404, 4, `No route ${method} ${path}`);
    } catch (err) {
      if (res.headersSent) return res.destroy();
      if (err instanceof ApiError) {
        const code =
          flavour === 'iotflow'
            ? `com-${Math.floor(err.status / 100)}0${String(err.status % 100).padStart(2, '0')}`
            : err.code;
        return send(res, err.status, { code, message: err.message });
      }
      send(res, 500, { code: 25, message: 'unknown error' });
    }
  };

  const tls = options.tls === true ? await generateCertificate() : options.tls || undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  };
  const server: Server = tls
    ? (createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest) as unknown as Server)
    : createServer(onRequest);
  const listenHost = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new TpxError(
          'TPX_EMULATOR_LISTEN',
          `The ThingPark emulator cannot listen on ${listenHost}:${options.port ?? 0} (${err.code ?? err.message}).`,
          {
            fix: 'Choose another --port (0 picks a free one) or stop what is using it.',
            cause: err,
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, listenHost, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const base = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;
  const creds = store.credentials;

  const emulator = Object.assign(emitter, {
    url: base,
    caFile: tls?.caFile ?? '',
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    asId: creds.asId,
    asKey: creds.asKey,
    downlinkUrl: `${base}/thingpark/lrc/rest/v2/downlink`,
    tokenUrl: `${base}${TOKEN_PATH}`,
    requests,
    downlinks: () => [...store.downlinks],
    connections: () => [...store.connections.values()].map((c) => structuredClone(c)),
    tokensIssued: () => issued,
    revokeTokens: () => tokens.clear(),
    injectFault: (f: Fault) => {
      faults.push({ ...f, count: f.count ?? 1 });
    },
    async postUplink(
      targetUrl: string,
      document: unknown,
      opts: { time?: string | Date; lrnInfos?: string; asId?: string; asKey?: string; dispatcher?: Dispatcher } = {},
    ) {
      const asId = opts.asId ?? creds.asId;
      const signed = signUplink(document, {
        asId,
        asKey: opts.asKey ?? creds.asKey,
        time: opts.time,
        lrnInfos: opts.lrnInfos,
      });
      const target = targetUrl.includes('?')
        ? `${targetUrl}&${signed.queryString}`
        : `${targetUrl}?${signed.queryString}`;
      const r = await request(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: '*/*',
          'user-agent': 'ACTILITY-LRCLRN-DEVICE-AGENT/1.0',
        },
        body: JSON.stringify(document),
        dispatcher: opts.dispatcher,
      });
      return { status: r.statusCode, body: await r.body.text() };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          if (options.tls === true) tls?.dispose?.(); // only the certificate it generated
          resolve();
        });
      }),
  });
  return emulator as ThingParkEmulator;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 10, 'Request body is not valid JSON');
  }
}
