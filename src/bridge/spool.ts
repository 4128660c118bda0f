/**
 * The SQLite spool: the report queue (queue.ts) of one bridge, in a private directory (0700, files 0600). Reports
 * are stored as ThingPark sent them (document text + raw query), with the dedup and replay memory, in group
 * commits made by the one writer (spool-writer.ts). Delivered reports are deleted; reports that fail for good
 * move to the dead-letter table.
 *
 * Storage faults: the WAL is bounded (checkpoints truncate it to `journal_size_limit`), and a reserve file keeps
 * some disk space aside. When a commit fails (e.g. a full disk), the reserve is freed so deletes and checkpoints
 * can still run, appends are refused with QueueUnavailableError('storage') and `health().writable` is false; a
 * probe puts the reserve back and makes the spool writable again once the disk has room.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { TpxError } from '../errors.js';
import type { ReportKind } from './events.js';
import {
  type NewReport,
  type QueueHealth,
  QueueUnavailableError,
  type ReportQueue,
  type StoredReport,
} from './queue.js';
import { migrateSpool, openSpoolConnection } from './spool-schema.js';
import { type AppendMemory, type MemoryEntry, SpoolCommitter, SpoolWriter, workerRunner } from './spool-writer.js';

export interface SpoolOptions {
  /** 'full' syncs every group commit to disk (survives power loss); 'normal' survives a process crash only. */
  durability?: 'full' | 'normal';
  /**
   * Where the one writer commits: 'worker' (the writer thread, spool-worker.ts: an fsync does not stop the event
   * loop) or 'inline' (this thread; tools that move a few rows). Default 'inline'. Run from the TypeScript sources
   * (the test runner), where no compiled writer thread exists, the writer runs inline.
   */
  writer?: 'worker' | 'inline';
  /** Reports stored and not delivered before append refuses with QueueUnavailableError('full'). */
  maxDepth?: number;
  /** Disk space kept aside for deletes and checkpoints when the disk fills up. Default 8 MiB; 0: none. */
  reserveBytes?: number;
  /** Largest WAL file kept after a checkpoint. Default 16 MiB. */
  walLimitBytes?: number;
  /** How often `onAvailable` listeners are told of reports appended by another process. Default 1 s. */
  pollMs?: number;
  /** Test fault: SQLite's max_page_count (the database refuses to grow past it, as on a full disk). */
  maxPageCount?: number;
  /** Free bytes of the spool's file system (default: statfs); injectable for tests. */
  freeBytes?: (dir: string) => number | undefined;
  /** Test fault (inline writer only): an error it returns fails the commit (as a full disk would). */
  commitFault?: () => Error | undefined;
  /** How often a spool that cannot write checks whether it can again. Default 1 s. */
  probeMs?: number;
  /** The group commit's gather window, ms (SpoolWriterOptions.gatherMs). Default 0: every commit at once. */
  gatherMs?: number;
  /** Sources that could add a write now (SpoolWriterOptions.sources: the open ingest connections). */
  gatherSources?: () => number;
}

/** A dead letter, in ThingPark's shape (the document and query as received). */
export interface DeadLetter {
  id: number;
  seq: number;
  devEui: string;
  kind: ReportKind;
  receivedAt: number;
  failedAt: number;
  reason: string;
  document: string;
  query: string;
}

export const SPOOL_FILE = 'spool.sqlite';
/** Reports appended by this process kept in memory until taken (beyond it, take reads them back from SQLite). */
const FRESH_MAX = 20_000;
const RESERVE_FILE = 'spool.reserve';

function statfsFree(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/** Creates the spool directory private to this user (0700), and makes it so when it already exists. */
export function privateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new TpxError('TPX_SPOOL_OPEN', `Cannot create the spool directory ${dir}: ${(err as Error).message}`, {
      fix: { id: 'spool-dir-writable' },
      details: { setting: 'spoolDir', path: dir },
      cause: err,
    });
  }
}

