/**
 * The spool's one writer: every write to the spool database of a process (appends with their dedup and replay
 * memory, acks, dead letters, replays, pruning, the recovery probe) goes through here. The writes asked for while a
 * commit runs are gathered and committed together in one transaction (a group commit: one fsync with
 * synchronous=FULL), and answered only after it.
 *
 * `SpoolCommitter` runs a batch on a connection; it is the only code holding write SQL. `SpoolWriter` gathers the
 * batches and runs them either on this thread or in the writer thread (spool-worker.ts, which runs the same
 * committer on its own connection), so that an fsync does not stop the event loop.
 *
 * When a commit fails (a full disk: SQLITE_FULL), the appends and the probe in it fail; the reserve file is freed,
 * the other writes (acks, dead letters, pruning: they free space, they never refuse a report) are tried again
 * alone, and kept for a later retry if they still fail. The spool (spool.ts) decides when it is writable again.
 */
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { NewReport } from './queue.js';

/** Remembered with an append, in the same transaction. */
export interface AppendMemory {
  /** (DevEUI, FCntUp) with its payload: the dedup memory. */
  dedup?: { fcnt: number; payload: string };
  /** `AS_ID|Time|Token` of a verified request: the replay memory. */
  token?: string;
}

export type WriteOp =
  | { t: 'append'; report: NewReport; memory: AppendMemory }
  | { t: 'ack'; seq: number }
  | { t: 'dead'; seq: number; reason: string; failedAt: number }
  | { t: 'prune'; dedupBefore: number; tokensBefore: number }
  | { t: 'resetDedup'; devEui: string }
  /** Dead letters (all, or these ids) back into the queue; its result is how many. */
  | { t: 'replay'; ids?: number[] }
  /** A real write (a row in and out): fails when the storage cannot take one. */
  | { t: 'probe' };

/** What a batch came to: a result per op (append: seq, replay: count), or the error of the failed commit. */
export interface BatchResult {
  results: number[];
  error?: string;
  /** The ops other than appends and probes failed too (after the error): keep them for a retry. */
  restFailed?: boolean;
}

/** Ops that must not be lost when a commit fails: they only free space. */
const keepsOnFailure = (op: WriteOp) => op.t === 'ack' || op.t === 'dead' || op.t === 'prune' || op.t === 'resetDedup';

export class SpoolCommitter {
  private readonly run: (ops: WriteOp[], results: number[]) => void;

  constructor(
    private readonly db: Database.Database,
    /** Freed when a commit fails, so deletes and checkpoints find room. */
    private readonly reservePath: string | undefined,
    /** Test fault: an error it returns fails the commit (as a full disk would). */
    private readonly fault?: () => Error | undefined,
  ) {
    const s = {
      insert: db.prepare<[string, string, number, string, string], { seq: number }>(
        'INSERT INTO messages (dev_eui, kind, received_at, document, query) VALUES (?, ?, ?, ?, ?) RETURNING seq',
      ),
      dedup: db.prepare('INSERT OR REPLACE INTO dedup (dev_eui, fcnt, payload, seen_at) VALUES (?, ?, ?, ?)'),
      token: db.prepare('INSERT OR REPLACE INTO tokens (token, seen_at) VALUES (?, ?)'),
      untoken: db.prepare('DELETE FROM tokens WHERE token = ?'),
      del: db.prepare('DELETE FROM messages WHERE seq = ?'),
      dead: db.prepare(
        `INSERT INTO dead_letters (seq, dev_eui, kind, received_at, failed_at, reason, document, query)
         SELECT seq, dev_eui, kind, received_at, ?, ?, document, query FROM messages WHERE seq = ?`,
      ),
      pruneDedup: db.prepare('DELETE FROM dedup WHERE seen_at < ?'),
      pruneTokens: db.prepare('DELETE FROM tokens WHERE seen_at < ?'),
      resetDedup: db.prepare('DELETE FROM dedup WHERE dev_eui = ?'),
      replayOne: db.prepare(
        `INSERT INTO messages (dev_eui, kind, received_at, document, query, replay)
         SELECT dev_eui, kind, received_at, document, query, 1 FROM dead_letters WHERE id = ?`,
      ),
      replayAll: db.prepare(
        `INSERT INTO messages (dev_eui, kind, received_at, document, query, replay)
         SELECT dev_eui, kind, received_at, document, query, 1 FROM dead_letters ORDER BY id`,
      ),
      dropDeadOne: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
      dropDeadAll: db.prepare('DELETE FROM dead_letters'),
    };
    const apply = (op: WriteOp): number => {
      switch (op.t) {
        case 'append': {
          const r = op.report;
          const seq = s.insert.get(r.devEui, r.kind, r.receivedAt, r.document, r.query)!.seq;
          if (op.memory.dedup) s.dedup.run(r.devEui, op.memory.dedup.fcnt, op.memory.dedup.payload, r.receivedAt);
          if (op.memory.token) s.token.run(op.memory.token, r.receivedAt);
          return seq;
        }
        case 'ack':
          s.del.run(op.seq);
          return 0;
        case 'dead':
          s.dead.run(op.failedAt, op.reason, op.seq);
          s.del.run(op.seq);
          return 0;
        case 'prune':
          s.pruneDedup.run(op.dedupBefore);
          s.pruneTokens.run(op.tokensBefore);
          return 0;
        case 'resetDedup':
          s.resetDedup.run(op.devEui);
          return 0;
        case 'replay': {
          if (!op.ids) {
            const n = s.replayAll.run().changes;
            s.dropDeadAll.run();
            return n;
          }
          let n = 0;
          for (const id of op.ids) {
            if (s.replayOne.run(id).changes === 0) continue;
            s.dropDeadOne.run(id);
            n += 1;
          }
          return n;
        }
        case 'probe':
          s.token.run('~probe', 0);
          s.untoken.run('~probe');
          return 0;
      }
    };
    const commit = db.transaction((ops: WriteOp[], results: number[]) => {
      for (const op of ops) results.push(apply(op));
    });
    this.run = (ops, results) => {
      const injected = this.fault?.();
      if (injected) throw injected;
      commit(ops, results);
    };
  }

