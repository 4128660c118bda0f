/**
 * The AlwaysOn pool against the ThingWorx emulator (issue 3 "Done when"): auth, bind/unbind, 10,000 Things over 1
 * and 8 pipes, First-in-wins and Last-in-wins, pushes visible through REST, REST writes of `downlink` reaching the
 * handler, properties larger than a chunk, every socket dropped mid-stream, TLS below 1.2.
 */

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AlwaysOnError,
  AlwaysOnPool,
  type AlwaysOnPoolOptions,
  AuthFailedError,
  BindRejectedError,
  ConnectError,
  type TwValue,
} from '../../src/alwayson/index.js';
import { say } from '../../src/cli/phrases.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';

type Emulator = Awaited<ReturnType<typeof startThingWorxEmulator>>;

const MANY = 10_000;
const manyNames = Array.from({ length: MANY }, (_, i) => `many-${String(i).padStart(5, '0')}`);
const state = {
  templates: [
    {
      name: 'TestTemplate',
      base: 'RemoteThing',
      properties: [
        { name: 'temp', baseType: 'NUMBER', isLogged: true },
        { name: 'payload', baseType: 'STRING' },
        { name: 'downlink', baseType: 'STRING', isRemote: true, remotePropertyName: 'downlink' },
      ],
    },
  ],
  things: [
    ...['Dev1', 'Dev2', 'Dev3', 'Dev4', 'Dev5', 'Drop'].map((name) => ({ name, template: 'TestTemplate' })),
    ...Array.from({ length: 200 }, (_, i) => ({ name: `drop-${i}`, template: 'TestTemplate' })),
    ...manyNames.map((name) => ({ name, template: 'TestTemplate' })),
  ],
};

let emu: Emulator;
let ca: Buffer;
let dispatcher: Agent;
const pools: AlwaysOnPool[] = [];

beforeAll(async () => {
  emu = await startThingWorxEmulator({ port: 0, state });
  ca = readFileSync(emu.caFile);
  dispatcher = new Agent({ connect: { ca } });
});
afterEach(async () => {
  while (pools.length) await pools.pop()!.close();
  emu.faults.rejectAuth(false);
  emu.setBindPolicy('first-in-wins');
});
afterAll(async () => {
  await dispatcher?.close();
  await emu?.close();
});

function pool(extra: Partial<AlwaysOnPoolOptions> = {}): AlwaysOnPool {
  const p = new AlwaysOnPool({
    url: emu.wsUrl,
    appKey: emu.appKey,
    ca,
    requestTimeoutMs: 5000,
    reconnect: { initialMs: 10, maxMs: 50 },
    ...extra,
  });
  pools.push(p);
  return p;
}

