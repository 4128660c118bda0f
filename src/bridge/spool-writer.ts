/**
 * The spool's one writer: every write to the spool database of this process (appends with their dedup and
 * replay memory, acks, dead letters, replays, pruning) goes through here, on one connection. Writes asked for in
 * the same event-loop turn share one transaction (a group commit: one fsync with synchronous=FULL), and are
 * answered only after the commit.
 *
 * When a commit fails (a full disk: SQLITE_FULL), appends in it are refused; acks, dead letters and pruning stay
 * queued and are tried again, alone, so delivered reports are still removed while appends fail. The caller
 * (spool.ts) frees its disk reserve and decides when storage is writable again.
 */
import type Database from 'better-sqlite3';
import type { NewReport } from './queue.js';

/** Remembered with an append, in the same transaction. */
export interface AppendMemory {
  /** (DevEUI, FCntUp) with its payload: the dedup memory. */
  dedup?: { fcnt: number; payload: string };
  /** `AS_ID|Time|Token` of a verified request: the replay memory. */
  token?: string;
}

type Op =
  | {
      t: 'append';
      report: NewReport;
      memory: AppendMemory;
      resolve: (seq: number) => void;
      reject: (err: Error) => void;
    }
  | { t: 'ack'; seq: number }
  | { t: 'dead'; seq: number; reason: string; failedAt: number }
  | { t: 'prune'; dedupBefore: number; tokensBefore: number }
  | { t: 'resetDedup'; devEui: string };

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class SpoolWriter {
  private ops: Op[] = [];
  /** Non-append ops that failed to commit: tried again before anything else. */
  private retry: Op[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly s: {
    insert: Database.Statement;
    dedup: Database.Statement;
    token: Database.Statement;
    del: Database.Statement;
    dead: Database.Statement;
    pruneDedup: Database.Statement;
    pruneTokens: Database.Statement;
    resetDedup: Database.Statement;
    replayOne: Database.Statement;
    replayAll: Database.Statement;
    dropDeadOne: Database.Statement;
    dropDeadAll: Database.Statement;
  };
  private readonly run: (ops: Op[], seqs: number[]) => void;

  constructor(
    private readonly db: Database.Database,
    /** Called with the error of a failed commit (after the appends in it were refused). */
    private readonly onFailure: (err: Error) => void,
    /** Called after every successful commit. */
    private readonly onSuccess: () => void,
    /** Test fault: called before every commit; an error it returns fails that commit. */
    private readonly fault?: () => Error | undefined,
  ) {
    this.s = {
      insert: db.prepare(
        'INSERT INTO messages (dev_eui, kind, received_at, document, query) VALUES (?, ?, ?, ?, ?) RETURNING seq',
      ),
      dedup: db.prepare('INSERT OR REPLACE INTO dedup (dev_eui, fcnt, payload, seen_at) VALUES (?, ?, ?, ?)'),
      token: db.prepare('INSERT OR REPLACE INTO tokens (token, seen_at) VALUES (?, ?)'),
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
    const commit = db.transaction((ops: Op[], seqs: number[]) => {
      for (const op of ops) this.apply(op, seqs);
    });
    this.run = (ops, seqs) => {
      const injected = this.fault?.();
      if (injected) throw injected;
      commit(ops, seqs);
    };
  }

  private apply(op: Op, seqs: number[]): void {
    const s = this.s;
    switch (op.t) {
      case 'append': {
        const r = op.report;
        const row = s.insert.get(r.devEui, r.kind, r.receivedAt, r.document, r.query) as { seq: number };
        seqs.push(row.seq);
        if (op.memory.dedup) s.dedup.run(r.devEui, op.memory.dedup.fcnt, op.memory.dedup.payload, r.receivedAt);
        if (op.memory.token) s.token.run(op.memory.token, r.receivedAt);
        return;
      }
      case 'ack':
        s.del.run(op.seq);
        return;
      case 'dead':
        s.dead.run(op.failedAt, op.reason, op.seq);
        s.del.run(op.seq);
        return;
      case 'prune':
        s.pruneDedup.run(op.dedupBefore);
        s.pruneTokens.run(op.tokensBefore);
        return;
      case 'resetDedup':
        s.resetDedup.run(op.devEui);
        return;
    }
  }

  append(report: NewReport, memory: AppendMemory = {}): Promise<number> {
    return new Promise((resolve, reject) => this.push({ t: 'append', report, memory, resolve, reject }));
  }

  ack(seq: number): void {
    this.push({ t: 'ack', seq });
  }

  deadLetter(seq: number, reason: string): void {
    this.push({ t: 'dead', seq, reason, failedAt: Date.now() });
  }

  prune(dedupBefore: number, tokensBefore: number): void {
    this.push({ t: 'prune', dedupBefore, tokensBefore });
  }

  resetDedup(devEui: string): void {
    this.push({ t: 'resetDedup', devEui });
  }

  /** A real write (a row in and out, in one transaction); throws when the storage cannot take it. */
  probe(): void {
    this.flush();
    const probe = this.db.transaction(() => {
      this.s.token.run('~probe', 0);
      this.db.prepare("DELETE FROM tokens WHERE token = '~probe'").run();
    });
    const injected = this.fault?.();
    if (injected) throw injected;
    probe();
  }

  /** Puts dead letters (all, or the given ids) back for delivery, at once; returns how many. */
  replayDeadLetters(ids?: number[]): number {
    this.flush();
    return this.db.transaction(() => {
      if (!ids) {
        const n = this.s.replayAll.run().changes;
        this.s.dropDeadAll.run();
        return n;
      }
      let n = 0;
      for (const id of ids) {
        if (this.s.replayOne.run(id).changes === 0) continue;
        this.s.dropDeadOne.run(id);
        n += 1;
      }
      return n;
    })();
  }

  private push(op: Op): void {
    this.ops.push(op);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** True while writes wait to be tried (writes that failed and wait for a retry do not count). */
  get busy(): boolean {
    return this.ops.length > 0;
  }

  /** Commits what is queued now. */
  flush(): void {
    this.scheduled = false;
    if (this.retry.length > 0) {
      // acks and dead letters that failed before go first, alone: they free space, they never refuse a report
      const again = this.retry;
      this.retry = [];
      try {
        this.run(again, []);
      } catch {
        this.retry = again;
      }
    }
    const batch = this.ops;
    this.ops = [];
    if (batch.length > 0) {
      const seqs: number[] = [];
      try {
        this.run(batch, seqs);
        let i = 0;
        for (const op of batch) if (op.t === 'append') op.resolve(seqs[i++]!);
        this.onSuccess();
      } catch (err) {
        const e = err as Error;
        for (const op of batch) if (op.t === 'append') op.reject(e);
        const rest = batch.filter((op) => op.t !== 'append');
        this.onFailure(e);
        if (rest.length > 0) {
          try {
            this.run(rest, []);
          } catch {
            this.retry.push(...rest);
          }
        }
      }
    }
    if (this.retry.length > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, 1000);
      this.retryTimer.unref();
    }
    if (this.ops.length === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resolve();
    }
  }

  /** Resolves when every queued write was tried (a failed ack or dead letter stays queued for a retry). */
  settle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.flush();
    });
  }

  /** Tries the queued writes one last time; what still fails is dropped (reports stay stored: at least once). */
  close(): void {
    this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retry = [];
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resolve();
  }
}
