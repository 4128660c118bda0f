/**
 * The durable spool (SQLite through better-sqlite3, WAL). Accepted reports are inserted in group commits: every
 * request arriving in the same event-loop turn shares one transaction (and one fsync with durability 'full'),
 * and is answered only after the commit. Delivered reports are deleted; reports that fail for good move to the
 * dead-letter table. The (DevEUI, FCntUp) dedup memory is stored in the same transactions.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TpxError } from '../errors.js';
import type { ReportKind } from './events.js';
import { SPOOL_SCHEMA } from './spool-schema.js';
import { type InsertRow, SpoolWriter } from './spool-writer.js';

export interface SpoolOptions {
  /** 'full' syncs every group commit to disk (survives power loss); 'normal' survives a process crash only. */
  durability?: 'full' | 'normal';
  /**
   * 'worker' commits in a writer thread (the bridge: an fsync does not stop the event loop); 'inline' commits on
   * this thread (tools that only read or move a few rows). Default 'inline'.
   */
  writer?: 'worker' | 'inline';
}

export interface SpoolEntry {
  seq: number;
  devEui: string;
}

export interface DeadLetter {
  id: number;
  seq: number;
  devEui: string;
  kind: ReportKind;
  receivedAt: number;
  failedAt: number;
  reason: string;
  body: string;
}

interface PendingInsert {
  devEui: string;
  kind: ReportKind;
  receivedAt: number;
  body: string;
  dedup?: { fcnt: number; payload: string };
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

export const SPOOL_FILE = 'spool.sqlite';

export class Spool {
  readonly path: string;
  private readonly db: Database.Database;
  private inserts: PendingInsert[] = [];
  private deletes: number[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly stmt: {
    insert: Database.Statement;
    dedup: Database.Statement;
    del: Database.Statement;
    body: Database.Statement<[number], { body: string; kind: ReportKind; received_at: number }>;
  };
  private readonly commitBatch: () => void;
  private readonly writer: SpoolWriter | undefined;
  private writing = false;
  private settleWaiters: (() => void)[] = [];

  constructor(dir: string, options: SpoolOptions = {}) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, SPOOL_FILE);
    try {
      this.db = new Database(this.path, { timeout: 5000 });
    } catch (err) {
      throw new TpxError('TPX_SPOOL_OPEN', `Cannot open the spool ${this.path}: ${(err as Error).message}`, {
        fix: { id: 'spool-dir-writable' },
        details: { setting: 'spoolDir' },
        cause: err,
      });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.exec(SPOOL_SCHEMA);
    this.stmt = {
      insert: this.db.prepare('INSERT INTO messages (dev_eui, kind, received_at, body) VALUES (?, ?, ?, ?)'),
      dedup: this.db.prepare('INSERT OR REPLACE INTO dedup (dev_eui, fcnt, payload, seen_at) VALUES (?, ?, ?, ?)'),
      del: this.db.prepare('DELETE FROM messages WHERE seq = ?'),
      body: this.db.prepare('SELECT body, kind, received_at FROM messages WHERE seq = ?'),
    };
    this.commitBatch = this.db.transaction(() => this.runBatch());
    if (options.writer === 'worker') {
      this.writer = new SpoolWriter(this.path, options.durability === 'normal' ? 'NORMAL' : 'FULL');
    }
  }

  /** Stores a report; resolves with its sequence number once the group commit is durable. */
  enqueue(entry: Omit<PendingInsert, 'resolve' | 'reject'>): Promise<number> {
    if (this.closed) return Promise.reject(new Error('spool closed'));
    return new Promise((resolve, reject) => {
      this.inserts.push({ ...entry, resolve, reject });
      this.schedule();
    });
  }

  /** Marks a report delivered; deleted in the next group commit. */
  ack(seq: number): void {
    this.deletes.push(seq);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits what is pending now (inline), or hands it to the writer thread when it is free. */
  flush(): void {
    this.flushScheduled = false;
    if (this.writer) {
      this.flushToWriter(this.writer);
      return;
    }
    if (this.inserts.length === 0 && this.deletes.length === 0) return;
    const batch = this.inserts;
    const seqs: number[] = [];
    this.pendingSeqs = seqs;
    try {
      this.commitBatch();
    } catch (err) {
      this.inserts = [];
      this.deletes = [];
      for (const p of batch) p.reject(err as Error);
      return;
    }
    this.inserts = [];
    this.deletes = [];
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(seqs[i]!);
  }

  private pendingSeqs: number[] = [];

  private flushToWriter(writer: SpoolWriter): void {
    if (this.writing) return;
    if (this.inserts.length === 0 && this.deletes.length === 0) {
      const w = this.settleWaiters;
      this.settleWaiters = [];
      for (const fn of w) fn();
      return;
    }
    const batch = this.inserts;
    const deletes = this.deletes;
    this.inserts = [];
    this.deletes = [];
    this.writing = true;
    const rows: InsertRow[] = batch.map((p) => [
      p.devEui,
      p.kind,
      p.receivedAt,
      p.body,
      p.dedup ? p.dedup.fcnt : null,
      p.dedup ? p.dedup.payload : null,
    ]);
    writer.commit(rows, deletes).then(
      (seqs) => {
        this.writing = false;
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(seqs[i]!);
        this.flushToWriter(writer);
      },
      (err: Error) => {
        this.writing = false;
        for (const p of batch) p.reject(err);
        this.flushToWriter(writer);
      },
    );
  }

  /** Resolves when every pending insert and delete is committed. */
  settle(): Promise<void> {
    if (!this.writer) {
      this.flush();
      return Promise.resolve();
    }
    if (!this.writing && this.inserts.length === 0 && this.deletes.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.settleWaiters.push(resolve);
      this.flush();
    });
  }

