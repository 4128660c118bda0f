/** The emulator's AlwaysOn endpoint driven with raw codec frames (never the tpx client). */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeMessage, type InfoTable, splitMessage } from '../../../src/alwayson/codec/index.js';
import {
  type EmulatorState,
  startThingWorxEmulator,
  type ThingWorxEmulator,
} from '../../../src/emulators/thingworx/index.js';
import { msg, nextEvent, RawEdge, rest } from './helpers.js';

const STATE: EmulatorState = {
  users: [{ name: 'conn' }],
  appKeys: [
    { name: 'conn-key', keyId: 'conn-key-id-0001', user: 'conn', expiresAt: '2999-01-01T00:00:00Z' },
    { name: 'old-key', keyId: 'old-key-id-0001', user: 'conn', expiresAt: '2001-01-01T00:00:00Z' },
  ],
  templates: [
    {
      name: 'Dev',
      base: 'RemoteThing',
      owner: 'conn',
      properties: [
        { name: 'uplinkData', baseType: 'JSON', isLogged: true },
        { name: 'downlink', baseType: 'JSON', isRemote: true },
        { name: 'FPort', baseType: 'INTEGER' },
      ],
    },
  ],
  things: [
    { name: 'D1', template: 'Dev', owner: 'conn' },
    { name: 'D2', template: 'Dev', owner: 'conn' },
    { name: 'Plain', template: 'GenericThing' },
  ],
};

const emus: ThingWorxEmulator[] = [];
const edges: RawEdge[] = [];
async function start(extra: Parameters<typeof startThingWorxEmulator>[0] = {}) {
  const emu = await startThingWorxEmulator({ state: STATE, ...extra });
  emus.push(emu);
  return emu;
}
async function edge(emu: ThingWorxEmulator, key?: string) {
  const e = await RawEdge.authed(emu, key);
  edges.push(e);
  return e;
}
afterEach(async () => {
  for (const e of edges.splice(0)) await e.close();
  for (const e of emus.splice(0)) await e.close();
});