  /** Commits a batch in one transaction; on failure, retries the ops that only free space, alone. */
  commit(ops: WriteOp[]): BatchResult {
    const results: number[] = [];
    try {
      this.run(ops, results);
      return { results };
    } catch (err) {
      const error = (err as Error).message;
      if (this.reservePath) rmSync(this.reservePath, { force: true });
      const rest = ops.filter(keepsOnFailure);
      let restFailed = false;
      if (rest.length > 0) {
        try {
          this.run(rest, []);
        } catch {
          restFailed = true;
        }
      }
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // tried again after the next commit
      }
      return { results: [], error, restFailed };
    }
  }
}

interface Pending {
  op: WriteOp;
  resolve: (n: number) => void;
  reject: (err: Error) => void;
}

/** Runs a batch: on this thread (inline) or in the writer thread. */
export type BatchRunner = (ops: WriteOp[]) => Promise<BatchResult>;

/** The writer thread as a BatchRunner (spool-worker.ts answers `{id, result}` for `{id, ops}`). */
export function workerRunner(worker: Worker): { run: BatchRunner; close: () => Promise<void> } {
  let nextId = 1;
  let failed: Error | undefined;
  const waiting = new Map<number, (r: BatchResult) => void>();
  const fail = (err: Error) => {
    failed = err;
    for (const w of waiting.values()) w({ results: [], error: err.message });
    waiting.clear();
  };
  worker.on('message', (m: { id: number; result: BatchResult }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    w?.(m.result);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the spool writer thread exited (${code})`)));
  worker.unref();
  return {
    run: (ops) => {
      if (failed) return Promise.resolve({ results: [], error: failed.message });
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        worker.ref();
        // one string crosses the thread boundary far cheaper than many small objects (structured clone)
        worker.postMessage({ id, ops: JSON.stringify(ops) });
      });
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

export class SpoolWriter {
  private queued: Pending[] = [];
  /** Ops that free space and failed to commit: tried again with the next batch. */
  private retry: WriteOp[] = [];
  private running = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly runBatch: BatchRunner,
    /** Called with the error of a failed commit (after the appends in it were refused). */
    private readonly onFailure: (error: string) => void,
  ) {}

  private enqueue(op: WriteOp): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queued.push({ op, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Stores a report; resolves with its seq once committed. */
  append(report: NewReport, memory: AppendMemory = {}): Promise<number> {
    return this.enqueue({ t: 'append', report, memory });
  }

  /** Resolves once the delete was tried (a failed one is kept and tried again). */
  ack(seq: number): Promise<void> {
    return this.enqueue({ t: 'ack', seq }).then(() => undefined);
  }

  deadLetter(seq: number, reason: string): Promise<void> {
    return this.enqueue({ t: 'dead', seq, reason, failedAt: Date.now() }).then(() => undefined);
  }

  prune(dedupBefore: number, tokensBefore: number): void {
    void this.enqueue({ t: 'prune', dedupBefore, tokensBefore });
  }

  resetDedup(devEui: string): void {
    void this.enqueue({ t: 'resetDedup', devEui });
  }

  /** Dead letters (all, or the given ids) back into the queue; resolves with how many. */
  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.enqueue(ids ? { t: 'replay', ids } : { t: 'replay' });
  }

  /** A real write; rejects when the storage cannot take one. */
  probe(): Promise<void> {
    return this.enqueue({ t: 'probe' }).then(() => undefined);
  }

  /** Commits what is queued now; while a commit runs, the next batch gathers. */
  async flush(): Promise<void> {
    if (this.running) return;
    const batch = this.queued;
    const again = this.retry;
    this.queued = [];
    this.retry = [];
    if (batch.length === 0 && again.length === 0) {
      this.notifyIdle();
      return;
    }
    this.running = true;
    const ops = [...again, ...batch.map((p) => p.op)];
    const r = await this.runBatch(ops);
    this.running = false;
    if (r.error === undefined) {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(r.results[again.length + i]!);
    } else {
      const err = new Error(r.error);
      if (r.restFailed) this.retry.push(...ops.filter(keepsOnFailure));
      for (const p of batch) {
        if (keepsOnFailure(p.op)) p.resolve(0);
        else p.reject(err);
      }
      this.onFailure(r.error);
    }
    if (this.retry.length > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, 1000);
      this.retryTimer.unref();
    }
    if (this.queued.length > 0) this.schedule();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const w = this.idle;
    this.idle = [];
    for (const fn of w) fn();
  }

  /** Resolves when every write asked for so far was tried (a failed ack or dead letter stays for a retry). */
  settle(): Promise<void> {
    if (!this.running && this.queued.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.schedule();
    });
  }

  /** Tries the queued writes one last time; what still fails is dropped (its reports stay stored). */
  async close(): Promise<void> {
    await this.settle();
    if (this.retry.length > 0) await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retry = [];
  }
}