/** Creates the file readable by this user only (0600), and makes it so when it already exists. */
export function privateFile(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

export class Spool implements ReportQueue {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly writer: SpoolWriter;
  private readonly closeWorker: (() => Promise<void>) | undefined;
  /** 'worker' or 'inline': where commits run. */
  readonly writerMode: 'worker' | 'inline';
  private readonly reservePath: string;
  private readonly freeBytesOf: (dir: string) => number | undefined;
  private depthValue: number;
  private cursor = 0;
  /** The last seq stored when this spool was opened: replayed rows after it are new to the depth when taken. */
  private readonly openedAt: number;
  private closed = false;
  private probing = false;
  private writable = true;
  private failure: string | undefined;
  private probe: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly replayListeners: ((count: number) => void)[] = [];
  private readonly healthListeners: ((health: QueueHealth) => void)[] = [];
  private free: { at: number; bytes: number | undefined } = { at: 0, bytes: undefined };
  private readonly takeStmt: Database.Statement<[number, number], Record<string, unknown>>;
  /**
   * Reports this process appended, by seq, until taken: take hands them out without reading them back. Rows it
   * did not append (an earlier run's, another process's, replayed dead letters) leave a gap in these seqs or set
   * `unread`; take then reads from SQLite, in seq order as always.
   */
  private readonly fresh = new Map<number, StoredReport>();
  /** Rows after the cursor may be in SQLite and not in `fresh`. */
  private unread = true;

  constructor(
    readonly dir: string,
    private readonly options: SpoolOptions = {},
  ) {
    privateDir(dir);
    this.path = join(dir, SPOOL_FILE);
    this.reservePath = join(dir, RESERVE_FILE);
    this.freeBytesOf = options.freeBytes ?? statfsFree;
    try {
      // SQLite creates the -wal and -shm files with the database file's mode: 0600 from the start
      privateFile(this.path);
      for (const f of ['-wal', '-shm']) if (existsSync(this.path + f)) chmodSync(this.path + f, 0o600);
      this.db = openSpoolConnection(new Database(this.path, { timeout: 5000 }), options);
      migrateSpool(this.db);
    } catch (err) {
      throw new TpxError('TPX_SPOOL_OPEN', `Cannot open the spool ${this.path}: ${(err as Error).message}`, {
        fix: { id: 'spool-dir-writable' },
        details: { setting: 'spoolDir', path: this.path },
        cause: err,
      });
    }
    const workerFile = fileURLToPath(new URL('./spool-worker.js', import.meta.url));
    const onFailure = (error: string) => this.failed(error);
    const onAppended = (seq: number, report: NewReport) => {
      if (seq <= this.cursor) return;
      if (this.fresh.size < FRESH_MAX) this.fresh.set(seq, { ...report, seq });
      else this.unread = true;
    };
    const gather = { gatherMs: options.gatherMs, sources: options.gatherSources };
    if (options.writer === 'worker' && existsSync(workerFile)) {
      const { durability, walLimitBytes, maxPageCount } = options;
      const worker = new Worker(workerFile, {
        workerData: {
          path: this.path,
          reservePath: this.reservePath,
          connection: { durability, walLimitBytes, maxPageCount },
        },
      });
      const runner = workerRunner(worker);
      this.writer = new SpoolWriter(runner.run, onFailure, onAppended, gather);
      this.closeWorker = runner.close;
      this.writerMode = 'worker';
    } else {
      const committer = new SpoolCommitter(this.db, this.reservePath, options.commitFault);
      this.writer = new SpoolWriter(async (batch) => committer.commit(batch), onFailure, onAppended, gather);
      this.writerMode = 'inline';
    }
    const known = this.db.prepare('SELECT count(*) AS n, max(seq) AS m FROM messages').get() as {
      n: number;
      m: number | null;
    };
    this.depthValue = known.n;
    this.openedAt = known.m ?? 0;
    this.takeStmt = this.db.prepare(
      'SELECT seq, dev_eui, kind, received_at, document, query, replay FROM messages WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.keepReserve();
  }

  /** Writes the reserve file when there is room for it; false when it cannot be written. */
  private keepReserve(): boolean {
    const size = this.options.reserveBytes ?? 8 * 1024 * 1024;
    if (size <= 0 || existsSync(this.reservePath)) return true;
    try {
      writeFileSync(this.reservePath, Buffer.alloc(size), { mode: 0o600 });
      return true;
    } catch {
      rmSync(this.reservePath, { force: true });
      return false;
    }
  }

  /** A commit failed (the writer freed the reserve and checkpointed): refuse appends, probe for recovery. */
  private failed(error: string): void {
    const was = this.writable;
    this.writable = false;
    this.failure = error;
    if (was) this.tellHealth();
    if (this.probe || this.closed) return;
    this.probe = setInterval(() => void this.tryRecover(), this.options.probeMs ?? 1000);
    this.probe.unref();
  }

  /** The probe: writable again once the reserve (and as much again) fits on the disk and a real write works. */
  async tryRecover(): Promise<boolean> {
    if (this.writable) return true;
    if (this.probing || this.closed) return false;
    const size = this.options.reserveBytes ?? 8 * 1024 * 1024;
    const free = this.freeBytes(true);
    if (free !== undefined && free < 2 * size) return false;
    if (!this.keepReserve()) return false;
    this.probing = true;
    try {
      await this.writer.probe();
    } catch {
      rmSync(this.reservePath, { force: true });
      return false;
    } finally {
      this.probing = false;
    }
    this.writable = true;
    this.failure = undefined;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    this.tellHealth();
    return true;
  }

  private tellHealth(): void {
    const h = this.health();
    for (const fn of this.healthListeners) fn(h);
  }

  /** Called when the spool stops or starts being writable. */
  onHealth(listener: (health: QueueHealth) => void): void {
    this.healthListeners.push(listener);
  }

  private freeBytes(fresh = false): number | undefined {
    const now = Date.now();
    if (fresh || now - this.free.at > 1000) this.free = { at: now, bytes: this.freeBytesOf(this.dir) };
    return this.free.bytes;
  }

  append(report: NewReport, memory: AppendMemory = {}): Promise<number> {
    if (this.closed) return Promise.reject(new QueueUnavailableError('storage', 'The spool is closed.'));
    if (!this.writable) {
      return Promise.reject(
        new QueueUnavailableError('storage', `The spool cannot store reports now: ${this.failure}`, {
          cause: this.failure,
        }),
      );
    }
    const max = this.options.maxDepth;
    if (max !== undefined && this.depthValue >= max) {
      return Promise.reject(
        new QueueUnavailableError('full', `The spool is full (${max} reports waiting for ThingWorx).`, {
          limit: max,
          depth: this.depthValue,
        }),
      );
    }
    this.depthValue += 1;
    return this.writer.append(report, memory).catch((err: Error) => {
      this.depthValue -= 1;
      throw new QueueUnavailableError('storage', `The spool cannot store reports now: ${err.message}`, {
        cause: err.message,
      });
    });
  }

  async take(max: number): Promise<StoredReport[]> {
    if (this.closed || max <= 0) return [];
    const out: StoredReport[] = [];
    // what this process appended, while its seqs follow the cursor without a gap
    for (let next = this.fresh.get(this.cursor + 1); next && out.length < max; next = this.fresh.get(this.cursor + 1)) {
      this.fresh.delete(next.seq);
      this.cursor = next.seq;
      out.push(next);
    }
    if (out.length === max || (!this.unread && this.fresh.size === 0)) return out;
    const want = max - out.length;
    const rows = this.takeStmt.all(this.cursor, want);
    let replayed = 0;
    for (const r of rows) {
      const seq = r.seq as number;
      // a dead letter put back (by this process or another) since the spool was opened: new to the depth
      if (r.replay === 1 && seq > this.openedAt) replayed += 1;
      this.fresh.delete(seq);
      out.push({
        seq,
        devEui: r.dev_eui as string,
        kind: r.kind as ReportKind,
        receivedAt: r.received_at as number,
        document: r.document as string,
        query: r.query as string,
      });
    }
    if (rows.length > 0) this.cursor = out[out.length - 1]!.seq;
    // everything after the cursor was read: what comes next is appended here (fresh) or announced by the poll
    if (rows.length < want) this.unread = false;
    this.depthValue += replayed;
    if (replayed > 0) for (const fn of this.replayListeners) fn(replayed);
    return out;
  }

  onAvailable(listener: () => void): void {
    this.listeners.push(listener);
    if (this.poll) return;
    const maxSeq = this.db.prepare<[], { m: number | null }>('SELECT max(seq) AS m FROM messages');
    this.poll = setInterval(() => {
      if (this.closed) return;
      const m = maxSeq.get()?.m ?? 0;
      // rows this process's writer committed and has not reported yet are not news (they come as `fresh`)
      if (m > this.cursor && !this.fresh.has(m) && !this.writer.appending) {
        this.unread = true;
        for (const fn of this.listeners) fn();
      }
    }, this.options.pollMs ?? 1000);
    this.poll.unref();
  }

  /** Dead letters put back by `replayDeadLetters` (here or in another process), counted when taken. */
  onReplayed(listener: (count: number) => void): void {
    this.replayListeners.push(listener);
  }

  /** Resolves once the delete was tried (one that failed is kept and tried again). */
  ack(seq: number): Promise<void> {
    this.depthValue -= 1;
    return this.writer.ack(seq);
  }

  /** Resolves once the move was tried (one that failed is kept and tried again). */
  deadLetter(seq: number, reason: string): Promise<void> {
    this.depthValue -= 1;
    return this.writer.deadLetter(seq, reason);
  }

  health(): QueueHealth {
    const h: QueueHealth = { writable: this.writable, depth: this.depthValue };
    if (!this.writable && this.failure) h.reason = this.failure;
    const free = this.freeBytes();
    if (free !== undefined) h.freeBytes = free;
    return h;
  }

  /** Reports stored and not yet delivered or dead-lettered. */
  depth(): number {
    return this.depthValue;
  }

  // ---- SQLite management (not part of the queue contract) ----

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
        document: r.document as string,
        query: r.query as string,
      }));
  }

  countDeadLetters(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;
  }

  /** Puts dead letters (all, or the given ids) back for delivery; resolves with how many (counted when taken). */
  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.writer.replayDeadLetters(ids).then((n) => {
      if (n > 0) this.unread = true;
      return n;
    });
  }

  /** The memory log since `since`, replayed in order: counters by device (a join clears them) and tokens. */
  private memorySince(since: number): {
    dedup: Map<string, Map<number, { payload: string; seenAt: number }>>;
    tokens: Map<string, number>;
  } {
    const dedup = new Map<string, Map<number, { payload: string; seenAt: number }>>();
    const tokens = new Map<string, number>();
    const rows = this.db
      .prepare<[number], { at: number; entries: string }>('SELECT at, entries FROM memory WHERE at >= ? ORDER BY id')
      .all(since);
    for (const row of rows) {
      for (const e of JSON.parse(row.entries) as MemoryEntry[]) {
        if (e[0] === 0) {
          const seenAt = row.at - e[4];
          if (seenAt < since) continue;
          let m = dedup.get(e[1]);
          if (!m) {
            m = new Map();
            dedup.set(e[1], m);
          }
          m.set(e[2], { payload: e[3], seenAt });
        } else if (e[0] === 1) {
          if (row.at - e[2] >= since) tokens.set(e[1], row.at - e[2]);
        } else dedup.delete(e[1]);
      }
    }
    return { dedup, tokens };
  }

  /** Dedup entries seen since `since` (epoch ms), to rebuild the in-memory window at start-up. */
  dedupSince(since: number): { devEui: string; fcnt: number; payload: string; seenAt: number }[] {
    const out: { devEui: string; fcnt: number; payload: string; seenAt: number }[] = [];
    for (const [devEui, m] of this.memorySince(since).dedup) {
      for (const [fcnt, e] of m) out.push({ devEui, fcnt, payload: e.payload, seenAt: e.seenAt });
    }
    return out;
  }

  /** Tokens (`AS_ID|Time|Token`) seen since `since`, to rebuild the replay memory at start-up. */
  tokensSince(since: number): { token: string; seenAt: number }[] {
    return [...this.memorySince(since).tokens].map(([token, seenAt]) => ({ token, seenAt }));
  }

  /** Forgets dedup entries and tokens older than the given times. */
  pruneMemory(dedupBefore: number, tokensBefore: number): void {
    this.writer.prune(dedupBefore, tokensBefore);
  }

  resetDedup(devEui: string): void {
    this.writer.resetDedup(devEui);
  }

  /** Resolves when every write asked for so far was tried. */
  settle(): Promise<void> {
    return this.writer.settle();
  }

  /** Commits what is pending and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.writer.close();
    await this.closeWorker?.();
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    if (this.poll) clearInterval(this.poll);
    this.db.close();
  }
}
