import { afterEach, describe, expect, it } from 'vitest';
import { BridgeEvents, type BridgeOptions, startBridge } from '../../src/bridge/index.js';
import { exitCodeOf } from '../../src/cli/app.js';
import { say } from '../../src/cli/phrases.js';
import type { TpxError } from '../../src/errors.js';
import { FakeDirectory, FakeSender, FakeSink } from './fakes.js';
import { AS_KEY, post, signedQuery, startTestBridge, tempDir, uplinkDoc } from './helpers.js';

const DEV = '0018B20000000FFF';

describe('bridge (ports faked)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(over: Partial<BridgeOptions> = {}, dir?: string) {
    const sink = (over.sink as FakeSink | undefined) ?? new FakeSink();
    const directory = (over.directory as FakeDirectory | undefined) ?? new FakeDirectory();
    const sender = new FakeSender();
    const {
      bridge,
      dir: spoolDir,
      stop,
    } = await startTestBridge(cleanups, { replayPollMs: 50, downlinks: sender, ...over, sink, directory }, dir);
    return { bridge, sink, directory, sender, dir: spoolDir, stop };
  }

  it('accepts a signed uplink with 202 after storing it, creates the Thing and pushes the values', async () => {
    const { bridge, sink, directory } = await start();
    await bridge.whenReady();
    const doc = uplinkDoc(DEV.toLowerCase(), 7);
    const r = await post(bridge.url, doc);
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('accepted');
    await bridge.whenDrained();
    expect(directory.created).toEqual([DEV]);
    expect(sink.bound.has(DEV)).toBe(true);
    expect(sink.pushes).toHaveLength(1);
    const values = sink.pushes[0]!.values;
    const byName = Object.fromEntries(values.map((v) => [v.name, v.value]));
    expect(byName.FCntUp).toEqual({ baseType: 'NUMBER', value: 7 });
    expect(byName.DevEUI).toEqual({ baseType: 'STRING', value: DEV });
    expect(byName.payloadHex).toEqual({ baseType: 'STRING', value: '0027bd00' });
    expect(byName.RSSI).toEqual({ baseType: 'NUMBER', value: -60.5 });
    expect(JSON.parse((byName.uplinkData as { value: string }).value)).toEqual(doc);
    const t = Date.parse(doc.DevEUI_uplink.Time);
    expect(values.every((v) => v.time === t)).toBe(true);
  });

  it('answers a repeated (DevEUI, FCntUp) with 200 and delivers it once; a join resets the counters', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    const dup = await post(bridge.url, uplinkDoc(DEV, 1));
    expect(dup.status).toBe(200);
    expect(dup.body.status).toBe('duplicate');
    const join = {
      DevEUI_notification: { Time: new Date().toISOString(), DevEUI: DEV, Type: 'join', CustomerID: '1' },
    };
    expect((await post(bridge.url, join)).status).toBe(202);
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    await bridge.whenDrained();
    expect(sink.valuesOf(DEV, 'FCntUp')).toHaveLength(2);
  });

  it('refuses each bad input with its 4xx and a JSON reason, stores nothing, and goes on', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    const doc = uplinkDoc(DEV, 3);
    const cases: [string, Promise<{ status: number; body: Record<string, unknown> }>, number, string][] = [
      ['bad json', post(bridge.url, doc, { body: '{"DevEUI_uplink": ' }), 400, 'bad_json'],
      ['bad token', post(bridge.url, doc, { query: signedQuery(uplinkDoc(DEV, 4)) }), 401, 'bad_token'],
      ['no token', post(bridge.url, doc, { query: 'LrnDevEui=0018B20000000FFF' }), 401, 'missing_token'],
      [
        'stale time',
        post(bridge.url, doc, { query: signedQuery(doc, new Date(Date.now() - 3600_000)) }),
        401,
        'stale_time',
      ],
      ['bad hex', post(bridge.url, uplinkDoc(DEV, 5, '0g12')), 400, 'bad_hex'],
      ['not a report', post(bridge.url, { hello: 1 }, { query: signedQuery(doc) }), 400, 'bad_document'],
      ['oversize', post(bridge.url, doc, { body: JSON.stringify({ x: 'a'.repeat(70_000) }) }), 413, 'too_large'],
      ['content type', post(bridge.url, doc, { contentType: 'text/plain' }), 415, 'content_type'],
      ['wrong path', post(bridge.url, doc, { path: '/other' }), 404, 'not_found'],
    ];
    for (const [name, p, status, reason] of cases) {
      const r = await p;
      expect({ name, status: r.status, error: r.body.error }).toEqual({ name, status, error: reason });
      expect(typeof r.body.message).toBe('string');
    }
    const get = await fetch(`${bridge.url}/uplink`);
    expect(get.status).toBe(405);
    await get.text();
    expect(bridge.stats().spoolDepth).toBe(0);
    expect((await post(bridge.url, doc)).status).toBe(202);
    await bridge.whenDrained();
    expect(sink.pushes).toHaveLength(1);
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/tpx_bridge_rejected_total\{reason="bad_token"\} 1/);
    expect(metrics).toMatch(/tpx_bridge_accepted_total\{kind="uplink"\} 1/);
    expect(metrics).toMatch(/tpx_bridge_push_latency_seconds_count 1/);
  });

  it('keeps accepting during a ThingWorx outage and then delivers everything in order per device', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    expect((await post(bridge.url, uplinkDoc(DEV, 0))).status).toBe(202);
    await bridge.whenDrained();
    sink.setConnected(false);
    const devs = [DEV, '0018B20000000AAA', '0018B20000000BBB'];
    for (let f = 1; f <= 10; f++) {
      for (const d of devs)
        expect((await post(bridge.url, uplinkDoc(d, f, `0${f % 10}`.padStart(2, '0')))).status).toBe(202);
    }
    expect(bridge.stats().spoolDepth).toBe(30);
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: 'thingworx_down', reasons: ['thingworx_down'] });
    sink.setConnected(true);
    expect(await bridge.whenDrained()).toBe(true);
    for (const d of devs) {
      const fcnts = sink.valuesOf(d, 'FCntUp').map((v) => (v as { value: number }).value);
      expect(fcnts).toEqual(d === DEV ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  });

  it('counts no Thing as bound while ThingWorx is down (a binding dies with its session): stats, /readyz, /metrics', async () => {
    const directory = new FakeDirectory();
    for (const t of [DEV, '0018B20000000AAA']) directory.things.add(t);
    const { bridge, sink } = await start({ directory });
    await bridge.whenReady();
    expect(bridge.stats()).toMatchObject({ bound: 2, things: 2, pipes: { up: 1, count: 1 } });
    sink.setConnected(false);
    expect(bridge.stats()).toMatchObject({ bound: 0, things: 2, pipes: { up: 0, count: 1 } });
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(await ready.json()).toMatchObject({ bound: 0, expected: 2, thingworx: 'disconnected' });
    expect(await bridge.metrics.metrics()).toMatch(/^tpx_bridge_things_bound 0$/m);
    sink.setConnected(true);
    expect(bridge.stats().bound).toBe(2);
  });

  it('is not ready while some AlwaysOn pipes are down (pipe_down), and counts only the Things bound on live ones', async () => {
    const directory = new FakeDirectory();
    for (const t of [DEV, '0018B20000000AAA', '0018B20000000BBB']) directory.things.add(t);
    const sink = new FakeSink();
    let health = { count: 2, up: 2, boundOnDown: 0 };
    Object.assign(sink, { pipes: () => health });
    const { bridge } = await start({ sink, directory });
    await bridge.whenReady();
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
    health = { count: 2, up: 1, boundOnDown: 1 };
    const r = await fetch(`${bridge.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({
      ready: false,
      reason: 'pipe_down',
      reasons: ['pipe_down'],
      bound: 2,
      expected: 3,
      thingworx: 'connected',
      pipes: { up: 1, count: 2 },
    });
    health = { count: 2, up: 2, boundOnDown: 0 };
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
  });

  it('retries failing pushes without reordering', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    sink.failWith = new Error('push timed out');
    const failed = bridge.events.waitFor('push.failed', (e) => e.attempt >= 2);
    for (let f = 1; f <= 5; f++) expect((await post(bridge.url, uplinkDoc(DEV, f))).status).toBe(202);
    await failed;
    sink.failWith = undefined;
    expect(await bridge.whenDrained()).toBe(true);
    expect(sink.valuesOf(DEV, 'FCntUp').map((v) => (v as { value: number }).value)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps accepted reports across a restart and delivers them then', async () => {
    const sink = new FakeSink();
    sink.connected = false;
    const first = await start({ sink });
    for (let f = 1; f <= 4; f++) expect((await post(first.bridge.url, uplinkDoc(DEV, f))).status).toBe(202);
    const r = await first.bridge.stop({ drainTimeoutMs: 0 });
    expect(r).toEqual({ drained: false, pending: 4 });
    const sink2 = new FakeSink();
    const second = await start({ sink: sink2 }, first.dir);
    expect(await second.bridge.whenDrained()).toBe(true);
    expect(sink2.valuesOf(DEV, 'FCntUp').map((v) => (v as { value: number }).value)).toEqual([1, 2, 3, 4]);
    // the dedup window survives the restart too
    expect((await post(second.bridge.url, uplinkDoc(DEV, 4))).status).toBe(200);
  });

  it('dead-letters reports of devices over the cap and of refused Things; replay delivers them', async () => {
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    directory.refuse.add('0018B20000000BAD');
    const { bridge, sink, dir, stop } = await start({ directory, maxDevices: 1 });
    await bridge.whenReady();
    expect(sink.bound.has(DEV)).toBe(true);
    const dead = bridge.events.waitFor('dead.letter');
    expect((await post(bridge.url, uplinkDoc('0018B20000000AAA', 1))).status).toBe(202);
    expect((await dead).reason).toMatch(/device limit reached/);
    await bridge.whenDrained();
    const letters = bridge.spool.listDeadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ devEui: '0018B20000000AAA', kind: 'uplink' });
    await stop();
    // restart with a higher cap and replay
    const again = await start({ directory, maxDevices: 10 }, dir);
    await again.bridge.whenReady();
    const refused = again.bridge.events.waitFor('dead.letter');
    expect((await post(again.bridge.url, uplinkDoc('0018B20000000BAD', 1))).status).toBe(202);
    expect((await refused).reason).toMatch(/refused \(403\)/);
    const ids = again.bridge.spool
      .listDeadLetters()
      .filter((l) => l.devEui === '0018B20000000AAA')
      .map((l) => l.id);
    expect(await again.bridge.spool.replayDeadLetters(ids)).toBe(1);
    await again.bridge.events.waitFor('push.acked', (e) => e.thing === '0018B20000000AAA');
    expect(again.sink.valuesOf('0018B20000000AAA', 'FCntUp')).toHaveLength(1);
    expect(again.bridge.spool.listDeadLetters().map((l) => l.devEui)).toEqual(['0018B20000000BAD']);
  });

  it("retries a refused bind a few times, then dead-letters the report with the platform's reason", async () => {
    const sink = new FakeSink();
    sink.refuseBind.add(DEV);
    sink.refuseStatus = 0x84; // not a Remote Thing (a Thing held by another session is pushed to all the same)
    const { bridge } = await start({ sink });
    await bridge.whenReady();
    const dead = bridge.events.waitFor('dead.letter');
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    expect((await dead).reason).toMatch(/refused to bind .*not Remote Things/);
    expect(sink.bindCalls.filter((c) => c.includes(DEV)).length).toBe(5);
  });

  it('serves the ingest over HTTPS (TLS 1.2+) when given a certificate', async () => {
    const { generateCertificate } = await import('../../src/emulators/tls.js');
    const { Agent, request } = await import('undici');
    const m = await generateCertificate();
    const { bridge, sink } = await start({ tls: { cert: m.cert, key: m.key } });
    await bridge.whenReady();
    expect(bridge.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const doc = uplinkDoc(DEV, 11);
    const agent = new Agent({ connect: { ca: m.cert } });
    try {
      const r = await request(`${bridge.url}/uplink?${signedQuery(doc)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
        dispatcher: agent,
      });
      expect(r.statusCode).toBe(202);
      await r.body.text();
    } finally {
      await agent.close();
    }
    await bridge.whenDrained();
    expect(sink.valuesOf(DEV, 'FCntUp')).toHaveLength(1);
  });

  it('a port in use is a TPX_LISTEN error with a fix, leaves the spool unlocked, and says no stopping/stopped', async () => {
    const first = await start();
    const port = new URL(first.bridge.url).port;
    const t = tempDir();
    const events = new BridgeEvents();
    const names: string[] = [];
    events.onAny((name) => names.push(name));
    try {
      const err = await startBridge({
        events,
        listen: `127.0.0.1:${port}`,
        spoolDir: t.dir,
        asKey: AS_KEY,
        template: 'x',
        sink: new FakeSink(),
        directory: new FakeDirectory(),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TPX_LISTEN' });
      expect((err as TpxError).details).toMatchObject({ setting: 'listen', port: Number(port) });
      expect(say((err as TpxError).fix)).toMatch(/--listen/);
      // it never ran: nothing to stop, no "stopped: never connected to ThingWorx" (QA F3)
      expect(names).not.toContain('bridge.stopping');
      expect(names).not.toContain('bridge.stopped');
      const again = await start({}, t.dir);
      expect(again.bridge.url).toMatch(/^http:/);
    } finally {
      t.cleanup();
    }
  });

  it('verifying tokens without an AS key is a usage error that names the setting; the CLI names its flag', async () => {
    const t = tempDir();
    try {
      const err = await startBridge({
        listen: '127.0.0.1:0',
        spoolDir: t.dir,
        template: 'x',
        sink: new FakeSink(),
        directory: new FakeDirectory(),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TPX_USAGE' });
      expect((err as TpxError).details).toEqual({ setting: 'asKey' });
      expect(exitCodeOf(err as TpxError)).toBe(2);
      expect(say((err as TpxError).fix)).toBe(
        'Pass --as-key (or TPX_AS_KEY), or turn verification off with --no-verify-tokens (never in production).',
      );
    } finally {
      t.cleanup();
    }
  });

  it('answers 503 when the spool is full', async () => {
    const sink = new FakeSink();
    sink.connected = false;
    const { bridge } = await start({ sink, maxSpool: 2 });
    const full = bridge.events.waitFor('spool.full');
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    expect((await post(bridge.url, uplinkDoc(DEV, 2))).status).toBe(202);
    const r = await post(bridge.url, uplinkDoc(DEV, 3));
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('spool_full');
    expect(await full).toEqual({ depth: 2, max: 2, count: 1, windowMs: 10_000 });
  });

  it('sends a written downlink, writes its status, and updates it from DevEUI_downlink_Sent', async () => {
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const { bridge, sink, sender } = await start({ directory });
    await bridge.whenReady();
    const status = () => sink.valuesOf(DEV, 'downlinkStatus').map((v) => JSON.parse((v as { value: string }).value));
    const sent = bridge.events.waitFor('downlink.sent');
    await sink.write(DEV, 'downlink', {
      baseType: 'JSON',
      value: JSON.stringify({ FPort: 3, payload_hex: '0a0b', Confirmed: 1 }),
    });
    const e = await sent;
    expect(sender.sent[0]).toMatchObject({ devEui: DEV, fPort: 3, payloadHex: '0a0b', confirmed: true });
    expect(e.correlationId).toMatch(/^[0-9A-F]{16}$/);
    await sink.waitForPushes(1);
    expect(status()[0]).toMatchObject({ state: 'queued', correlationId: e.correlationId });

    await expect(
      sink.write(DEV, 'downlink', { baseType: 'JSON', value: JSON.stringify({ FPort: 0, payload_hex: 'zz' }) }),
    ).rejects.toThrow(/FPort/);
    await sink.waitForPushes(2);
    expect(status()[1]).toMatchObject({ state: 'invalid' });

    sender.next = { result: 'rejected', status: 409, code: 101, reason: 'Downlink counter value already used' };
    const rejected = bridge.events.waitFor('downlink.sent');
    await sink.write(DEV, 'downlink', {
      baseType: 'STRING',
      value: JSON.stringify({ DevEUI_downlink: { DevEUI: DEV, FPort: 1, payload_hex: '00' } }),
    });
    expect((await rejected).result).toBe('rejected');
    await sink.waitForPushes(3);
    expect(status()[2]).toMatchObject({ state: 'rejected', code: 101 });

    const report = {
      DevEUI_downlink_Sent: {
        Time: new Date().toISOString(),
        DevEUI: DEV,
        FPort: 1,
        FCntDn: 5,
        DeliveryStatus: 1,
        CorrelationID: e.correlationId,
        CustomerID: '1',
      },
    };
    expect((await post(bridge.url, report)).status).toBe(202);
    await bridge.whenDrained();
    expect(status()[3]).toMatchObject({ state: 'sent', correlationId: e.correlationId, FCntDn: 5 });
  });

  it('serves /healthz and /readyz, and stop() drains, unbinds and refuses new reports', async () => {
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const { bridge, sink } = await start({ directory });
    const ready = await fetch(`${bridge.url}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect([200, 503]).toContain(ready.status);
    await bridge.whenReady();
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
    const body = await fetch(`${bridge.url}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(body).toEqual({
      status: 200,
      body: {
        ready: true,
        reason: null,
        reasons: [],
        bound: 1,
        expected: 1,
        taken: 0,
        refused: 0,
        thingworx: 'connected',
        pipes: { up: 1, count: 1 },
        spoolDepth: 0,
      },
    });
    expect((await post(bridge.url, uplinkDoc(DEV, 9))).status).toBe(202);
    const r = await bridge.stop({ drainTimeoutMs: 5000 });
    expect(r).toEqual({ drained: true, pending: 0 });
    expect(sink.valuesOf(DEV, 'FCntUp')).toHaveLength(1);
    expect(sink.bound.size).toBe(0);
    expect(sink.closed).toBe(true);
    await expect(fetch(`${bridge.url}/healthz`)).rejects.toThrow();
  });
});
