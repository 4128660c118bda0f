/**
 * The ThingWorx platform emulator: REST under /Thingworx and the AlwaysOn endpoint /Thingworx/WS on one
 * HTTPS port (README.md next to this file documents the API and the state file).
 */

import type { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { TpxError } from '../../errors.js';
import { listenOn } from '../listen.js';
import { generateCertificate, type TlsMaterial } from '../tls.js';
import { AlwaysOnEndpoint, type LostBindBehaviour, type SyncOnBind } from './alwayson.js';
import type { EdgeRequest, EdgeResponse } from './edge-requests.js';
import { Store, type Thing } from './model.js';
import { Platform } from './platform.js';
import { RestApi } from './rest.js';
import { registerServices } from './services.js';
import type { BindRefusal } from './sessions.js';
import { storeToState } from './snapshot.js';
import { type BindPolicy, type EmulatorState, loadStateFile, type TlsMode, validateState } from './state.js';

export type { LostBindBehaviour, SyncOnBind } from './alwayson.js';
export type { EdgeRequest, EdgeResponse } from './edge-requests.js';
export type { BindRefusal } from './sessions.js';
export type { BindPolicy, EmulatorState, TlsMode } from './state.js';

export interface ThingWorxEmulatorOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** A state file path or a state object. */
  state?: string | EmulatorState;
  /** Overrides the state's transport.tls. */
  tls?: TlsMode;
  /** Certificate to serve instead of a generated one. */
  certificate?: TlsMaterial;
  /** Idle connection timeout (60 s). */
  idleTimeoutMs?: number;
  /** AUTH deadline (15 s). */
  authTimeoutMs?: number;
  /** Platform request -> edge response timeout (30 s). */
  edgeRequestTimeoutMs?: number;
  /** Request sent to each Thing after a BIND: 'NotifyPropertyUpdate', 'SynchronizeModelState' or none (default). */
  syncOnBind?: SyncOnBind;
  /** First ids handed out (tests pin them to compare bytes with the PTC vectors). */
  ids?: { sessionId?: number; endpointId?: number; requestId?: number };
  /** A BIND with names that cannot be bound: 'whole-message' (default, refuses all) or 'per-name' (UNCONFIRMED). */
  bindRefusal?: BindRefusal;
  /** What a session that lost Things to a newer BIND experiences (UNCONFIRMED; default pushes accepted, no notice). */
  lostBinds?: Partial<LostBindBehaviour>;
}

export interface EmulatorFaults {
  /** Terminates every AlwaysOn socket at once (no close frame). */
  dropAllSockets(): void;
  /** Delays every REST and AlwaysOn response by `ms` (0 = off). */
  delayResponses(ms: number): void;
  /** Answers every REST call and AlwaysOn request/BIND with this HTTP status (mapped to the AlwaysOn code); null = off. */
  failResponses(status: number | null): void;
  /** Makes every AUTH fail with 0x81 (and the socket closed). */
  rejectAuth(on: boolean): void;
  /** A session with no socket that holds binds of these Things; returns its session id. */
  ghostSession(thingNames: string[], appKeyName?: string): number;
}

export interface ThingWorxEmulator {
  /** https://127.0.0.1:port (http:// with tls 'plain-http'). */
  readonly restUrl: string;
  /** wss://127.0.0.1:port/Thingworx/WS. */
  readonly wsUrl: string;
  /** Key id of an administrator's application key. */
  readonly appKey: string;
  /** CA (the self-signed certificate) to trust; '' with plain HTTP. */
  readonly caFile: string;
  readonly port: number;
  readonly store: Store;
  readonly platform: Platform;
  /** 'auth', 'bind', 'bindRejected', 'unbind', 'push', 'pushRefused', 'update', 'propertyWrite', 'edgeRequest', 'sync', 'event', 'connection', 'disconnect', 'rest', 'created', 'restart', 'configuration', 'protocolError' (README.md). */
  readonly events: EventEmitter;
  readonly faults: EmulatorFaults;
  setBindPolicy(policy: BindPolicy): void;
  setSyncOnBind(mode: SyncOnBind): void;
  /** How a BIND with names that cannot be bound is answered. */
  setBindRefusal(mode: BindRefusal): void;
  /** What a session that lost Things to a newer BIND experiences. */
  setLostBinds(behaviour: Partial<LostBindBehaviour>): void;
  /** Sends a request (default POST SERVICES) to the edge holding the Thing's binding; resolves with its response. */
  requestEdge(thing: string, request: EdgeRequest): Promise<EdgeResponse>;
  /** Key id of the application key with this name. */
  keyId(name: string): string;
  /** Creates Things quickly (default template RemoteThing, owner Administrator); existing names are kept. */
  addThings(names: string[], template?: string, owner?: string): void;
  thing(name: string): Thing | undefined;
  /** The current value of a property (JSON form), undefined when not set. */
  propertyValue(thing: string, property: string): unknown;
  /** Every stored value of a logged property, oldest first. */
  history(thing: string, property: string): { value: unknown; time: number; quality: string }[];
  /** Names of the Things bound now. */
  boundThings(): string[];
  /** Number of live AlwaysOn sessions (ghosts excluded). */
  sessionCount(): number;
  state(): EmulatorState;
  saveState(file: string): void;
  close(): Promise<void>;
}