async function rest(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${emu.restUrl}/Thingworx${path}`, {
    method,
    dispatcher,
    headers: {
      appKey: emu.appKey,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function property(thing: string, name: string): Promise<unknown> {
  const r = await rest('GET', `/Things/${thing}/Properties/${name}`);
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { rows: Record<string, unknown>[] }).rows[0]?.[name];
}

describe('AlwaysOn pool against the ThingWorx emulator', () => {
  it('authenticates with the app key and refuses a bad one', async () => {
    const good = pool();
    const up = once(good, 'pipe.up');
    await good.start();
    await up;
    expect(good.status()[0]!.state).toBe('ready');

    const bad = pool({ appKey: 'not-a-key' });
    const err = await bad.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailedError);
    expect((err as AuthFailedError).details).toMatchObject({ setting: 'thingworxAppKey' });
    expect(say((err as AuthFailedError).fix)).toMatch(/TPX_THINGWORX_APP_KEY/);

    emu.faults.rejectAuth(true);
    const refused = pool();
    const err2 = await refused.start().catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(AuthFailedError);
  });

  it('binds and unbinds: isConnected follows', async () => {
    const p = pool();
    await p.start();
    expect(await p.bind(['Dev1'])).toEqual({ bound: ['Dev1'] });
    expect(await property('Dev1', 'isConnected')).toBe(true);
    await p.unbind(['Dev1']);
    expect(p.isBound('Dev1')).toBe(false);
    expect(await property('Dev1', 'isConnected')).toBe(false);
    // close() unbinds what is still bound before closing the socket.
    await p.bind(['Dev1']);
    const unbound = once(emu.events, 'unbind');
    await p.close();
    const [event] = (await unbound) as [{ names: string[]; reason: string }];
    expect(event).toMatchObject({ names: ['Dev1'], reason: 'unbind' });
  });

  it('refuses to bind a Thing that does not exist, with a typed error naming it', async () => {
    const p = pool();
    await p.start();
    const err = (await p.bind(['Dev1', 'NoSuchThing']).catch((e: unknown) => e)) as BindRejectedError;
    expect(err).toBeInstanceOf(BindRejectedError);
    expect(err.code).toBe('TPX_BIND_REJECTED');
    expect(err.names).toEqual(['NoSuchThing']);
    expect(err.bound).toEqual(['Dev1']);
  });

  for (const pipeCount of [1, 8]) {
    it(`binds 10,000 Things over ${pipeCount} pipe(s), each BIND in one chunk`, async () => {
      const p = pool({ pipeCount });
      await p.start();
      const bound: string[] = [];
      const onBind = (e: { names: string[] }) => bound.push(...e.names);
      emu.events.on('bind', onBind);
      try {
        const result = await p.bind(manyNames);
        expect(result.bound.length).toBe(MANY);
      } finally {
        emu.events.off('bind', onBind);
      }
      expect(new Set(bound).size).toBe(MANY);
      expect(p.boundCount).toBe(MANY);
      const perPipe = p.status().map((s) => s.bound);
      expect(perPipe.reduce((a, b) => a + b, 0)).toBe(MANY);
      for (const n of perPipe) expect(n).toBeGreaterThan(MANY / pipeCount / 2);
      expect(await property('many-04242', 'isConnected')).toBe(true);
    });
  }

  it('First in wins: a second connection is refused with the Last-in-wins fix; Last in wins: it takes over', async () => {
    const first = pool();
    const second = pool();
    await Promise.all([first.start(), second.start()]);
    await first.bind(['Dev2']);
    const rejected = once(second, 'bind.rejected');
    const err = (await second.bind(['Dev2', 'Dev3']).catch((e: unknown) => e)) as BindRejectedError;
    expect(err).toBeInstanceOf(BindRejectedError);
    expect(err.names).toEqual(['Dev2']);
    expect(err.bound).toEqual(['Dev3']);
    expect(err.fix).toMatch(/Last in wins/);
    expect(err.reason).toMatch(/Binding failed/);
    await rejected;

    emu.setBindPolicy('last-in-wins');
    await second.bind(['Dev2']);
    const writes: string[] = [];
    first.onPropertyWrite(() => {
      writes.push('first');
    });
    second.onPropertyWrite(() => {
      writes.push('second');
    });
    const r = await rest('PUT', '/Things/Dev2/Properties/downlink', { downlink: 'to the newest' });
    expect(r.status).toBe(200);
    expect(writes).toEqual(['second']);
  });

  it('pushes property values that REST then reads, with their time', async () => {
    const p = pool({ pipeCount: 2 });
    await p.start();
    await p.bind(['Dev1']);
    await p.push('Dev1', [
      { name: 'temp', value: { baseType: 'NUMBER', value: 21.5 }, time: 1_700_000_000_000 },
      { name: 'payload', value: { baseType: 'STRING', value: 'aGVsbG8=' } },
    ]);
    expect(await property('Dev1', 'temp')).toBe(21.5);
    expect(await property('Dev1', 'payload')).toBe('aGVsbG8=');
  });

  it('says which pipes are up, and how many Things are bound on the ones that are down', async () => {
    const p = pool({ pipeCount: 2 });
    await p.start();
    const names = Array.from({ length: 20 }, (_, i) => `drop-${180 + i}`);
    await p.bind(names);
    expect(p.health()).toEqual({ count: 2, up: 2, boundOnDown: 0 });
    const onPipe1 = p.status()[1]!.bound;
    expect(onPipe1).toBeGreaterThan(0);
    // read when the pipe goes down (it reconnects within milliseconds)
    const seen = new Promise<ReturnType<AlwaysOnPool['health']>>((resolve) =>
      p.once('pipe.down', () => resolve(p.health())),
    );
    (p.pipe(1) as unknown as { ws: { terminate(): void } }).ws.terminate();
    expect(await seen).toEqual({ count: 2, up: 1, boundOnDown: onPipe1 });
  });

  it('delivers a REST write of downlink to the handler, and the handler answer to the REST caller', async () => {
    const p = pool();
    await p.start();
    await p.bind(['Dev4']);
    const seen: [string, string, TwValue][] = [];
    p.onPropertyWrite(async (thing, prop, value) => {
      seen.push([thing, prop, value]);
      if (value.baseType === 'STRING' && value.value === 'refuse') throw new Error('downlink queue full');
    });
    const ok = await rest('PUT', '/Things/Dev4/Properties/downlink', { downlink: '{"DevEUI_downlink":{}}' });
    expect(ok.status).toBe(200);
    expect(seen).toEqual([['Dev4', 'downlink', { baseType: 'STRING', value: '{"DevEUI_downlink":{}}' }]]);
    const refused = await rest('PUT', '/Things/Dev4/Properties/downlink', { downlink: 'refuse' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.text).toMatch(/downlink queue full/);
  });

  it('carries properties larger than one chunk both ways', async () => {
    const p = pool({ chunkSize: 1024 });
    await p.start();
    await p.bind(['Dev5']);
    const big = 'x'.repeat(20_000) + 'END';
    await p.push('Dev5', [{ name: 'payload', value: { baseType: 'STRING', value: big } }]);
    expect(await property('Dev5', 'payload')).toBe(big);
    let received = '';
    p.onPropertyWrite((_t, _p, v) => {
      received = v.baseType === 'STRING' ? v.value : '';
    });
    const r = await rest('PUT', '/Things/Dev5/Properties/downlink', { downlink: big });
    expect(r.status).toBe(200);
    expect(received).toBe(big);
  });

  it('loses no push when every socket drops mid-stream, and binds its Things again', async () => {
    const p = pool({ pipeCount: 4 });
    await p.start();
    const things = Array.from({ length: 200 }, (_, i) => `drop-${i}`);
    await p.bind(things);
    const stored = new Map<string, number>();
    const onPush = (e: { thing: string; values: { name: string; value: unknown }[] }) => {
      for (const v of e.values) if (v.name === 'temp') stored.set(`${e.thing}:${String(v.value)}`, 1);
    };
    emu.events.on('push', onPush);
    const total = 4000;
    let acked = 0;
    const outcomes = Array.from({ length: total }, (_, i) =>
      p.push(things[i % things.length]!, [{ name: 'temp', value: { baseType: 'NUMBER', value: i } }]).then(
        () => {
          acked++;
          if (acked === 500) emu.faults.dropAllSockets();
          return { i, ok: true as const };
        },
        (error: unknown) => ({ i, ok: false as const, error }),
      ),
    );
    const results = await Promise.all(outcomes);
    emu.events.off('push', onPush);
    const failed = results.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f.error).toBeInstanceOf(AlwaysOnError);
      expect((f.error as AlwaysOnError).retryable).toBe(true);
    }
    // Every acknowledged push was stored by the platform.
    for (const r of results) if (r.ok) expect(stored.has(`${things[r.i % things.length]}:${r.i}`)).toBe(true);
    // Every pipe came back with its Things bound again.
    while (p.status().some((s) => s.state !== 'ready')) await once(p, 'pipe.up');
    expect(p.boundCount).toBe(things.length);
    expect(await property('drop-7', 'isConnected')).toBe(true);
    await p.push('drop-7', [{ name: 'temp', value: { baseType: 'NUMBER', value: -1 } }]);
    expect(await property('drop-7', 'temp')).toBe(-1);
  });
});

describe('faults', () => {
  it('reports Things a ghost session keeps after a reconnect as bind.rejected, and binds them once the ghost is gone', async () => {
    const p = pool();
    await p.start();
    await p.bind(['Dev3', 'Dev1']);
    // A ghost session takes Dev3 (as a platform that has not noticed an old connection die would keep it).
    emu.faults.ghostSession(['Dev3']);
    const rejected = once(p, 'bind.rejected');
    const up = once(p, 'pipe.up');
    emu.faults.dropAllSockets();
    const [{ error }] = (await rejected) as [{ error: BindRejectedError }];
    await up;
    expect(error.code).toBe('TPX_BIND_REJECTED');
    expect(error.names).toEqual(['Dev3']);
    expect(error.fix).toMatch(/ghost/);
    expect(p.isBound('Dev3')).toBe(false);
    expect(p.isBound('Dev1')).toBe(true);
    emu.setBindPolicy('last-in-wins');
    await p.bind(['Dev3']);
    expect(p.isBound('Dev3')).toBe(true);
  });

  it('fails a push the platform does not answer in time with a retryable timeout', async () => {
    const p = pool({ requestTimeoutMs: 100 });
    await p.start();
    emu.faults.delayResponses(1000);
    try {
      const err = (await p
        .push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 1 } }])
        .catch((e: unknown) => e)) as AlwaysOnError;
      expect(err.code).toBe('TPX_ALWAYSON_TIMEOUT');
      expect(err.retryable).toBe(true);
    } finally {
      emu.faults.delayResponses(0);
    }
  });

  it('fails a push the platform refuses with its status, retryable only for server errors', async () => {
    const p = pool();
    await p.start();
    for (const [status, retryable] of [
      [503, true],
      [403, false],
    ] as const) {
      emu.faults.failResponses(status);
      try {
        const err = (await p
          .push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 1 } }])
          .catch((e: unknown) => e)) as AlwaysOnError;
        expect(err.code).toBe('TPX_ALWAYSON_REQUEST_FAILED');
        expect(err.retryable).toBe(retryable);
      } finally {
        emu.faults.failResponses(null);
      }
    }
  });
});

describe('ping timeout', () => {
  it('detects a connection that went silent (no pong) and comes back with its Things bound', async () => {
    // A TCP relay in front of the emulator that can go silent, like a dead NAT entry: nothing passes, nothing closes.
    const target = Number(new URL(emu.wsUrl).port);
    const pairs: { client: Socket; upstream: Socket }[] = [];
    const relay = createNetServer((client) => {
      const upstream = connect(target, '127.0.0.1');
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
      pairs.push({ client, upstream });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    try {
      emu.setBindPolicy('last-in-wins');
      const port = (relay.address() as AddressInfo).port;
      const p = pool({ url: `wss://127.0.0.1:${port}/Thingworx/WS`, pingIntervalMs: 50, pongTimeoutMs: 100 });
      await p.start();
      await p.bind(['Dev1']);
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
      }
      const timeout = once(p, 'ping.timeout');
      const down = once(p, 'pipe.down');
      const up = once(p, 'pipe.up');
      await timeout;
      await down;
      const [info] = (await up) as [{ bound: number }];
      expect(info.bound).toBe(1);
      expect(p.isBound('Dev1')).toBe(true);
      expect(await property('Dev1', 'isConnected')).toBe(true);
      await p.push('Dev1', [{ name: 'temp', value: { baseType: 'NUMBER', value: 42 } }]);
      expect(await property('Dev1', 'temp')).toBe(42);
    } finally {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      relay.close();
    }
  });
});

describe('TLS', () => {
  it('refuses an emulator that offers only TLS 1.1', async () => {
    const old = await startThingWorxEmulator({ port: 0, state: { transport: { tls: 'tls1.1-only' } } });
    try {
      const p = new AlwaysOnPool({ url: old.wsUrl, appKey: old.appKey, ca: readFileSync(old.caFile) });
      const err = await p.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as Error).message).toMatch(/protocol version|TLS/i);
    } finally {
      await old.close();
    }
  });
});
