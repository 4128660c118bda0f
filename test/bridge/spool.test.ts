/** The SQLite spool as a report queue: format, migration, storage faults, the lock. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge } from '../../src/bridge/index.js';
import { lockSpool } from '../../src/bridge/lock.js';
import { QueueUnavailableError } from '../../src/bridge/queue.js';
import { SPOOL_FILE, Spool } from '../../src/bridge/spool.js';
import { SPOOL_SCHEMA_V0, SPOOL_SCHEMA_VERSION } from '../../src/bridge/spool-schema.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { tempDir, uplinkDoc } from './helpers.js';

const A = '0018B2000000000A';
const B = '0018B2000000000B';
const report = (devEui: string, n: number, size = 10) => ({
  devEui,
  kind: 'uplink' as const,
  receivedAt: 1_000 + n,
  document: JSON.stringify(uplinkDoc(devEui, n, 'ab'.repeat(size), new Date(1_700_000_000_000))),
  query: `LrnDevEui=${devEui}&AS_ID=x&Time=t&Token=${n}`,
});

describe('SQLite spool', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function dir(): string {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }
  function open(d: string, o: ConstructorParameters<typeof Spool>[1] = {}): Spool {
    const s = new Spool(d, o);
    cleanups.push(() => s.close());
    return s;
  }

  it('keeps reports as ThingPark sent them and hands them out in order, again after a reopen until acked', async () => {
    const d = dir();
    const s = new Spool(d);
    const seqs = [];
    for (const [dev, n] of [
      [A, 1],
      [B, 1],
      [A, 2],
    ] as const)
      seqs.push(await s.append(report(dev, n)));
    const taken = await s.take(10);
    expect(taken.map((r) => [r.devEui, r.seq])).toEqual([
      [A, seqs[0]],
      [B, seqs[1]],
      [A, seqs[2]],
    ]);
    expect(taken[0]).toEqual({ seq: seqs[0], ...report(A, 1) });
    expect(await s.take(10)).toEqual([]);
    await s.ack(seqs[0]!);
    expect(s.health()).toMatchObject({ writable: true, depth: 2 });
    await s.close();
    // at least once: what was handed out and not acked is handed out again
    const again = open(d);
    expect((await again.take(10)).map((r) => r.seq)).toEqual([seqs[1], seqs[2]]);
    const db = new Database(join(d, SPOOL_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SPOOL_SCHEMA_VERSION);
    db.close();
  });

  it('migrates a spool of the old format (internal JSON bodies, no version) and the bridge delivers its rows', async () => {
    const d = dir();
    mkdirSync(d, { recursive: true });
    const db = new Database(join(d, SPOOL_FILE));
    db.exec(SPOOL_SCHEMA_V0);
    const doc = uplinkDoc(A, 77, 'cafe');
    const docB = uplinkDoc(B, 3);
    // what tpx 0.1 stored: JSON.stringify of its TunnelReport, the document inside
    const body = JSON.stringify({ kind: 'uplink', devEui: A, fcntUp: 77, fport: 2, document: doc });
    db.prepare('INSERT INTO messages (dev_eui, kind, received_at, body) VALUES (?, ?, ?, ?)').run(A, 'uplink', 5, body);
    db.prepare(
      'INSERT INTO dead_letters (seq, dev_eui, kind, received_at, failed_at, reason, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(9, B, 'uplink', 6, 7, 'device limit reached', JSON.stringify({ document: docB }));
    db.close();

    const sink = new FakeSink();
    const directory = new FakeDirectory();
    const bridge = await startBridge({
      listen: '127.0.0.1:0',
      spoolDir: d,
      verifyTokens: false,
      template: 'actilityThingTemplateSF',
      sink,
      directory,
    });
    cleanups.push(async () => void (await bridge.stop({ drainTimeoutMs: 0 })));
    expect(await bridge.whenDrained()).toBe(true);
    expect(sink.valuesOf(A, 'FCntUp').map((v) => (v as { value: number }).value)).toEqual([77]);
    const [letter] = bridge.spool.listDeadLetters();
    expect(letter).toMatchObject({ devEui: B, reason: 'device limit reached', query: '' });
    expect(JSON.parse(letter!.document)).toEqual(docB);
  });

  it('a full disk: appends are refused (storage), delivered reports are still deleted, and it recovers', async () => {
    const d = dir();
    let free = 10 ** 9;
    // max_page_count makes SQLite answer SQLITE_FULL as a full disk does
    const s = open(d, { maxPageCount: 40, reserveBytes: 64 * 1024, freeBytes: () => free, probeMs: 60_000 });
    const stored: number[] = [];
    let refused: unknown;
    for (let n = 0; n < 200 && !refused; n++) {
      try {
        stored.push(await s.append(report(A, n, 1500)));
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(QueueUnavailableError);
    expect(refused).toMatchObject({ reason: 'storage', code: 'TPX_QUEUE_STORAGE' });
    expect(s.health()).toMatchObject({ writable: false, reason: expect.stringMatching(/full/) });
    expect(existsSync(join(d, 'spool.reserve'))).toBe(false); // freed for deletes and checkpoints
    await expect(s.append(report(A, 999))).rejects.toMatchObject({ reason: 'storage' });

    // deliveries go on: the acks commit although appends cannot
    await s.take(1000);
    for (const seq of stored) await s.ack(seq);
    await s.settle();
    const count = () => {
      const db = new Database(join(d, SPOOL_FILE), { readonly: true });
      const n = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
      db.close();
      return n;
    };
    expect(count()).toBe(0);

    free = 1000; // still no room: stays unwritable
    expect(await s.tryRecover()).toBe(false);
    free = 10 ** 9;
    expect(await s.tryRecover()).toBe(true);
    expect(s.health().writable).toBe(true);
    expect(existsSync(join(d, 'spool.reserve'))).toBe(true);
    expect(await s.append(report(B, 1))).toBeGreaterThan(stored.at(-1)!);
  });

  it('a lock held by a killed process does not block; a held lock refuses a second owner', async () => {
    const d = dir();
    const unlock = lockSpool(d);
    expect(() => lockSpool(d)).toThrow(expect.objectContaining({ code: 'TPX_SPOOL_LOCKED' }));
    unlock();
    lockSpool(d)();

    // another process takes the lock the same way (SQLite's own locking on spool.lock), then is SIGKILLed
    const code = `
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(join(d, 'spool.lock'))}, { timeout: 0 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.prepare('DELETE FROM owner').run();
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(() => lockSpool(d)).toThrow(expect.objectContaining({ code: 'TPX_SPOOL_LOCKED' }));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const again = lockSpool(d); // at once: no stale pid to wait for
    again();
  });
});

describe('SQLite spool, writer thread (the built dist/, as the bridge runs it)', () => {
  it('commits through the writer thread: appends, acks, dead letters and replays, kept across a reopen', async () => {
    const dist = new URL('../../dist/bridge/spool.js', import.meta.url).href;
    const { Spool: Built } = (await import(dist)) as typeof import('../../src/bridge/spool.js');
    const t = tempDir();
    try {
      const s = new Built(t.dir, { writer: 'worker' });
      expect(s.writerMode).toBe('worker');
      const seqs = await Promise.all([1, 2, 3, 4].map((n) => s.append(report(n % 2 ? A : B, n))));
      expect(new Set(seqs).size).toBe(4);
      const taken = await s.take(10);
      expect(taken.map((r) => r.seq)).toEqual(seqs);
      await s.ack(seqs[0]!);
      await s.deadLetter(seqs[1]!, 'refused');
      expect(s.listDeadLetters()).toMatchObject([{ seq: seqs[1], devEui: B, reason: 'refused' }]);
      expect(await s.replayDeadLetters()).toBe(1);
      await s.close();
      const again = new Built(t.dir, { writer: 'worker' });
      const left = await again.take(10);
      expect(left.map((r) => r.devEui)).toEqual([A, B, B]);
      expect(left[2]).toMatchObject({ document: report(B, 2).document, query: report(B, 2).query });
      expect(again.health()).toMatchObject({ writable: true, depth: 3 });
      await again.close();
    } finally {
      t.cleanup();
    }
  });
});