export async function startThingWorxEmulator(options: ThingWorxEmulatorOptions = {}): Promise<ThingWorxEmulator> {
  const { store, platform, endpoint, rest } = buildPlatform(options);
  const tlsMode = options.tls ?? store.tls;
  const { server, tls } = await createServer(options, tlsMode, endpoint, rest);
  const host = options.host ?? '127.0.0.1';
  await listenOn(server, host, options.port ?? 0, 'ThingWorx');
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const plain = tlsMode === 'plain-http';
  const key = (name: string) => {
    const k = store.appKeys.get(name);
    if (!k) throw new TpxError('TPX_EMULATOR_NO_KEY', `The emulator has no application key named ${name}.`);
    return k.keyId;
  };
  const state = () => emulatorState(store, endpoint);
  let closed: Promise<void> | undefined;
  return {
    restUrl: `${plain ? 'http' : 'https'}://${urlHost}:${port}`,
    wsUrl: `${plain ? 'ws' : 'wss'}://${urlHost}:${port}/Thingworx/WS`,
    get appKey() {
      return key(store.defaultAppKey);
    },
    caFile: tls?.caFile ?? '',
    port,
    store,
    platform,
    events: platform.events,
    faults: emulatorFaults(platform, endpoint),
    setBindPolicy: (policy) => {
      store.subsystem.bindProtectionPolicy = policy;
    },
    setSyncOnBind: (mode) => {
      endpoint.syncOnBind = mode;
    },
    setBindRefusal: (mode) => {
      endpoint.registry.refusal = mode;
    },
    setLostBinds: (behaviour) => {
      Object.assign(endpoint.lostBinds, behaviour);
    },
    requestEdge: (thing, request) => endpoint.requestEdge(thing, request),
    keyId: key,
    addThings: (names, template = 'RemoteThing', owner = 'Administrator') => {
      for (const n of names) if (!store.things.has(n)) store.addThing(n, template, owner);
    },
    thing: (name) => store.things.get(name),
    propertyValue: (thing, property) => store.things.get(thing)?.values?.get(property)?.v,
    history: (thing, property) =>
      (store.things.get(thing)?.history?.get(property) ?? []).map((v) => ({ value: v.v, time: v.t, quality: v.q })),
    boundThings: () => [...store.things.values()].filter((t) => t.boundTo !== null).map((t) => t.name),
    sessionCount: () => [...endpoint.registry.sessions.values()].filter((s) => !s.ghost).length,
    state,
    saveState: (file) => writeFileSync(file, `${JSON.stringify(state(), null, 2)}\n`),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        endpoint.closeAll();
        server.close(() => {
          if (tls !== options.certificate) tls?.dispose?.(); // only the certificate it generated
          resolve();
        });
        server.closeAllConnections?.();
      });
      return closed;
    },
  };
}

/** The platform from the options and the initial state: store, services, the AlwaysOn endpoint, the REST API. */
function buildPlatform(options: ThingWorxEmulatorOptions) {
  const initial = typeof options.state === 'string' ? loadStateFile(options.state) : validateState(options.state ?? {});
  const store = new Store(initial);
  if (options.idleTimeoutMs !== undefined) store.subsystem.idleConnectionTimeout = options.idleTimeoutMs / 1000;
  if (options.authTimeoutMs !== undefined) store.subsystem.authWaitTime = options.authTimeoutMs / 1000;
  const platform = new Platform(store);
  if (options.edgeRequestTimeoutMs !== undefined) platform.edgeRequestTimeoutMs = options.edgeRequestTimeoutMs;
  registerServices(platform);
  const endpoint = new AlwaysOnEndpoint(platform, {
    ids: options.ids,
    syncOnBind: options.syncOnBind,
    lostBinds: options.lostBinds,
  });
  if (options.bindRefusal) endpoint.registry.refusal = options.bindRefusal;
  for (const g of store.ghosts) endpoint.registry.ghost(g.things, g.appKey, g);
  const rest = new RestApi(platform);
  return { store, platform, endpoint, rest };
}

/** The HTTP(S) server of the REST API, upgrading /Thingworx/WS to AlwaysOn. */
async function createServer(
  options: ThingWorxEmulatorOptions,
  tlsMode: TlsMode,
  endpoint: AlwaysOnEndpoint,
  rest: RestApi,
): Promise<{ server: Server; tls: TlsMaterial | undefined }> {
  let tls: TlsMaterial | undefined;
  let server: Server;
  const onRequest = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    void rest.handle(req, res);
  };
  if (tlsMode === 'plain-http') {
    server = createHttpServer(onRequest);
  } else {
    tls = options.certificate ?? (await generateCertificate());
    server = createHttpsServer(
      tlsMode === 'tls1.1-only'
        ? { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }
        : { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' },
      onRequest,
    ) as unknown as Server;
  }
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/Thingworx/WS') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    endpoint.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, tls };
}

/** The emulator's state now: the store's, and the ghost sessions. */
function emulatorState(store: Store, endpoint: AlwaysOnEndpoint): EmulatorState {
  const ghosts = [...endpoint.registry.sessions.values()].filter((s) => s.ghost);
  return {
    ...storeToState(store),
    ...(ghosts.length
      ? {
          ghostSessions: ghosts.map((s) => ({
            ...(s.key ? { appKey: s.key.name } : {}),
            things: [...s.bound],
            startDate: new Date(s.startDate).toISOString(),
            lastUsedDate: new Date(s.lastUsedDate).toISOString(),
          })),
        }
      : {}),
  };
}

/** The faults tests inject. */
function emulatorFaults(platform: Platform, endpoint: AlwaysOnEndpoint): EmulatorFaults {
  return {
    dropAllSockets: () => endpoint.dropAllSockets(),
    delayResponses: (ms) => {
      platform.delayMs = ms;
    },
    failResponses: (status) => {
      platform.failStatus = status;
    },
    rejectAuth: (on) => {
      endpoint.rejectAuth = on;
    },
    ghostSession: (names, appKeyName) => {
      return endpoint.registry.ghost(names, appKeyName).sessionId;
    },
  };
}
