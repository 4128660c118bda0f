/** Issue 12: the bridge under faults and attacks. An acknowledgement is a promise; bad input is a 4xx. */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BRIDGE_DEFAULTS, type BridgeOptions } from '../../src/bridge/index.js';
import { FakeDirectory, FakeSender, FakeSink } from './fakes.js';
import { post, signedQuery, startTestBridge, tempDir, uplinkDoc } from './helpers.js';

const DEV = '0018B20000000FAB';
const mode = (p: string) => statSync(p).mode & 0o777;

describe('bridge under faults (issue 12)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(over: Partial<BridgeOptions> = {}, spoolDir?: string) {
    const sink = (over.sink as FakeSink | undefined) ?? new FakeSink();
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const sender = new FakeSender();
    const started = await startTestBridge(cleanups, { downlinks: sender, ...over, sink, directory }, spoolDir);
    return { ...started, sink, sender };
  }

  const fcnts = (sink: FakeSink) => sink.valuesOf(DEV, 'FCntUp').map((v) => (v as { value: number }).value);

  it('1. a repeat of a request still being stored waits for its outcome: never 200 duplicate for a lost report', async () => {
    let full = true;
    const fault = () => (full ? new Error('database or disk is full') : undefined);
    const { bridge, sink } = await start({ spoolWriter: 'inline', spool: { commitFault: fault, probeMs: 5 } });
    await bridge.whenReady();
    const doc = uplinkDoc(DEV, 1);
    const query = signedQuery(doc);
    // ThingPark's retry arrives while the first request is being stored; the store fails
    const pair = await Promise.all([post(bridge.url, doc, { query }), post(bridge.url, doc, { query })]);
    expect(pair.map((r) => r.status)).toEqual([503, 503]);
    expect(pair.map((r) => r.body.error)).toEqual(['spool_unwritable', 'spool_unwritable']);

    full = false;
    await bridge.events.waitFor('spool.writable');
    const again = await Promise.all([post(bridge.url, doc, { query }), post(bridge.url, doc, { query })]);
    expect(again.map((r) => r.status).sort()).toEqual([200, 202]);
    expect(await bridge.whenDrained()).toBe(true);
    expect(fcnts(sink)).toEqual([1]);
  });

  it('2. a spool that cannot write answers 503 + Retry-After, /readyz says not ready and why, it recovers by itself', async () => {
    let full = false;
    const fault = () => (full ? new Error('database or disk is full') : undefined);
    const { bridge, sink } = await start({ spoolWriter: 'inline', spool: { commitFault: fault, probeMs: 5 } });
    await bridge.whenReady();
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
    full = true;
    const down = bridge.events.waitFor('spool.unwritable');
    const res = await fetch(`${bridge.url}/uplink?${signedQuery(uplinkDoc(DEV, 5))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(uplinkDoc(DEV, 5)),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: string }).error).toBe('spool_unwritable');
    expect((await down).reason).toMatch(/disk is full/);
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      ready: false,
      reason: 'spool_unwritable',
      reasons: ['spool_unwritable'],
      spool_unwritable: expect.stringMatching(/disk is full/),
    });
    expect(bridge.stats().storage).toMatchObject({ writable: false });
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/^tpx_bridge_spool_writable 0$/m);
    expect(metrics).toMatch(/^tpx_bridge_spool_free_bytes \d+/m);
    expect(metrics).toMatch(/^tpx_bridge_rejected_total\{reason="spool_unwritable"\} 1$/m);

    full = false;
    await bridge.events.waitFor('spool.writable');
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
    expect((await post(bridge.url, uplinkDoc(DEV, 5))).status).toBe(202);
    expect(await bridge.whenDrained()).toBe(true);
    expect(fcnts(sink)).toEqual([5]);
  });

  it('3. caps ingest connections and reports it when the cap is hit: once per window, every refusal counted', async () => {
    const { bridge, stop } = await start({ maxConnections: 2, repeatWindowMs: 600_000 });
    const seen: { max: number; count: number; windowMs: number }[] = [];
    bridge.events.on('ingest.capped', (e) => seen.push(e));
    const capped = bridge.events.waitFor('ingest.capped');
    const { port } = new URL(bridge.url);
    const sockets: Socket[] = [];
    let closed = 0;
    const threeRefused = new Promise<void>((resolve) => {
      for (let i = 0; i < 5; i++) {
        const s = connect(Number(port), '127.0.0.1');
        s.on('error', () => undefined).on('close', () => {
          closed += 1;
          if (closed === 3) resolve();
        });
        sockets.push(s);
      }
    });
    try {
      expect(await capped).toEqual({ max: 2, count: 1, windowMs: 600_000 });
      await threeRefused; // the three beyond the cap closed by the server
      expect(seen).toHaveLength(1);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await stop(); // ends the window: the other two refusals in one event
    expect(seen).toEqual([
      { max: 2, count: 1, windowMs: 600_000 },
      { max: 2, count: 2, windowMs: 600_000, folded: true },
    ]);
    const metrics = await bridge.metrics.metrics();
    expect(metrics).toMatch(/^tpx_bridge_connections_capped_total 3$/m);
  });

  it('3. closes idle keep-alive connections soon (default 5 s)', async () => {
    expect(BRIDGE_DEFAULTS.keepAliveMs).toBeLessThanOrEqual(5_000);
    const { bridge } = await start({ keepAliveMs: 50 });
    const { port } = new URL(bridge.url);
    const socket = connect(Number(port), '127.0.0.1');
    const answered = new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d))));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    socket.resume();
    await closed; // the server closed the idle connection (a 30-minute keep-alive would time the test out)
  });

  it('4. a lock file left with a live unrelated pid does not block; two live bridges never share a spool', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, 'bridge.lock'), '1'); // pid 1 is alive: tpx ≤ 0.1 refused to start for good
    const { bridge } = await start({}, t.dir);
    expect(bridge.url).toMatch(/^http:/);
    await expect(start({}, t.dir)).rejects.toMatchObject({ code: 'TPX_SPOOL_LOCKED' });
  });

  it('5. a captured uplink replayed after a captured join is not delivered again', async () => {
    const { bridge, sink, dir, stop } = await start();
    await bridge.whenReady();
    const doc = uplinkDoc(DEV, 40);
    const query = signedQuery(doc);
    expect((await post(bridge.url, doc, { query })).status).toBe(202);
    const join = {
      DevEUI_notification: { Time: new Date().toISOString(), DevEUI: DEV, Type: 'join', CustomerID: '100000507' },
    };
    expect((await post(bridge.url, join)).status).toBe(202);
    for (let i = 0; i < 3; i++) expect((await post(bridge.url, doc, { query })).status).toBe(200);
    expect(await bridge.whenDrained()).toBe(true);
    expect(fcnts(sink)).toEqual([40]);
    // the replay memory survives a restart
    await stop();
    const again = await start({}, dir);
    expect((await post(again.bridge.url, doc, { query })).status).toBe(200);
    // a new frame with the same counter after the join (the device restarted) is still delivered
    const fresh = uplinkDoc(DEV, 40, 'beef');
    expect((await post(again.bridge.url, fresh)).status).toBe(202);
  });

  it('6. the spool directory is private (0700) and its files 0600', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const made = join(t.dir, 'new', 'spool');
    const { bridge } = await start({}, made);
    await bridge.whenReady();
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    expect(mode(made)).toBe(0o700);
    for (const f of ['spool.sqlite', 'spool.sqlite-wal', 'spool.lock']) expect(mode(join(made, f))).toBe(0o600);

    const existing = join(t.dir, 'open');
    mkdirSync(existing);
    chmodSync(existing, 0o755);
    await start({}, existing);
    expect(mode(existing)).toBe(0o700);
  });

  it('7. a document nested 10,000 levels deep is a 400 on every try, before any work', async () => {
    const { bridge } = await start();
    const doc = uplinkDoc(DEV, 3);
    const query = signedQuery(doc); // the token does not cover CustomerData
    const nested = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const body = JSON.stringify(doc).replace(/\}\}$/, `,"CustomerData":${nested}}}`);
    for (let i = 0; i < 3; i++) {
      const r = await post(bridge.url, doc, { query, body });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('too_deep');
    }
    // an ordinary nested CustomerData is fine
    const ok = JSON.stringify(doc).replace(/\}\}$/, ',"CustomerData":{"alr":{"pro":"LORA/Generic","ver":"1"}}}}');
    expect((await post(bridge.url, doc, { query, body: ok })).status).toBe(202);
  });

  it('11. every uplink sets every property it owns; RSSI/SNR come from the best Lrr when absent', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    expect((await post(bridge.url, uplinkDoc(DEV, 1))).status).toBe(202);
    const t = new Date().toISOString();
    const macOnly = { DevEUI_uplink: { Time: t, DevEUI: DEV, FCntUp: 2, CustomerID: '100000507' } };
    expect((await post(bridge.url, macOnly)).status).toBe(202);
    const lrrs = {
      DevEUI_uplink: {
        Time: t,
        DevEUI: DEV,
        FCntUp: 3,
        FPort: 4,
        payload_hex: '01',
        CustomerID: '100000507',
        Lrrs: {
          Lrr: [
            { Lrrid: 'A', LrrRSSI: -110, LrrSNR: -3 },
            { Lrrid: 'B', LrrRSSI: -70.5, LrrSNR: 6.25 },
          ],
        },
      },
    };
    expect((await post(bridge.url, lrrs)).status).toBe(202);
    expect(await bridge.whenDrained()).toBe(true);
    const last = (name: string) => sink.valuesOf(DEV, name).map((v) => (v as { value: unknown }).value);
    expect(last('FCntUp')).toEqual([1, 2, 3]);
    expect(last('FPort')).toEqual([2, Number.NaN, 4]);
    expect(last('spreadingFactor')).toEqual([7, Number.NaN, Number.NaN]);
    expect(last('RSSI')).toEqual([-60.5, Number.NaN, -70.5]);
    expect(last('SNR')).toEqual([9.75, Number.NaN, 6.25]);
    expect(last('payloadHex')).toEqual(['0027bd00', '', '01']);
  });

  it('12. a downlink the tunnel would refuse is refused before the write is acknowledged', async () => {
    const { bridge, sink, sender } = await start();
    await bridge.whenReady();
    const write = (v: Record<string, unknown>) =>
      sink.write(DEV, 'downlink', { baseType: 'JSON', value: JSON.stringify(v) });
    await expect(write({ FPort: 1, payload_hex: 'ab'.repeat(251) })).rejects.toThrow(/250 bytes/);
    await expect(write({ FPort: 224, payload_hex: 'ab' })).rejects.toThrow(/FPort must be at most 223/);
    expect(sender.sent).toEqual([]);
    const sent = bridge.events.waitFor('downlink.sent');
    await write({ FPort: 223, payload_hex: 'ab'.repeat(250) });
    expect((await sent).fport).toBe(223);
  });
});
