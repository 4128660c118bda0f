/**
 * A ThingPark stand-in for tests, CI and demos. Plain HTTP on 127.0.0.1 (loopback only; real ThingPark is HTTPS), or
 * HTTPS with `tls` (a generated self-signed certificate: test a private CA with --thingpark-ca / TPX_THINGPARK_CA):
 * - OAuth2 client credentials: POST /users-auth/protocol/openid-connect/token (short-lived tokens on demand), and
 *   the legacy DX Admin token endpoint …/dx/admin/latest/api/oauth/token with …/oauth/tokeninfo (routes.ts)
 * - Connections API under /thingpark/dx/core/latest/api (DX Core) and /iot-flow/v1 (IoT Flow): /connectors,
 *   /connections (list with page/perPage or pageIndex, create 201 + Location, get, PUT whole object, DELETE),
 *   secrets masked on read, quota
 * - LRC tunnel downlink: POST /thingpark/lrc/rest/v2/downlink (202/409) and /thingpark/lrc/rest/downlink (v1)
 * - postUplink(): signed DevEUI_uplink (or other report) POSTs to an application server, as ThingPark does
 * - GET /_emulator/downlinks reports the accepted downlinks (for shells and the sandbox).
 * Never imports the tpx client; shares only the token functions.
 */

import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, request } from 'undici';
import { signUplink } from '../../thingpark/tunnel.js';
import { listenOn } from '../listen.js';
import { generateCertificate, type TlsMaterial } from '../tls.js';
import { type Fault, type RequestRecord, requestHandler } from './faults.js';
import { type EmulatorState, TOKEN_PATH } from './routes.js';
import { ConnectionStore, type Credentials, type RecordedDownlink, type StoredConnection } from './store.js';

export type { Fault, RequestRecord } from './faults.js';
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

export async function startThingParkEmulator(options: ThingParkEmulatorOptions = {}): Promise<ThingParkEmulator> {
  const now = options.now ?? Date.now;
  const store = new ConnectionStore({
    statePath: options.state,
    credentials: options.credentials,
    maxConnections: options.maxConnections ?? 5,
    openingDelayMs: options.openingDelayMs ?? 1000,
    now,
  });
  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  const emitter = new EventEmitter();
  const state: EmulatorState = {
    store,
    tokens: new Map(),
    issued: { count: 0 },
    ttlSeconds: options.tokenTtlSeconds ?? 300,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    maxTimestampDeviation: options.maxTimestampDeviation ?? 300,
    ...(options.devices ? { devices: new Set(options.devices.map((d) => d.toUpperCase())) } : {}),
    emitter,
    now,
    postUplink: (url, document) => emulator.postUplink(url, document),
  };

  const handle = requestHandler(state, faults, requests);
  const tls = options.tls === true ? await generateCertificate() : options.tls || undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  };
  const server: Server = tls
    ? (createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest) as unknown as Server)
    : createServer(onRequest);
  const base = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0, tls ? 'https' : 'http');
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
    tokensIssued: () => state.issued.count,
    revokeTokens: () => state.tokens.clear(),
    injectFault: (f: Fault) => {
      faults.push({ ...f, count: f.count ?? 1 });
    },
    postUplink: (targetUrl: string, document: unknown, opts: PostUplinkOptions = {}) =>
      postSignedUplink(targetUrl, document, {
        ...opts,
        asId: opts.asId ?? creds.asId,
        asKey: opts.asKey ?? creds.asKey,
      }),
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

type PostUplinkOptions = NonNullable<Parameters<ThingParkEmulator['postUplink']>[2]>;

/** Listens on host:port (0: a free port); resolves with the base URL, rejects with TPX_EMULATOR_LISTEN. */
async function listen(server: Server, listenHost: string, port: number, scheme: 'http' | 'https'): Promise<string> {
  await listenOn(server, listenHost, port, 'ThingPark');
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${host}:${addr.port}`;
}

/** Posts an uplink as the LRC does: signed (AS_ID, Time, Token in the query), with its user agent. */
async function postSignedUplink(
  targetUrl: string,
  document: unknown,
  opts: PostUplinkOptions & { asId: string; asKey: string },
): Promise<{ status: number; body: string }> {
  const signed = signUplink(document, { asId: opts.asId, asKey: opts.asKey, time: opts.time, lrnInfos: opts.lrnInfos });
  const target = targetUrl.includes('?') ? `${targetUrl}&${signed.queryString}` : `${targetUrl}?${signed.queryString}`;
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
}
