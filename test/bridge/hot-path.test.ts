/**
 * What the hot-path work (issue 17) changed, kept as guarantees: the document text as received is what uplinkData
 * gets; the dedup and replay memory is a log in the spool (one row per group commit) that survives restarts and
 * migrations; acks are deleted by ranges; take hands out rows of other writers in order; a device's dedup memory
 * is bounded; several BINDs are in flight at start.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DedupWindow } from '../../src/bridge/dedup.js';
import { BridgeEvents } from '../../src/bridge/events.js';
import { startBridge } from '../../src/bridge/index.js';
import { replayKey } from '../../src/bridge/intake.js';
import { Provisioner } from '../../src/bridge/provisioning.js';
import { SPOOL_FILE, Spool } from '../../src/bridge/spool.js';
import { SPOOL_SCHEMA_V2, SPOOL_SCHEMA_VERSION } from '../../src/bridge/spool-schema.js';
import { seqRanges } from '../../src/bridge/spool-writer.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { AS_ID, AS_KEY, deliveryFor, post, signedQuery, tempDir, uplinkDoc } from './helpers.js';

const A = '0018B2000000000A';
const B = '0018B2000000000B';
const report = (devEui: string, n: number) => ({
  devEui,
  kind: 'uplink' as const,
  receivedAt: 1_000 + n,
  document: JSON.stringify(uplinkDoc(devEui, n)),
  query: `Token=${n}`,
});

describe('hot path', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function dir(): string {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }
  async function bridgeOn(spoolDir: string) {
    const sink = new FakeSink();
    const bridge = await startBridge({
      listen: '127.0.0.1:0',
      spoolDir,
      asId: AS_ID,
      asKey: AS_KEY,
      template: 'actilityThingTemplateSF',
      sink,
      directory: new FakeDirectory(),
    });
    cleanups.push(async () => void (await bridge.stop({ drainTimeoutMs: 0 })));
    await bridge.whenReady();
    return { bridge, sink };
  }

  it('pushes the document text exactly as received as uplinkData (spacing and number forms kept)', async () => {
    const { bridge, sink } = await bridgeOn(dir());
    const doc = uplinkDoc(A, 3);
    const text = JSON.stringify(doc, null, 1).replace('"LrrSNR": 9.75', '"LrrSNR": 9.750');
    expect(text).toContain('9.750');
    expect((await post(bridge.url, doc, { body: text })).status).toBe(202);
    await bridge.whenDrained();
    expect(sink.valuesOf(A, 'uplinkData')).toEqual([{ baseType: 'JSON', value: text }]);
  });

  it('remembers counters and tokens across a restart, also from a spool of format 2 (dedup and tokens tables)', async () => {
    const d = dir();
    mkdirSync(d, { recursive: true });
    const now = Date.now();
    const counted = uplinkDoc(A, 5);
    const replayed = uplinkDoc(B, 9);
    const query = signedQuery(replayed);
    const token = new URLSearchParams(query).get('Token')!;
    const db = new Database(join(d, SPOOL_FILE));
    db.exec(SPOOL_SCHEMA_V2);
    db.prepare('INSERT INTO dedup VALUES (?, ?, ?, ?)').run(A, 5, '0027bd00', now - 1000);
    db.prepare('INSERT INTO tokens VALUES (?, ?)').run(`${AS_ID}|sometime|${token.toUpperCase()}`, now - 1000);
    db.pragma('user_version = 2');
    db.close();

    const first = await bridgeOn(d);
    expect((await post(first.bridge.url, counted)).body).toEqual({ status: 'duplicate' });
    expect((await post(first.bridge.url, replayed, { query })).body).toEqual({ status: 'duplicate' });
    // a new counter and a join of B, then a restart: the counter stays, B's counters are forgotten, tokens stay
    expect((await post(first.bridge.url, uplinkDoc(A, 6))).status).toBe(202);
    expect((await post(first.bridge.url, uplinkDoc(B, 1))).status).toBe(202);
    const joined = {
      DevEUI_notification: { Time: new Date().toISOString(), DevEUI: B, Type: 'join', CustomerID: '1' },
    };
    expect((await post(first.bridge.url, joined)).status).toBe(202);
    await first.bridge.whenDrained();
    await first.bridge.stop({ drainTimeoutMs: 0 });

    const check = new Database(join(d, SPOOL_FILE), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SPOOL_SCHEMA_VERSION);
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables.map((t) => (t as { name: string }).name)).not.toContain('dedup');
    check.close();

    const second = await bridgeOn(d);
    expect((await post(second.bridge.url, uplinkDoc(A, 6))).body).toEqual({ status: 'duplicate' });
    expect((await post(second.bridge.url, counted)).body).toEqual({ status: 'duplicate' });
    expect((await post(second.bridge.url, replayed, { query })).body).toEqual({ status: 'duplicate' });
    // B's counter 1 was forgotten by the join: a new frame (fresh token), stored
    expect((await post(second.bridge.url, uplinkDoc(B, 1, '0027bd00', new Date(Date.now() + 1000)))).status).toBe(202);
  });

  it('replays the memory log in order (a join clears what came before it) and prunes whole rows', async () => {
    const s = new Spool(dir());
    cleanups.push(() => s.close());
    await s.append(report(A, 1), { dedup: { fcnt: 1, payload: 'aa' }, token: 't1' });
    s.resetDedup(A);
    await s.append(report(A, 2), { dedup: { fcnt: 2, payload: 'bb' } });
    await s.append(report(B, 3), { dedup: { fcnt: 3, payload: 'cc' }, token: 't3' });
    await s.settle();
    expect(s.dedupSince(0).map((e) => [e.devEui, e.fcnt, e.payload])).toEqual([
      [A, 2, 'bb'],
      [B, 3, 'cc'],
    ]);
    expect(s.tokensSince(0).map((t) => t.token)).toEqual(['t1', 't3']);
    expect(s.tokensSince(1_003).map((t) => t.token)).toEqual(['t3']);
    s.pruneMemory(1_003, 1_003);
    await s.settle();
    expect(s.tokensSince(0).map((t) => t.token)).toEqual(['t3']);
  });

  it('deletes acked reports by ranges and hands out rows another writer appended between its own, in order', async () => {
    expect(seqRanges([9, 1, 2, 3, 5, 7, 8])).toEqual([
      [1, 3],
      [5, 5],
      [7, 9],
    ]);
    const d = dir();
    const s = new Spool(d);
    const other = new Spool(d);
    cleanups.push(() => s.close());
    cleanups.push(() => other.close());
    const theirs = report(B, 2);
    const seqs = [await s.append(report(A, 1)), await other.append(theirs), await s.append(report(A, 3))];
    const taken = await s.take(10);
    expect(taken.map((r) => r.seq)).toEqual(seqs);
    expect(taken[1]).toEqual({ ...theirs, seq: seqs[1] });
    for (let n = 4; n <= 12; n++) seqs.push(await s.append(report(A, n)));
    expect((await s.take(100)).map((r) => r.seq)).toEqual(seqs.slice(3));
    await Promise.all([0, 1, 2, 4, 6, 7, 8, 11].map((i) => s.ack(seqs[i]!)));
    const db = new Database(join(d, SPOOL_FILE), { readonly: true });
    const left = db.prepare('SELECT seq FROM messages ORDER BY seq').all() as { seq: number }[];
    db.close();
    expect(left.map((r) => r.seq)).toEqual([seqs[3], seqs[5], seqs[9], seqs[10]]);
  });

  it("bounds a device's dedup memory to its last counters", () => {
    const d = new DedupWindow(60_000, 8);
    for (let f = 0; f < 20; f++) d.remember(A, f, 'aa', 1_000 + f);
    d.remember(B, 1, 'aa', 1_000);
    expect(d.size).toBe(9);
    expect(d.isDuplicate(A, 19, 'aa', 2_000)).toBe(true);
    expect(d.isDuplicate(A, 12, 'aa', 2_000)).toBe(true);
    expect(d.isDuplicate(A, 11, 'aa', 2_000)).toBe(false);
    d.remember(A, 19, 'bb', 1_500); // the same counter again: replaced, not added
    expect(d.size).toBe(9);
    expect(d.isDuplicate(A, 19, 'bb', 2_000)).toBe(true);
    d.prune(1_000 + 60_000 + 13);
    expect(d.size).toBe(7);
  });

  it('maps replay keys of older versions (AS_ID|Time|Token) to the same key', () => {
    const token = 'AB'.repeat(32);
    expect(replayKey(`${AS_ID}|2026-01-01T00:00:00.000+00:00|${token}`)).toBe(replayKey(token.toLowerCase()));
    expect(replayKey(token)).toHaveLength(32);
  });

  it('binds the known Things with several BINDs in flight, and stops at the first failure', async () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `T${i}`);
    let inFlight = 0;
    let most = 0;
    const calls: string[][] = [];
    const sink = new FakeSink();
    sink.bind = async (chunk: string[]) => {
      calls.push(chunk);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight -= 1;
      if (chunk.includes('T950')) throw new Error('socket closed');
      return { refused: chunk.filter((n) => n === 'T7') };
    };
    const directory = new FakeDirectory();
    for (const n of names) directory.things.add(n);
    const p = new Provisioner(directory, sink, new BridgeEvents(), {
      template: 't',
      maxDevices: 10_000,
      bindBatch: 50,
      bindConcurrency: 4,
    });
    await expect(p.init()).rejects.toThrow('socket closed');
    expect(most).toBe(4);
    expect(calls.length).toBeLessThanOrEqual(20);
    expect(p.bound.has('T0')).toBe(true);
    expect(p.bound.has('T7')).toBe(false);
  });

  it('keeps nothing for a report delivered before its append was reported (no memory left behind)', async () => {
    const d = dir();
    const spool = new Spool(d);
    const other = new Spool(d); // stores the row as this process's writer would, before the append is reported
    cleanups.push(() => spool.close());
    cleanups.push(() => other.close());
    const sink = new FakeSink();
    const { delivery, codec } = await deliveryFor(spool, sink, A);
    const r = report(A, 1);
    const seq = await other.append(r);
    delivery.fill();
    await sink.waitForPushes(1);
    await delivery.drain(5_000);
    delivery.accepted(seq, codec.parse(JSON.parse(r.document)), 0);
    // the report and its acceptance time are one entry (there is no second map to leak)
    const internals = delivery as unknown as { live: Map<number, unknown> };
    expect(internals.live.size).toBe(0);
  });
});