describe('ThingWorx emulator: AlwaysOn', () => {
  it('authenticates with a valid key: a fresh session id in the header, auth event', async () => {
    const emu = await start();
    const auth = nextEvent(emu, 'auth');
    const e = await edge(emu, emu.keyId('conn-key'));
    expect(e.sessionId).toBeGreaterThan(0);
    expect(await auth).toMatchObject({ ok: true, keyName: 'conn-key', user: 'conn' });
    const e2 = await edge(emu, emu.keyId('conn-key'));
    expect(e2.sessionId).not.toBe(e.sessionId);
  });

  it('refuses an expired or unknown key with 0x81 and closes the socket; rejectAuth does the same', async () => {
    const emu = await start();
    for (const key of [emu.keyId('old-key'), 'nope']) {
      const e = await RawEdge.connect(emu);
      const r = await e.call('AUTH', { kind: 'auth', claims: { appKey: key } });
      expect(r.header.code).toBe('UNAUTHORIZED');
      expect((await e.closed).code).toBe(1008);
    }
    emu.faults.rejectAuth(true);
    const e = await RawEdge.connect(emu);
    expect((await e.call('AUTH', { kind: 'auth', claims: { appKey: emu.appKey } })).header.code).toBe('UNAUTHORIZED');
    emu.faults.rejectAuth(false);
    await edge(emu);
  });

  it('authenticates with user and password claims too', async () => {
    const emu = await start({ state: { ...STATE, users: [{ name: 'conn', password: 'pw' }] } });
    const e = await RawEdge.connect(emu);
    edges.push(e);
    expect((await e.call('AUTH', { kind: 'auth', claims: { userid: 'conn', password: 'no' } })).header.code).toBe(
      'UNAUTHORIZED',
    );
    const f = await RawEdge.connect(emu);
    edges.push(f);
    expect((await f.call('AUTH', { kind: 'auth', claims: { userid: 'conn', password: 'pw' } })).header.code).toBe(
      'SUCCESS',
    );
  });

  it('answers an invalid appKey header with 401 at the upgrade, accepts a valid one', async () => {
    const emu = await start();
    const ws = new WebSocket(emu.wsUrl, {
      ca: (await import('node:fs')).readFileSync(emu.caFile),
      headers: { appKey: 'bad' },
    });
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(401);
    const ok = await RawEdge.connect(emu, { appKey: emu.appKey, 'Max-Frame-Size': '8192' });
    edges.push(ok);
    expect((await ok.call('AUTH', { kind: 'auth', claims: { appKey: emu.appKey } })).header.code).toBe('SUCCESS');
  });

  it('closes a connection whose first message is not AUTH, and one that sends no AUTH in time', async () => {
    const emu = await start({ authTimeoutMs: 100 });
    const e = await RawEdge.connect(emu);
    e.send(msg('BIND', 1, { kind: 'bind', gateway: null, names: ['D1'] }));
    expect((await e.closed).code).toBe(1008);
    expect(emu.boundThings()).toEqual([]);
    const silent = await RawEdge.connect(emu);
    expect(await silent.closed).toEqual({ code: 1008, reason: 'No AUTH message received' });
  });

  it('closes an idle connection, answers pings with pongs', async () => {
    const emu = await start({ idleTimeoutMs: 300 });
    const e = await edge(emu);
    e.ws.ping('12:00:00');
    await once(e.ws, 'pong');
    expect(await e.closed).toEqual({ code: 1001, reason: 'Idle connection timeout' });
  });

  it('binds and unbinds: isConnected and lastConnection through REST, events', async () => {
    const emu = await start();
    const e = await edge(emu, emu.keyId('conn-key'));
    const before = Date.now();
    const bound = nextEvent(emu, 'bind');
    expect((await e.bind(['D1', 'D2'])).header.code).toBe('SUCCESS');
    expect(await bound).toEqual({ sessionId: e.sessionId, names: ['D1', 'D2'] });
    let r = await rest(emu, 'GET', 'Things/D1/Properties');
    expect(r.json.rows[0].isConnected).toBe(true);
    expect(r.json.rows[0].lastConnection).toBeGreaterThanOrEqual(before);
    const unbound = nextEvent(emu, 'unbind');
    expect((await e.call('UNBIND', { kind: 'unbind', gateway: null, names: ['D1'] })).header.code).toBe('SUCCESS');
    expect(await unbound).toMatchObject({ names: ['D1'], reason: 'unbind' });
    r = await rest(emu, 'GET', 'Things/D1/Properties/isConnected');
    expect(r.json.rows).toEqual([{ isConnected: false }]);
    const closed = nextEvent(emu, 'unbind');
    await e.close();
    expect(await closed).toMatchObject({ names: ['D2'], reason: 'closed' });
    expect(emu.boundThings()).toEqual([]);
  });

  it('rejects a BIND of a missing Thing or a non-remote Thing with 0x84 and binds none of the names', async () => {
    const emu = await start();
    const e = await edge(emu);
    for (const names of [['D1', 'Nope'], ['Plain']]) {
      const r = await e.bind(names);
      expect(r.header.code).toBe('NOT_FOUND');
      expect(r.body).toMatchObject({ reason: expect.stringContaining(`names=[${names.join(', ')}]]`) });
    }
    expect(emu.boundThings()).toEqual([]);
  });

  it('First-in-wins rejects a second bind with the V1BindMessage text; Last-in-wins moves the Thing', async () => {
    const emu = await start();
    const a = await edge(emu);
    const b = await edge(emu);
    await a.bind(['D1']);
    const rejected = nextEvent(emu, 'bindRejected');
    const r = await b.bind(['D2', 'D1']);
    expect(r.header.code).toBe('FORBIDDEN');
    expect((r.body as { reason: string }).reason).toBe(
      `Error trying to process message: Binding failed, see server log for more information V1BindMessage ` +
        `[header=V1MessageHeader [messageType=10, requestId=${r.header.requestId}, endpointId=0, sessionId=${b.sessionId}, flags=0], ` +
        'gatewayName=null, gatewayType=null, names=[D2, D1]]',
    );
    expect(await rejected).toMatchObject({ rejected: ['D1'], reason: 'bound' });
    expect(emu.thing('D2')!.boundTo).toBeNull();

    emu.setBindPolicy('last-in-wins');
    const moved = nextEvent(emu, 'unbind');
    expect((await b.bind(['D1'])).header.code).toBe('SUCCESS');
    expect(await moved).toMatchObject({ sessionId: a.sessionId, names: ['D1'], reason: 'takeover', by: b.sessionId });
    const put = rest(emu, 'PUT', 'Things/D1/Properties/downlink', { downlink: { a: 1 } });
    const req = await b.message();
    expect(req.body).toMatchObject({ kind: 'request', entityName: 'D1', name: 'downlink' });
    b.send(
      msg(
        'SUCCESS',
        req.header.requestId,
        { kind: 'response', reason: null, content: null },
        b.sessionId,
        req.header.endpointId,
      ),
    );
    expect((await put).status).toBe(200);
  });

  it('a ghost session holds binds: First-in-wins refuses them until the ghost is closed', async () => {
    const emu = await start();
    const ghost = emu.faults.ghostSession(['D1'], 'conn-key');
    expect(emu.thing('D1')!.boundTo?.sessionId).toBe(ghost);
    const e = await edge(emu);
    expect((await e.bind(['D1'])).header.code).toBe('FORBIDDEN');
    expect(emu.sessionCount()).toBe(1);
    const r = await rest(emu, 'GET', 'Things/D1/Properties/isConnected');
    expect(r.json.rows[0].isConnected).toBe(true);
  });

  it('per-name BIND refusal binds the good names; whole-message (the default) binds none', async () => {
    const emu = await start({ bindRefusal: 'per-name' });
    const e = await edge(emu);
    const r = await e.bind(['D1', 'Nope', 'D2']);
    expect(r.header.code).toBe('NOT_FOUND');
    expect((r.body as { reason: string }).reason).toContain('names=[Nope]]');
    expect(emu.boundThings().sort()).toEqual(['D1', 'D2']);
    emu.setBindRefusal('whole-message');
    await e.call('UNBIND', { kind: 'unbind', gateway: null, names: ['D1', 'D2'] });
    expect((await e.bind(['D1', 'Nope', 'D2'])).header.code).toBe('NOT_FOUND');
    expect(emu.boundThings()).toEqual([]);
  });

  it('a session whose Things another took: pushes accepted or refused, an UNBIND notice or none (knobs)', async () => {
    const emu = await start({ lostBinds: { pushes: 'refuse', notice: 'unbind' } });
    emu.setBindPolicy('last-in-wins');
    const a = await edge(emu);
    const b = await edge(emu);
    await a.bind(['D1']);
    expect((await b.bind(['D1'])).header.code).toBe('SUCCESS');
    const notice = await a.message();
    expect(notice.header.code).toBe('UNBIND');
    expect(notice.body).toMatchObject({ kind: 'unbind', names: ['D1'] });
    const refused = await a.push('D1', [{ name: 'uplinkData', value: { baseType: 'JSON', value: '{}' } }]);
    expect(refused.header.code).toBe('FORBIDDEN');
    expect((refused.body as { reason: string }).reason).toBe('Thing [D1] is bound to another session');
    emu.setLostBinds({ pushes: 'accept' });
    const ok = await a.push('D1', [{ name: 'uplinkData', value: { baseType: 'JSON', value: '{}' } }]);
    expect(ok.header.code).toBe('SUCCESS');
    // once the other lets go, the first pushes as before
    emu.setLostBinds({ pushes: 'refuse' });
    await b.call('UNBIND', { kind: 'unbind', gateway: null, names: ['D1'] });
    const again = await a.push('D1', [{ name: 'uplinkData', value: { baseType: 'JSON', value: '{}' } }]);
    expect(again.header.code).toBe('SUCCESS');
  });

  it('stores pushes with time and quality; logged properties keep every value; REST sees them', async () => {
    const emu = await start();
    const e = await edge(emu);
    await e.bind(['D1']);
    const pushed = nextEvent(emu, 'push');
    const r = await e.push('D1', [
      { name: 'uplinkData', value: { baseType: 'JSON', value: '{"n":1}' }, time: 1000 },
      { name: 'FPort', value: { baseType: 'INTEGER', value: 2 }, time: 1000, quality: 'UNKNOWN' },
      { name: 'nope', value: { baseType: 'STRING', value: 'x' } },
    ]);
    expect(r.header.code).toBe('SUCCESS');
    expect(await pushed).toMatchObject({ thing: 'D1', unknown: ['nope'] });
    await e.push('D1', [{ name: 'uplinkData', value: { baseType: 'JSON', value: '{"n":2}' }, time: 2000 }]);
    expect(emu.history('D1', 'uplinkData')).toEqual([
      { value: { n: 1 }, time: 1000, quality: 'GOOD' },
      { value: { n: 2 }, time: 2000, quality: 'GOOD' },
    ]);
    expect(emu.store.things.get('D1')!.values!.get('FPort')).toEqual({ v: 2, t: 1000, q: 'UNKNOWN' });
    const v = await rest(emu, 'GET', 'Things/D1/Properties/uplinkData');
    expect(v.json.rows).toEqual([{ uplinkData: { n: 2 } }]);
    const h = await rest(emu, 'POST', 'Things/D1/Services/QueryPropertyHistory', { oldestFirst: true });
    expect(h.json.rows.map((x: { uplinkData: unknown }) => x.uplinkData)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('carries a value larger than one chunk both ways, within the edge Max-Frame-Size', async () => {
    const emu = await start();
    const e = await RawEdge.connect(emu, { 'Max-Frame-Size': '1024' });
    edges.push(e);
    e.sessionId = (await e.call('AUTH', { kind: 'auth', claims: { appKey: emu.appKey } })).header.sessionId;
    await e.bind(['D1']);
    const big = { text: 'x'.repeat(20_000) };
    const values: InfoTable = {
      dataShape: [{ name: 'uplinkData', description: '', baseType: 'JSON', aspects: {} }],
      rows: [[{ baseType: 'JSON', value: JSON.stringify(big) }]],
    };
    const put = msg(
      'PUT',
      77,
      {
        kind: 'request',
        entityType: 'THING',
        entityName: 'D1',
        characteristic: 'PROPERTIES',
        name: 'uplinkData',
        headers: {},
        params: values,
      },
      e.sessionId,
    );
    const frames = splitMessage(put, 1024);
    expect(frames.length).toBeGreaterThan(10);
    for (const f of frames.reverse()) e.sendRaw(f);
    const reply = await e.message();
    expect(reply.header).toMatchObject({ requestId: 77, code: 'SUCCESS' });
    expect(emu.propertyValue('D1', 'uplinkData')).toEqual(big);

    const call = rest(emu, 'PUT', 'Things/D1/Properties/downlink', { downlink: big });
    const first = await e.frame();
    expect(first.length).toBeLessThanOrEqual(1024);
    expect(first[14]).toBe(1);
    const chunks = [first];
    const count = first.readUInt16BE(17);
    while (chunks.length < count) chunks.push(await e.frame());
    expect(chunks.every((c) => c.length <= 1024)).toBe(true);
    const { Reassembler } = await import('../../../src/alwayson/codec/index.js');
    const ra = new Reassembler();
    const whole = chunks.map((c) => ra.push(c)).find((m) => m !== null)!;
    expect(whole.body).toMatchObject({ kind: 'request', name: 'downlink' });
    e.send(
      msg(
        'SUCCESS',
        whole.header.requestId,
        { kind: 'response', reason: null, content: null },
        e.sessionId,
        whole.header.endpointId,
      ),
    );
    expect((await call).status).toBe(200);
  });

  it('answers a REST write of a remote property with the edge error, 504 on timeout, 500 when not bound', async () => {
    const emu = await start({ edgeRequestTimeoutMs: 200 });
    let r = await rest(emu, 'PUT', 'Things/D1/Properties/downlink', { downlink: {} });
    expect(r.status).toBe(500);
    expect(r.text).toMatch(/not bound/);
    const e = await edge(emu);
    await e.bind(['D1']);
    const call = rest(emu, 'PUT', 'Things/D1/Properties/downlink', { downlink: { x: 1 } });
    const req = await e.message();
    e.send(
      msg(
        'BAD_REQUEST',
        req.header.requestId,
        { kind: 'response', reason: 'bad payload', content: null },
        e.sessionId,
        req.header.endpointId,
      ),
    );
    r = await call;
    expect(r).toMatchObject({ status: 400, text: 'bad payload' });
    r = await rest(emu, 'PUT', 'Things/D1/Properties/downlink', { downlink: { x: 2 } });
    expect(r.status).toBe(504);
  });

  it('dispatches edge service calls to the platform with its permission texts', async () => {
    const emu = await start();
    const e = await edge(emu, emu.keyId('conn-key'));
    const call = (entityType: 'RESOURCE', entityName: string, name: string) =>
      e.call('POST', {
        kind: 'request',
        entityType,
        entityName,
        characteristic: 'SERVICES',
        name,
        headers: {},
        params: null,
      });
    let r = await call('RESOURCE', 'EntityServices', 'GetEntityList');
    expect(r.header.code).toBe('NOT_FOUND');
    expect((r.body as { reason: string }).reason).toBe(
      'Unable to dispatch [ uri = /Resources/EntityServices/Services/GetEntityList/]: Entity EntityServices does not exist or is not yet associated with a Thing',
    );
    r = await call('RESOURCE', 'CurrentSessionInfo', 'GetCurrentUser');
    expect(r.header.code).toBe('SUCCESS');
    expect((r.body as { content: InfoTable }).content.rows[0]).toEqual([{ baseType: 'USERNAME', value: 'conn' }]);
  });

  it('sends NotifyPropertyUpdate or SynchronizeModelState to each Thing after a BIND when asked', async () => {
    const emu = await start({ syncOnBind: 'NotifyPropertyUpdate' });
    const e = await edge(emu);
    const synced = nextEvent(emu, 'sync');
    await e.bind(['D1']);
    const req = await e.message();
    expect(req.header.code).toBe('POST');
    expect(req.body).toMatchObject({
      kind: 'request',
      entityName: 'D1',
      characteristic: 'SERVICES',
      name: 'NotifyPropertyUpdate',
      params: null,
    });
    e.send(
      msg(
        'SUCCESS',
        req.header.requestId,
        { kind: 'response', reason: null, content: null },
        e.sessionId,
        req.header.endpointId,
      ),
    );
    expect(await synced).toMatchObject({ thing: 'D1', service: 'NotifyPropertyUpdate', code: 'SUCCESS' });
    emu.setSyncOnBind('SynchronizeModelState');
    await e.bind(['D2']);
    const sync = await e.message();
    expect(sync.body).toMatchObject({ name: 'SynchronizeModelState' });
    const params = (sync.body as { params: InfoTable }).params;
    expect(params.dataShape.map((f) => f.name)).toEqual(['propertyInfo', 'eventInfo']);
    const info = params.rows[0]![0] as { value: InfoTable };
    expect(info.value.rows.map((r) => r[0])).toEqual([{ baseType: 'STRING', value: 'downlink' }]);
    expect((await rest(emu, 'POST', 'Things/D1/Services/RestartThing')).status).toBe(200);
    expect((await e.message()).body).toMatchObject({ entityName: 'D1', name: 'SynchronizeModelState' });
  });

  it('answers a PUT of a property the Thing does not have with 0x84', async () => {
    const emu = await start();
    const e = await edge(emu);
    const r = await e.call('PUT', {
      kind: 'request',
      entityType: 'THING',
      entityName: 'D1',
      characteristic: 'PROPERTIES',
      name: 'nope',
      headers: {},
      params: {
        dataShape: [{ name: 'nope', description: '', baseType: 'STRING', aspects: {} }],
        rows: [[{ baseType: 'STRING', value: 'x' }]],
      },
    });
    expect(r.header.code).toBe('NOT_FOUND');
    expect((r.body as { reason: string }).reason).toBe('Property [nope] not found on D1');
  });

  it('binds 10,000 Things over several sockets', async () => {
    const emu = await start();
    const names = Array.from({ length: 10_000 }, (_, i) => `T${String(i).padStart(5, '0')}`);
    emu.addThings(names);
    const sockets = [await edge(emu), await edge(emu), await edge(emu), await edge(emu)];
    await Promise.all(
      sockets.map(async (s, i) => {
        const mine = names.filter((_, j) => j % 4 === i);
        for (let k = 0; k < mine.length; k += 400)
          expect((await s.bind(mine.slice(k, k + 400))).header.code).toBe('SUCCESS');
      }),
    );
    expect(emu.boundThings().length).toBe(10_000);
    emu.faults.dropAllSockets();
    await Promise.all(sockets.map((s) => s.closed));
    expect(emu.boundThings().length).toBe(0);
  });

  it('fault knobs: failResponses answers with the mapped code, delayResponses delays', async () => {
    const emu = await start();
    const e = await edge(emu);
    emu.faults.failResponses(503);
    expect((await e.bind(['D1'])).header.code).toBe('SERVICE_UNAVAILABLE');
    expect((await rest(emu, 'GET', 'Things/D1/Properties')).status).toBe(503);
    emu.faults.failResponses(null);
    emu.faults.delayResponses(300);
    let answered = false;
    const bound = nextEvent(emu, 'bind');
    const reply = e.bind(['D1']).then((r) => {
      answered = true;
      return r;
    });
    await bound;
    expect(answered).toBe(false);
    expect((await reply).header.code).toBe('SUCCESS');
    emu.faults.delayResponses(0);
  });

  it('survives random frames and truncated real ones: no crash, the session still works', async () => {
    const emu = await start();
    const e = await edge(emu);
    const fc = await import('fast-check');
    const valid = Buffer.from('010300000004000000000000002a000a0444317f', 'hex');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(valid.length), (bytes, cut) => {
        e.sendRaw(Buffer.from(bytes));
        e.sendRaw(valid.subarray(0, cut));
      }),
      { numRuns: 200, seed: 42 },
    );
    const r = await e.bind(['D1']);
    expect(r.header.code).toBe('SUCCESS');
    expect(emu.boundThings()).toEqual(['D1']);
  });

  it('answers an undecodable request frame with 0x80 and keeps the connection', async () => {
    const emu = await start();
    const e = await edge(emu);
    const bad = Buffer.from('010300000063000000000000002a000a', 'hex');
    e.sendRaw(bad);
    const r = decodeMessage(await e.frame());
    expect(r.header).toMatchObject({ requestId: 0x63, code: 'BAD_REQUEST' });
    expect((await e.bind(['D1'])).header.code).toBe('SUCCESS');
  });
});
