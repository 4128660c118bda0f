/**
 * Unit tests of the AlwaysOn client against a minimal in-test platform (the emulator tests are in
 * emulator.test.ts): frames and headers on the wire, ping timeout, TLS below 1.2, nothing lost on socket loss.
 */

import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { decodeMessage, encodeMessage, Reassembler, splitMessage } from '../../src/alwayson/codec/index.js';
import type { InfoTable, Message, MessageCodeName } from '../../src/alwayson/codec/types.js';
import { MESSAGE_CODES } from '../../src/alwayson/codec/types.js';
import {
  AlwaysOnClient,
  type AlwaysOnError,
  AlwaysOnPool,
  AuthFailedError,
  alwaysOnUrl,
  BusyError,
  backoffDelay,
  ClientClosedError,
  ConnectError,
  DisconnectedError,
  IllegalTransitionError,
  pipeFor,
  RECONNECT_BACKOFF,
  TRANSITIONS,
} from '../../src/alwayson/index.js';
import { Keepalive, type PingSocket } from '../../src/alwayson/keepalive.js';
import { bindBatches } from '../../src/alwayson/message-builders.js';
import { say } from '../../src/cli/phrases.js';
import { generateCertificate, type TlsMaterial } from '../../src/emulators/tls.js';

let material: TlsMaterial | undefined;
async function tlsMaterial(): Promise<TlsMaterial> {
  material ??= await generateCertificate();
  return material;
}

function reply(req: Message, code: MessageCodeName, sessionId: number): Buffer {
  return encodeMessage({
    header: {
      version: 1,
      code,
      codeValue: MESSAGE_CODES[code],
      requestId: req.header.requestId,
      endpointId: 0,
      sessionId,
      multipart: null,
    },
    body: { kind: 'response', reason: code === 'SUCCESS' ? null : 'refused', content: null },
  });
}