  private runBatch(): void {
    for (const p of this.inserts) {
      const r = this.stmt.insert.run(p.devEui, p.kind, p.receivedAt, p.body);
      this.pendingSeqs.push(Number(r.lastInsertRowid));
      if (p.dedup) this.stmt.dedup.run(p.devEui, p.dedup.fcnt, p.dedup.payload, p.receivedAt);
    }
    for (const seq of this.deletes) this.stmt.del.run(seq);
  }

  /** Reports waiting for delivery, oldest first (at start-up). */
  pending(): SpoolEntry[] {
    return this.db
      .prepare<[], { seq: number; dev_eui: string }>('SELECT seq, dev_eui FROM messages WHERE replay = 0 ORDER BY seq')
      .all()
      .map((r) => ({ seq: r.seq, devEui: r.dev_eui }));
  }

  /** Reports put back by `tpx bridge dead-letters replay` (possibly from another process) since the last call. */
  takeReplayed(): SpoolEntry[] {
    const rows = this.db
      .prepare<[], { seq: number; dev_eui: string }>('SELECT seq, dev_eui FROM messages WHERE replay = 1 ORDER BY seq')
      .all();
    if (rows.length === 0) return [];
    this.db.prepare('UPDATE messages SET replay = 0 WHERE replay = 1').run();
    return rows.map((r) => ({ seq: r.seq, devEui: r.dev_eui }));
  }

  read(seq: number): { body: string; kind: ReportKind; receivedAt: number } | undefined {
    const r = this.stmt.body.get(seq);
    return r ? { body: r.body, kind: r.kind, receivedAt: r.received_at } : undefined;
  }

  /** Moves a report to the dead-letter table with the reason. */
  deadLetter(seq: number, reason: string): void {
    if (!this.writer) this.flush();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO dead_letters (seq, dev_eui, kind, received_at, failed_at, reason, body)
           SELECT seq, dev_eui, kind, received_at, ?, ?, body FROM messages WHERE seq = ?`,
        )
        .run(Date.now(), reason, seq);
      this.stmt.del.run(seq);
    })();
  }

  listDeadLetters(limit = 1000): DeadLetter[] {
    return this.db
      .prepare<[number], Record<string, unknown>>('SELECT * FROM dead_letters ORDER BY id LIMIT ?')
      .all(limit)
      .map((r) => ({
        id: r.id as number,
        seq: r.seq as number,
        devEui: r.dev_eui as string,
        kind: r.kind as ReportKind,
        receivedAt: r.received_at as number,
        failedAt: r.failed_at as number,
        reason: r.reason as string,
        body: r.body as string,
      }));
  }

  countDeadLetters(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;
  }

  /** Puts dead letters (all, or the given ids) back into the spool for delivery; returns how many. */
  replayDeadLetters(ids?: number[]): number {
    return this.db.transaction(() => {
      const rows = ids
        ? ids
            .map((id) => this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Record<string, unknown>)
            .filter(Boolean)
        : (this.db.prepare('SELECT * FROM dead_letters ORDER BY id').all() as Record<string, unknown>[]);
      const ins = this.db.prepare(
        'INSERT INTO messages (dev_eui, kind, received_at, body, replay) VALUES (?, ?, ?, ?, 1)',
      );
      const del = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
      for (const r of rows) {
        ins.run(r.dev_eui, r.kind, r.received_at, r.body);
        del.run(r.id);
      }
      return rows.length;
    })();
  }

  /** Dedup entries seen since `since` (epoch ms), to rebuild the in-memory window at start-up. */
  dedupSince(since: number): { devEui: string; fcnt: number; payload: string; seenAt: number }[] {
    return this.db
      .prepare<[number], { dev_eui: string; fcnt: number; payload: string; seen_at: number }>(
        'SELECT dev_eui, fcnt, payload, seen_at FROM dedup WHERE seen_at >= ?',
      )
      .all(since)
      .map((r) => ({ devEui: r.dev_eui, fcnt: r.fcnt, payload: r.payload, seenAt: r.seen_at }));
  }

  pruneDedup(before: number): void {
    this.db.prepare('DELETE FROM dedup WHERE seen_at < ?').run(before);
  }

  resetDedup(devEui: string): void {
    this.db.prepare('DELETE FROM dedup WHERE dev_eui = ?').run(devEui);
  }

  depth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  }

  /** Commits what is pending and closes (the writer thread too). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.settle();
    this.closed = true;
    await this.writer?.close();
    this.db.close();
  }
}