interface Fake {
  url: string;
  ca: string;
  sockets: Set<WebSocket>;
  frames: Buffer[];
  messages: Message[];
  headers: Record<string, string | string[] | undefined>[];
  /** When set, requests are not answered (to keep them pending). */
  silent: boolean;
  /** When false, AUTH is not answered (a platform that accepts sockets and says nothing). */
  answerAuth: boolean;
  /** When set, WebSocket upgrades are refused with this HTTP status. */
  upgradeStatus: number | null;
  /** When set, AUTH is answered with this status. */
  authStatus: MessageCodeName | null;
  /** Called with each upgraded connection's TLS socket (its bytes as the client sent them). */
  onSocket?: (socket: import('node:net').Socket) => void;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fakePlatform(options: { autoPong?: boolean; tls?: Record<string, unknown> } = {}): Promise<Fake> {
  const m = await tlsMaterial();
  const server: Server = createServer({ cert: m.cert, key: m.key, ...options.tls });
  const wss = new WebSocketServer({
    server,
    path: '/Thingworx/WS',
    autoPong: options.autoPong ?? true,
    verifyClient: (_info, cb) => (fake.upgradeStatus ? cb(false, fake.upgradeStatus) : cb(true)),
  });
  let nextSession = 0x2a;
  const fake: Fake = {
    url: '',
    ca: m.cert,
    sockets: new Set(),
    frames: [],
    messages: [],
    headers: [],
    silent: false,
    answerAuth: true,
    upgradeStatus: null,
    authStatus: null,
    close: async () => {
      for (const s of fake.sockets) s.terminate();
      wss.close();
      server.close();
      server.closeAllConnections();
    },
  };
  wss.on('connection', (ws, req) => {
    fake.onSocket?.(req.socket);
    fake.sockets.add(ws);
    fake.headers.push(req.headers);
    const session = nextSession++;
    const reassembler = new Reassembler();
    ws.on('close', () => fake.sockets.delete(ws));
    ws.on('message', (data: Buffer) => {
      fake.frames.push(data);
      const msg = reassembler.push(data);
      if (!msg) return;
      fake.messages.push(msg);
      if (msg.body.kind === 'auth') {
        if (!fake.answerAuth) return;
        if (fake.authStatus) {
          ws.send(reply(msg, fake.authStatus, 0));
          return;
        }
        const ok = msg.body.claims.appKey === 'good-key';
        ws.send(reply(msg, ok ? 'SUCCESS' : 'UNAUTHORIZED', ok ? session : 0));
        return;
      }
      if (!fake.silent) ws.send(reply(msg, 'SUCCESS', session));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(fake.close);
  return fake;
}

function client(fake: Fake, extra: Partial<ConstructorParameters<typeof AlwaysOnClient>[0]> = {}): AlwaysOnClient {
  const c = new AlwaysOnClient({
    url: fake.url,
    appKey: 'good-key',
    ca: fake.ca,
    reconnect: { initialMs: 5, maxMs: 20 },
    ...extra,
  });
  cleanups.push(() => c.close());
  return c;
}

describe('pure parts', () => {
  it('normalises the platform URL to wss://…/Thingworx/WS and refuses plain text', () => {
    expect(alwaysOnUrl('https://twx.example.com:8443')).toBe('wss://twx.example.com:8443/Thingworx/WS');
    expect(alwaysOnUrl('https://twx.example.com/Thingworx')).toBe('wss://twx.example.com/Thingworx/WS');
    expect(alwaysOnUrl('wss://h:1/Thingworx/WS')).toBe('wss://h:1/Thingworx/WS');
    expect(() => alwaysOnUrl('http://h:8080')).toThrow(/needs TLS/);
    expect(() => alwaysOnUrl('ws://h:8080/Thingworx/WS')).toThrow(/needs TLS/);
  });

  it('refuses out-of-range options with a typed error', () => {
    const base = { url: 'https://h:1', appKey: 'k' };
    for (const bad of [
      { pipeCount: 0 },
      { pipeCount: 256 },
      { pipeCount: 1.5 },
      { chunkSize: 100 },
      { requestTimeoutMs: 0 },
    ]) {
      expect(() => new AlwaysOnPool({ ...base, ...bad })).toThrow(
        expect.objectContaining({ code: 'TPX_ALWAYSON_OPTIONS' }),
      );
    }
    expect(() => new AlwaysOnPool({ ...base, appKey: '' })).toThrow(/application key/);
    expect(new AlwaysOnPool({ ...base, pipeCount: 255 }).pipeCount).toBe(255);
  });

  it('backs off exponentially with jitter, capped', () => {
    const opts = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(20, opts, () => 1)).toBe(1000);
    expect(backoffDelay(20, opts, () => 0)).toBe(500);
  });

  it('shards names stably and evenly over pipes', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[pipeFor(`dev-${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(pipeFor('0018B20000000B20', 8)).toBe(pipeFor('0018B20000000B20', 8));
    expect(pipeFor('anything', 1)).toBe(0);
  });

  it('cuts BIND batches so that each frame fits one chunk', () => {
    const names = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `é-${'x'.repeat(150)}-${i}` : `thing-${i}`));
    const batches = bindBatches(names, 1024);
    expect(batches.flat()).toEqual(names);
    for (const batch of batches) {
      const frame = encodeMessage({
        header: {
          version: 1,
          code: 'BIND',
          codeValue: 0x0a,
          requestId: 1,
          endpointId: 0,
          sessionId: 1,
          multipart: null,
        },
        body: { kind: 'bind', gateway: null, names: batch },
      });
      expect(frame.length).toBeLessThanOrEqual(1024);
    }
    expect(batches.length).toBeLessThan(names.length / 10);
  });
});

describe('AlwaysOnClient on the wire', () => {
  it('sends the appKey and Max-Frame-Size headers, AUTH with session 0xFFFFFFFF, then adopts the session id', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { chunkSize: 4096 });
    await c.start();
    expect(fake.headers[0]!.appkey).toBe('good-key');
    expect(fake.headers[0]!['max-frame-size']).toBe('4096');
    const auth = decodeMessage(fake.frames[0]!);
    expect(auth.header.code).toBe('AUTH');
    expect(auth.header.sessionId).toBe(0xffffffff);
    expect(auth.body).toEqual({ kind: 'auth', claims: { appKey: 'good-key' } });
    expect(c.session).toBe(0x2a);
    await c.push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 21.5 }, time: 1700000000000 }]);
    const push = fake.messages.at(-1)!;
    expect(push.header.sessionId).toBe(0x2a);
    expect(push.header.code).toBe('POST');
    expect(push.body.kind === 'request' && push.body.name).toBe('UpdateSubscribedPropertyValues');
  });

  it('masks its frames with a zero key, as the C SDK does (research/alwayson.md §1.4)', async () => {
    const fake = await fakePlatform();
    const raw: Buffer[] = [];
    fake.onSocket = (socket) => socket.on('data', (chunk: Buffer) => raw.push(chunk));
    const c = client(fake);
    await c.start();
    await c.push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 21.5 } }]);
    const bytes = Buffer.concat(raw);
    // walk the frames: each masked (bit 0x80 of the second byte) with the key 00 00 00 00
    let keys = 0;
    for (let at = 0; at < bytes.length; ) {
      expect(bytes[at + 1]! & 0x80).toBe(0x80);
      const short = bytes[at + 1]! & 0x7f;
      const [length, keyAt] = short === 126 ? [bytes.readUInt16BE(at + 2), at + 4] : [short, at + 2];
      expect(bytes.subarray(keyAt, keyAt + 4).toString('hex')).toBe('00000000');
      keys += 1;
      at = keyAt + 4 + length;
    }
    expect(keys).toBe(fake.frames.length);
  });

  it('pushes exactly the bytes of the C SDK vector push-properties-temp-21.5 (apart from ids)', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    await c.push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 21.5 }, time: 1700000000000 }]);
    const frame = Buffer.from(fake.frames.at(-1)!);
    frame.writeUInt32BE(4, 2); // the vector's requestId
    const vector =
      '010300000004000000000000002a000a0444657631021e5570646174655375627363726962656450726f706572747956616c7565730005010676616c75657300050000000100010501046e616d6500000000010576616c756500120000010474696d650003000001077175616c6974790000000000010004000474656d7012014035800000000000030000018bcfe568000004474f4f440000';
    expect(frame.toString('hex')).toBe(vector);
  });

  it('sends the pushes of one tick in one socket write (one TLS record), all of them answered', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    const socket = (c as unknown as { ws: { _socket: { _write: unknown; _writev: unknown } } }).ws._socket;
    let writes = 0;
    for (const k of ['_write', '_writev'] as const) {
      const original = socket[k] as (...a: unknown[]) => void;
      socket[k] = function (this: unknown, ...a: unknown[]) {
        writes += 1;
        return original.apply(this, a);
      };
    }
    const pushes = Array.from({ length: 20 }, (_, i) =>
      c.push(`Dev${i}`, [{ name: 'temp', value: { baseType: 'NUMBER', value: i } }]),
    );
    await Promise.all(pushes);
    expect(writes).toBe(1);
    expect(fake.messages.filter((m) => m.body.kind === 'request')).toHaveLength(20);
  });

  it('splits a push larger than one chunk into frames no larger than the chunk size', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { chunkSize: 512 });
    await c.start();
    const big = 'x'.repeat(5000);
    await c.push('Dev1', [{ name: 'payload', value: { baseType: 'STRING', value: big } }]);
    const framesOfPush = fake.frames.slice(1);
    expect(framesOfPush.length).toBeGreaterThan(9);
    for (const f of framesOfPush) expect(f.length).toBeLessThanOrEqual(512);
    const whole = fake.messages.at(-1)!;
    expect(JSON.stringify(whole.body)).toContain(big);
  });

  it('refuses a wrong app key with AuthFailedError', async () => {
    const fake = await fakePlatform();
    const c = new AlwaysOnClient({ url: fake.url, appKey: 'bad-key', ca: fake.ca });
    const err = await c.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailedError);
    expect((err as AuthFailedError).code).toBe('TPX_AUTH_FAILED');
    expect(c.state).toBe('closed');
  });

  it('refuses a certificate it does not trust, and warns when told to skip verification', async () => {
    const fake = await fakePlatform();
    const untrusted = new AlwaysOnClient({ url: fake.url, appKey: 'good-key' });
    const err = await untrusted.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).details).toMatchObject({ tls: true, setting: 'thingworxCa' });
    expect(say((err as ConnectError).fix)).toMatch(/TPX_THINGWORX_CA/);
    const insecure = client(fake, { ca: undefined, insecure: true });
    const warnings: string[] = [];
    insecure.on('warning', (w) => warnings.push(w.code));
    await insecure.start();
    expect(warnings).toEqual(['TPX_TLS_INSECURE']);
  });

  it('refuses a platform that offers only TLS below 1.2', async () => {
    const fake = await fakePlatform({
      tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
    });
    // Control: the server really speaks TLS 1.1 (so the refusal below is the client's doing).
    const { connect } = await import('node:tls');
    const port = Number(new URL(fake.url).port);
    const control = connect({
      port,
      host: '127.0.0.1',
      ca: fake.ca,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    await once(control, 'secureConnect');
    expect(control.getProtocol()).toBe('TLSv1.1');
    control.destroy();
    const c = new AlwaysOnClient({ url: fake.url, appKey: 'good-key', ca: fake.ca });
    const err = await c.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toMatch(/protocol version/i);
  });

  it('drops and reconnects a socket whose pong does not come in time', async () => {
    const fake = await fakePlatform({ autoPong: false });
    const c = client(fake, { pingIntervalMs: 30, pongTimeoutMs: 50 });
    await c.start();
    const firstSession = c.session;
    const timeout = once(c, 'ping.timeout');
    const down = once(c, 'down');
    const up = once(c, 'up');
    await timeout;
    await down;
    const [info] = (await up) as [{ sessionId: number }];
    expect(info.sessionId).not.toBe(firstSession);
  });

  it('fails every pending request with a retryable DisconnectedError when the socket drops', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    fake.silent = true;
    const pushes = Array.from({ length: 20 }, (_, i) =>
      c.push(`Dev${i}`, [{ name: 'n', value: { baseType: 'INTEGER', value: i } }]).then(
        () => 'acked',
        (e: unknown) => e,
      ),
    );
    while (fake.messages.length < 21) await once(fake.sockets.values().next().value!, 'message');
    for (const s of fake.sockets) s.terminate();
    const results = await Promise.all(pushes);
    for (const r of results) {
      expect(r).toBeInstanceOf(DisconnectedError);
      expect((r as DisconnectedError).retryable).toBe(true);
    }
    fake.silent = false;
    await once(c, 'up');
    await c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }]);
  });

  it('asks a queued push whether it is still wanted when its turn comes: withdrawn, nothing is sent', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { maxInFlight: 1 });
    await c.start();
    fake.silent = true;
    const first = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }]);
    let wanted = true;
    const asked: boolean[] = [];
    const second = c.push('Dev2', [{ name: 'n', value: { baseType: 'INTEGER', value: 2 } }], {
      stillValid: () => {
        asked.push(wanted);
        return wanted;
      },
    });
    const third = c.push('Dev3', [{ name: 'n', value: { baseType: 'INTEGER', value: 3 } }], { stillValid: () => true });
    const ws = fake.sockets.values().next().value!;
    while (fake.messages.length < 2) await once(ws, 'message');
    expect(c.load).toEqual({ inFlight: 1, queued: 2 });
    // the lease is lost while the second waits for the slot; the first's answer frees the slot
    wanted = false;
    fake.silent = false;
    ws.send(reply(fake.messages[1]!, 'SUCCESS', c.session));
    await first;
    await expect(second).rejects.toMatchObject({ code: 'TPX_ALWAYSON_WITHDRAWN' });
    await third;
    expect(asked).toEqual([false]);
    const things = fake.messages.slice(1).map((m) => (m.body.kind === 'request' ? m.body.entityName : ''));
    expect(things).toEqual(['Dev1', 'Dev3']);
  });

  it('asks a push whether it is still wanted when it is written, at the end of its turn, not when it was made', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    let wanted = true;
    const asked: boolean[] = [];
    const first = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }], {
      stillValid: () => {
        asked.push(wanted);
        return wanted;
      },
    });
    // a request after it keeps its place
    const second = c.push('Dev2', [{ name: 'n', value: { baseType: 'INTEGER', value: 2 } }]);
    // later in the same turn the push is no longer wanted (a fleet bridge paused here wakes up without its lease)
    wanted = false;
    await expect(first).rejects.toMatchObject({ code: 'TPX_ALWAYSON_WITHDRAWN' });
    await second;
    expect(asked).toEqual([false]);
    const things = fake.messages.slice(1).map((m) => (m.body.kind === 'request' ? m.body.entityName : ''));
    expect(things).toEqual(['Dev2']);
    expect(c.load).toEqual({ inFlight: 0, queued: 0 });
  });

  it('drops the socket unwritten when a push asked before the write is no longer wanted at the write (a pause in between)', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    const first = fake.sockets.values().next().value!;
    const closed = once(first, 'close');
    const causes: string[] = [];
    c.on('down', (e) => causes.push(e.cause));
    // wanted when asked in the write loop, no longer a moment later, before the socket is written
    const answers = [true, false];
    const push = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }], {
      stillValid: () => answers.shift() ?? false,
    });
    await expect(push).rejects.toMatchObject({ code: 'TPX_ALWAYSON_DISCONNECTED' });
    expect(causes).toEqual(['withdrawn']);
    // the platform saw the socket close with nothing on it but the AUTH
    await closed;
    expect(fake.messages.map((m) => m.header.code)).toEqual(['AUTH']);
  });

  it('queues requests beyond maxInFlight and sends them as answers come back', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { maxInFlight: 3 });
    await c.start();
    fake.silent = true;
    const pushes = Array.from({ length: 10 }, (_, i) =>
      c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: i } }]),
    );
    const ws = fake.sockets.values().next().value!;
    while (fake.messages.length < 4) await once(ws, 'message');
    expect(c.load).toEqual({ inFlight: 3, queued: 7 });
    fake.silent = false;
    // Answer the three outstanding ones; the rest flow (and are answered) as slots free.
    for (const m of fake.messages.slice(1)) ws.send(reply(m, 'SUCCESS', c.session));
    await Promise.all(pushes);
    const values = fake.messages
      .slice(1)
      .map((m) =>
        m.body.kind === 'request' ? JSON.stringify(m.body.params).match(/"INTEGER","value":(\d+)/)?.[1] : '',
      );
    expect(values).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

describe('limits', () => {
  it('refuses callers beyond maxQueued with a retryable BusyError, and requests before start()', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { maxInFlight: 1, maxQueued: 2, requestTimeoutMs: 2000 });
    const early = await c.push('Dev1', []).catch((e: unknown) => e);
    expect((early as AlwaysOnError).code).toBe('TPX_ALWAYSON_OPTIONS');
    await c.start();
    fake.silent = true;
    const v = [{ name: 'n', value: { baseType: 'INTEGER' as const, value: 1 } }];
    const settled = [c.push('Dev1', v), c.push('Dev1', v), c.push('Dev1', v)].map((p) => p.catch((e: unknown) => e));
    const busy = await c.push('Dev1', v).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(BusyError);
    expect((busy as BusyError).retryable).toBe(true);
    expect(c.load).toEqual({ inFlight: 1, queued: 2 });
    await c.close();
    for (const r of await Promise.all(settled)) expect((r as AlwaysOnError).code).toBe('TPX_ALWAYSON_CLOSED');
  });
});

describe('waiting callers', () => {
  it('holds a push made while reconnecting and sends it once the connection is back', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    await c.bind(['Dev1']);
    const down = once(c, 'down');
    for (const s of fake.sockets) s.terminate();
    await down;
    expect(c.state).not.toBe('ready');
    const pushed = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 7 } }]);
    await pushed;
    const last = fake.messages.at(-1)!;
    expect(last.header.sessionId).toBe(c.session);
    expect(JSON.stringify(last.body)).toContain('"value":7');
    // The BIND of the new session came before the push.
    const afterAuth = fake.messages.slice(fake.messages.findLastIndex((m) => m.body.kind === 'auth'));
    expect(afterAuth.map((m) => m.body.kind)).toEqual(['auth', 'bind', 'request']);
  });

  it('fails a queued push that never got a slot within the request timeout', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { maxInFlight: 1, requestTimeoutMs: 150 });
    await c.start();
    fake.silent = true;
    const v = [{ name: 'n', value: { baseType: 'INTEGER' as const, value: 1 } }];
    const results = await Promise.all([c.push('Dev1', v), c.push('Dev1', v)].map((p) => p.catch((e: unknown) => e)));
    for (const r of results) {
      expect((r as AlwaysOnError).code).toBe('TPX_ALWAYSON_TIMEOUT');
      expect((r as AlwaysOnError).retryable).toBe(true);
    }
  });
});

describe('malformed frames', () => {
  it('fails the request a malformed response answers, and answers a malformed platform request with BAD_REQUEST', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    const ws = fake.sockets.values().next().value!;
    const errors: Error[] = [];
    c.on('protocol.error', (e) => errors.push(e.error));
    fake.silent = true;
    const push = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }]).catch((e: unknown) => e);
    await once(ws, 'message');
    const id = fake.messages.at(-1)!.header.requestId;
    const header = (code: number, requestId: number) => {
      const h = Buffer.alloc(15);
      h[0] = 1;
      h[1] = code;
      h.writeUInt32BE(requestId, 2);
      h.writeUInt32BE(5, 6);
      h.writeUInt32BE(c.session, 10);
      return h;
    };
    ws.send(Buffer.concat([header(0x40, id), Buffer.from([0x00, 0x05, 0x01])]));
    expect(((await push) as AlwaysOnError).code).toBe('TPX_PROTOCOL');
    ws.send(Buffer.concat([header(0x02, 99), Buffer.from([0x0a, 0x04, 0x44])]));
    await once(ws, 'message');
    const answer = fake.messages.at(-1)!;
    expect(answer.header).toMatchObject({ code: 'BAD_REQUEST', requestId: 99, endpointId: 5 });
    expect(errors.length).toBe(2);
  });
});

describe('platform → edge requests', () => {
  async function platformRequest(
    fake: Fake,
    method: 'GET' | 'PUT' | 'POST',
    thing: string,
    characteristic: 'PROPERTIES' | 'SERVICES',
    name: string,
    params: InfoTable | null,
    requestId: number,
    chunkSize = 8192,
  ): Promise<Message> {
    const ws = fake.sockets.values().next().value!;
    const msg: Message = {
      header: {
        version: 1,
        code: method,
        codeValue: MESSAGE_CODES[method],
        requestId,
        endpointId: 77,
        sessionId: 0x2a,
        multipart: null,
      },
      body: { kind: 'request', entityType: 'THING', entityName: thing, characteristic, name, headers: {}, params },
    };
    for (const f of splitMessage(msg, chunkSize)) ws.send(f);
    for (;;) {
      await once(ws, 'message');
      const last = fake.messages.at(-1)!;
      if (last.header.codeValue >= 0x40 && last.header.requestId === requestId) return last;
    }
  }

  it('answers property writes and reads through the handlers, echoing requestId and endpointId', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    await c.bind(['Dev1']);
    const writes: unknown[] = [];
    c.handlers.propertyWrite = (thing, property, value) => {
      writes.push([thing, property, value]);
    };
    c.handlers.propertyRead = (_thing, property) =>
      property === 'temp' ? { baseType: 'NUMBER', value: 21.5 } : undefined;
    const put = await platformRequest(
      fake,
      'PUT',
      'Dev1',
      'PROPERTIES',
      'downlink',
      {
        dataShape: [{ name: 'downlink', description: '', baseType: 'STRING', aspects: {} }],
        rows: [[{ baseType: 'STRING', value: 'hello' }]],
      },
      0x4d,
    );
    expect(put.header).toMatchObject({ code: 'SUCCESS', requestId: 0x4d, endpointId: 77, sessionId: 0x2a });
    expect(writes).toEqual([['Dev1', 'downlink', { baseType: 'STRING', value: 'hello' }]]);
    const get = await platformRequest(fake, 'GET', 'Dev1', 'PROPERTIES', 'temp', null, 0x4e);
    expect(get.header.code).toBe('SUCCESS');
    expect(get.body).toMatchObject({
      kind: 'response',
      content: { dataShape: [{ name: 'temp', baseType: 'NUMBER' }], rows: [[{ baseType: 'NUMBER', value: 21.5 }]] },
    });
    const unknown = await platformRequest(fake, 'GET', 'Dev1', 'PROPERTIES', 'nope', null, 0x4f);
    expect(unknown.header.code).toBe('NOT_FOUND');
    const unbound = await platformRequest(fake, 'GET', 'Other', 'PROPERTIES', 'temp', null, 0x50);
    expect(unbound.header.code).toBe('NOT_FOUND');
  });

  it('reports a handler failure to the platform with its reason', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    await c.bind(['Dev1']);
    c.handlers.propertyWrite = async () => {
      throw new Error('downlink queue full');
    };
    const reported = once(c, 'platform.request');
    const res = await platformRequest(
      fake,
      'PUT',
      'Dev1',
      'PROPERTIES',
      'downlink',
      {
        dataShape: [{ name: 'downlink', description: '', baseType: 'STRING', aspects: {} }],
        rows: [[{ baseType: 'STRING', value: 'x' }]],
      },
      9,
    );
    expect(res.header.code).toBe('INTERNAL_SERVER_ERROR');
    expect(res.body).toMatchObject({ kind: 'response', reason: 'downlink queue full' });
    const [event] = (await reported) as [{ code: string; error: Error }];
    expect(event.code).toBe('INTERNAL_SERVER_ERROR');
    expect(event.error.message).toBe('downlink queue full');
  });

  it('answers NotifyPropertyUpdate, SynchronizeModelState and GetMetadata, and NOT_FOUND for other services', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    await c.bind(['Dev1']);
    const syncs: string[] = [];
    c.on('thing.sync', (e) => syncs.push(`${e.thing}:${e.service}`));
    const notify = await platformRequest(fake, 'POST', 'Dev1', 'SERVICES', 'NotifyPropertyUpdate', null, 1);
    expect(notify.header.code).toBe('SUCCESS');
    const sync = await platformRequest(fake, 'POST', 'Dev1', 'SERVICES', 'SynchronizeModelState', null, 2);
    expect(sync.body).toMatchObject({
      kind: 'response',
      content: { dataShape: [{ name: 'name' }, { name: 'value' }, { name: 'time' }, { name: 'quality' }], rows: [] },
    });
    expect(syncs).toEqual(['Dev1:NotifyPropertyUpdate', 'Dev1:SynchronizeModelState']);
    const meta = await platformRequest(fake, 'POST', 'Dev1', 'SERVICES', 'GetMetadata', null, 3);
    const content = meta.body.kind === 'response' ? meta.body.content : null;
    const json = content?.rows[0]?.[0];
    expect(json?.baseType).toBe('JSON');
    expect(JSON.parse(json && 'value' in json ? String(json.value) : '{}')).toMatchObject({
      name: 'Dev1',
      isSystemObject: false,
      propertyDefinitions: {},
    });
    const other = await platformRequest(fake, 'POST', 'Dev1', 'SERVICES', 'Reboot', null, 4);
    expect(other.header.code).toBe('NOT_FOUND');
  });

  it('reassembles a multipart platform write and splits a large read answer', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { chunkSize: 512 });
    await c.start();
    await c.bind(['Dev1']);
    const big = 'y'.repeat(3000);
    let written = '';
    c.handlers.propertyWrite = (_t, _p, v) => {
      written = v.baseType === 'STRING' ? v.value : '';
    };
    c.handlers.propertyRead = () => ({ baseType: 'STRING', value: big });
    const table = {
      dataShape: [{ name: 'downlink', description: '', baseType: 'STRING' as const, aspects: {} }],
      rows: [[{ baseType: 'STRING' as const, value: big }]],
    };
    const put = await platformRequest(fake, 'PUT', 'Dev1', 'PROPERTIES', 'downlink', table, 11, 512);
    expect(put.header.code).toBe('SUCCESS');
    expect(written).toBe(big);
    const before = fake.frames.length;
    const get = await platformRequest(fake, 'GET', 'Dev1', 'PROPERTIES', 'downlink', null, 12);
    expect(JSON.stringify(get.body)).toContain(big);
    const answerFrames = fake.frames.slice(before);
    expect(answerFrames.length).toBeGreaterThan(5);
    for (const f of answerFrames) expect(f.length).toBeLessThanOrEqual(512);
  });
});

/** A socket for the keepalive: records pings; `hear()` is the platform saying something. */
class FakePingSocket implements PingSocket {
  pings = 0;
  private readonly listeners = new Map<string, Set<() => void>>();
  ping(): void {
    this.pings += 1;
  }
  on(event: string, fn: () => void): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(fn);
  }
  off(event: string, fn: () => void): void {
    this.listeners.get(event)?.delete(fn);
  }
  hear(event: 'pong' | 'message' = 'pong'): void {
    for (const fn of this.listeners.get(event) ?? []) fn();
  }
}

describe('keepalive (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('notices a silent platform at the deadline, not after the 55 s ping interval (issue 12.9)', () => {
    vi.useFakeTimers();
    const ws = new FakePingSocket();
    const timeouts: number[] = [];
    const k = new Keepalive(ws, 55_000, 5_000, (silent) => timeouts.push(silent));
    k.start();
    vi.advanceTimersByTime(2_499);
    expect(ws.pings).toBe(0);
    vi.advanceTimersByTime(1); // half the deadline without a sign of life: a ping goes out
    expect(ws.pings).toBe(1);
    vi.advanceTimersByTime(2_499);
    expect(timeouts).toEqual([]);
    vi.advanceTimersByTime(1); // the deadline: no frame, no pong; confirmed once pending I/O is read
    vi.advanceTimersByTime(1);
    expect(timeouts.length).toBe(1);
    expect(timeouts[0]).toBeGreaterThanOrEqual(5_000);
    expect(timeouts[0]).toBeLessThanOrEqual(5_001);
    vi.advanceTimersByTime(60_000); // stopped: reported once, no more pings
    expect(timeouts.length).toBe(1);
    expect(ws.pings).toBe(1);
  });

  it('keeps a connection that answers: pongs and frames count as signs of life', () => {
    vi.useFakeTimers();
    const ws = new FakePingSocket();
    const timeouts: number[] = [];
    const k = new Keepalive(ws, 55_000, 5_000, (silent) => timeouts.push(silent));
    k.start();
    for (let i = 0; i < 100; i++) {
      vi.advanceTimersByTime(2_500);
      ws.hear('pong');
    }
    // busy: frames all the time, no ping needed until the interval
    for (let i = 0; i < 100; i++) {
      vi.advanceTimersByTime(1_000);
      ws.hear('message');
    }
    expect(timeouts).toEqual([]);
    expect(ws.pings).toBeGreaterThanOrEqual(100);
    const before = ws.pings;
    vi.advanceTimersByTime(4_000);
    ws.hear('message');
    k.stop();
    vi.advanceTimersByTime(60_000);
    expect(timeouts).toEqual([]);
    expect(ws.pings).toBeLessThanOrEqual(before + 2);
  });

  it('does not count a pong waiting unread behind a long synchronous stretch as silence', () => {
    vi.useFakeTimers();
    const ws = new FakePingSocket();
    const timeouts: number[] = [];
    const k = new Keepalive(ws, 55_000, 5_000, (silent) => timeouts.push(silent));
    k.start();
    vi.advanceTimersByTime(5_000); // the deadline check runs; the pong is read before it is confirmed
    ws.hear('pong');
    vi.advanceTimersByTime(1);
    expect(timeouts).toEqual([]);
    k.stop();
  });

  it('pings a busy connection at least every interval (the platform idle timeout counts pings)', () => {
    vi.useFakeTimers();
    const ws = new FakePingSocket();
    const k = new Keepalive(ws, 55_000, 5_000, () => {});
    k.start();
    for (let i = 0; i < 110; i++) {
      vi.advanceTimersByTime(1_000);
      ws.hear('message');
    }
    expect(ws.pings).toBe(2);
    k.stop();
  });
});

describe('connection states (issue 14.7)', () => {
  it('has one transition table, and setState() refuses what it does not allow with a typed error', async () => {
    expect(TRANSITIONS.closed).toEqual([]);
    expect(TRANSITIONS.ready).not.toContain('authenticating');
    const fake = await fakePlatform();
    const c = client(fake);
    const seen: string[] = [];
    const setState = (c as unknown as { setState(s: string): void }).setState.bind(c);
    (c as unknown as { setState(s: string): void }).setState = (s: string) => {
      setState(s);
      if (seen.at(-1) !== c.state) seen.push(c.state);
    };
    await c.start();
    expect(seen).toEqual(['connecting', 'authenticating', 'binding', 'ready']);
    expect(() => setState('authenticating')).toThrow(IllegalTransitionError);
    try {
      setState('idle');
    } catch (e) {
      expect(e).toMatchObject({ code: 'TPX_ALWAYSON_STATE', details: { from: 'ready', to: 'idle' } });
    }
    await c.close();
    expect(c.state).toBe('closed');
    expect(() => setState('connecting')).toThrow(IllegalTransitionError);
  });
});

describe('reconnect backoff (issue 12.10, fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is capped at 5 s with jitter by default, so a pipe is back within seconds of the platform', () => {
    const delays = Array.from({ length: 30 }, (_, i) => backoffDelay(i + 1, RECONNECT_BACKOFF));
    expect(Math.max(...delays)).toBeLessThanOrEqual(5_000);
    expect(backoffDelay(30, RECONNECT_BACKOFF, () => 0)).toBe(2_500);
  });

  it("a client's reconnect attempts never wait more than 5 s however long the outage", async () => {
    const fake = await fakePlatform();
    const c = new AlwaysOnClient({ url: fake.url, appKey: 'good-key', ca: fake.ca });
    cleanups.push(() => c.close());
    await c.start();
    const delays: number[] = [];
    const causes: string[] = [];
    c.on('reconnect', (e) => {
      delays.push(e.delayMs);
      causes.push(e.cause);
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    fake.upgradeStatus = 503; // every attempt is refused
    for (const s of fake.sockets) s.terminate();
    for (let i = 1; i <= 10; i++) {
      while (delays.length < i) await new Promise((r) => setImmediate(r));
      await vi.advanceTimersByTimeAsync(delays[i - 1]!);
    }
    expect(delays.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5_000);
    expect(causes[0]).toBe('closed_by_platform');
    expect(causes.slice(1)).toContain('upgrade_refused');
    fake.upgradeStatus = null;
    const up = once(c, 'up');
    await vi.advanceTimersByTimeAsync(5_000);
    vi.useRealTimers();
    await up;
    expect(c.state).toBe('ready');
  });
});

describe('failures carry their cause (issue 12.8)', () => {
  it('close() during an opening that hangs (a frozen platform) ends it at once: no socket left, no reconnect', async () => {
    const { createServer: createTcpServer } = await import('node:net');
    const held = new Set<import('node:net').Socket>();
    let onClosed: (() => void) | undefined;
    const frozen = createTcpServer((s) => {
      held.add(s); // accepted, never answered (no TLS handshake)
      s.on('close', () => {
        held.delete(s);
        if (held.size === 0) onClosed?.();
      });
    });
    frozen.listen(0, '127.0.0.1');
    await once(frozen, 'listening');
    const accepted = once(frozen, 'connection');
    try {
      const port = (frozen.address() as AddressInfo).port;
      const c = new AlwaysOnClient({
        url: `wss://127.0.0.1:${port}/Thingworx/WS`,
        appKey: 'k',
        connectTimeoutMs: 30_000,
      });
      const reconnects: unknown[] = [];
      c.on('reconnect', (e) => reconnects.push(e));
      const started = c.start().catch((e: unknown) => e);
      await accepted;
      const gone = new Promise<'gone'>((r) => {
        onClosed = () => r('gone');
      });
      await c.close();
      const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 3_000).unref());
      // before, the opening lived on to its own limit (30 s here), keeping a process alive after its stop
      expect(await Promise.race([started, late])).toBeInstanceOf(ClientClosedError);
      expect(await Promise.race([gone, late])).toBe('gone');
      expect(c.state).toBe('closed');
      expect(reconnects).toEqual([]);
    } finally {
      for (const s of held) s.destroy();
      frozen.close();
    }
  });

  it('a frozen platform (socket open, nothing answered, no pong) is dropped within the ping deadline', async () => {
    const fake = await fakePlatform({ autoPong: false });
    const c = client(fake, { pingDeadlineMs: 300 });
    await c.start();
    fake.silent = true;
    const pending = c.push('Dev1', [{ name: 'n', value: { baseType: 'INTEGER', value: 1 } }]).catch((e) => e);
    const [timeout] = (await once(c, 'ping.timeout')) as [{ silentMs: number }];
    expect(timeout.silentMs).toBeGreaterThanOrEqual(300);
    expect(c.state).not.toBe('ready');
    const err = (await pending) as AlwaysOnError;
    expect(err).toBeInstanceOf(DisconnectedError);
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ failure: 'ping_timeout' });
    // durations in the one syntax: measured "312ms", the configured deadline as configured (not "312 ms", "300 ms")
    expect(err.message).toMatch(/ThingWorx said nothing for \d+ms, not even a pong \(deadline 300ms\)/);
  });

  it('says why: unanswered AUTH, HTTP 500 on the upgrade, a 2 GB frame header, raw garbage', async () => {
    const fake = await fakePlatform();
    const c = client(fake, { requestTimeoutMs: 200 });
    await c.start();
    const next = (ev: 'reconnect' | 'down') =>
      new Promise<string>((resolve) => c.once(ev, (e: { cause: string }) => resolve(e.cause)));
    const ws = () => fake.sockets.values().next().value!;

    // a 2 GB frame header
    let down = next('down');
    (ws() as unknown as { _socket: import('node:net').Socket })._socket.write(
      Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0x80, 0, 0, 0]),
    );
    expect(await down).toBe('frame_too_large');
    await once(c, 'up');

    // raw garbage (not WebSocket frames)
    down = next('down');
    (ws() as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from('garbage!garbage!'));
    expect(await down).toBe('bad_frame');
    await once(c, 'up');

    // HTTP 500 on the upgrade, then AUTH never answered
    fake.upgradeStatus = 500;
    const causes: string[] = [];
    c.on('reconnect', (e) => causes.push(e.cause));
    for (const s of fake.sockets) s.terminate();
    while (!causes.includes('upgrade_refused')) await once(c, 'reconnect');
    fake.upgradeStatus = null;
    fake.answerAuth = false;
    while (!causes.includes('auth_timeout')) await once(c, 'reconnect');
    fake.answerAuth = true;
    await once(c, 'up');
    expect(causes[0]).toBe('closed_by_platform');
  });

  it('reports text frames and multipart messages that never complete', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    const errors: { cause: string; error: Error }[] = [];
    c.on('protocol.error', (e) => errors.push(e));
    const ws = fake.sockets.values().next().value!;
    ws.send('hello', { binary: false });
    // first chunks (1 of 2) of 40 different messages: more than the 32 incomplete messages kept
    for (let i = 0; i < 40; i++) {
      const chunk = Buffer.alloc(21 + 4);
      chunk[0] = 1;
      chunk[1] = 0x40;
      chunk.writeUInt32BE(1000 + i, 2);
      chunk.writeUInt32BE(c.session, 10);
      chunk[14] = 1;
      chunk.writeUInt16BE(1, 15);
      chunk.writeUInt16BE(2, 17);
      chunk.writeUInt16BE(8192, 19);
      ws.send(chunk);
    }
    const down = once(c, 'down');
    while (errors.filter((e) => e.cause === 'incomplete_multipart').length < 8) await once(c, 'protocol.error');
    expect(errors[0]).toMatchObject({ cause: 'text_frame' });
    // the 32 still held are reported when the socket goes
    ws.terminate();
    await down;
    expect(errors.at(-1)).toMatchObject({ cause: 'incomplete_multipart' });
    expect(errors.at(-1)!.error.message).toMatch(/^32 incomplete/);
  });

  it('retries an AUTH answered with a server error (the platform busy is no verdict on the key)', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    fake.authStatus = 'SERVICE_UNAVAILABLE';
    const causes: string[] = [];
    c.on('reconnect', (e) => causes.push(e.cause));
    let failed = false;
    c.on('failed', () => {
      failed = true;
    });
    for (const s of fake.sockets) s.terminate();
    while (!causes.includes('auth_unavailable')) await once(c, 'reconnect');
    fake.authStatus = null;
    await once(c, 'up');
    expect(failed).toBe(false);
  });

  it('gives up when ThingWorx refuses the key on a reconnect, failing waiting pushes as retryable', async () => {
    const fake = await fakePlatform();
    const c = client(fake);
    await c.start();
    const failed = once(c, 'failed');
    // the key is revoked: AUTH now refused
    (c as unknown as { opts: { appKey: string } }).opts.appKey = 'revoked-key';
    for (const s of fake.sockets) s.terminate();
    const [e] = (await failed) as [{ error: AlwaysOnError; cause: string }];
    expect(e.cause).toBe('auth_refused');
    expect(e.error).toBeInstanceOf(AuthFailedError);
    expect(c.state).toBe('closed');
  });
});
