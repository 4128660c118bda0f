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
 * What a group commit writes, per report: one `messages` row (appended at the end of the table). The dedup and
 * replay memory of the whole group is one `memory` row (a JSON list of entries, in the order they happened), not a
 * row per report in a table keyed by DevEUI or token (a write at a random place of a B-tree per report: a page of
 * WAL each). Acks are gathered and deleted by ranges of consecutive seqs (`seq BETWEEN ? AND ?`), one promise per
 * group. To the writer thread a group travels as a few typed arrays and one transferred buffer holding the texts
 * (UTF-8), which the committer binds as they are (`CAST(? AS TEXT)`): no JSON of the documents on either side.
 *
 * When a commit fails (a full disk: SQLITE_FULL), the appends and the probe in it fail; the reserve file is freed,
 * the other writes (acks, dead letters, pruning: they free space, they never refuse a report) are tried again
 * alone, and kept for a later retry if they still fail. The spool (spool.ts) decides when it is writable again.
 */
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { ReportKind } from './events.js';
import type { NewReport } from './queue.js';

/** Remembered with an append, in the same transaction. */
export interface AppendMemory {
  /** (DevEUI, FCntUp) with its payload: the dedup memory. */
  dedup?: { fcnt: number; payload: string };
  /** `AS_ID|Time|Token` of a verified request: the replay memory. */
  token?: string;
}

/** A report as the committer stores it: the texts as strings, or as their UTF-8 bytes (from the writer thread). */
export interface AppendRow {
  devEui: string;
  kind: ReportKind;
  receivedAt: number;
  document: string | Uint8Array;
  query: string | Uint8Array;
}

export type WriteOp =
  | { t: 'append'; report: AppendRow; memory: AppendMemory }
  | { t: 'dead'; seq: number; reason: string; failedAt: number }
  | { t: 'prune'; dedupBefore: number; tokensBefore: number }
  | { t: 'resetDedup'; devEui: string; at: number }
  /** Dead letters (all, or these ids) back into the queue; its result is how many. */
  | { t: 'replay'; ids?: number[] }
  /** A real write (a row in and out): fails when the storage cannot take one. */
  | { t: 'probe' };

/** One group commit: the ops in order (a result each) and the seqs delivered (deleted first, by ranges). */
export interface Batch {
  ops: WriteOp[];
  acks: number[];
}

/** What a batch came to: a result per op (append: seq, replay: count), or the error of the failed commit. */
export interface BatchResult {
  results: number[];
  error?: string;
  /** The ops other than appends and probes failed too (after the error): keep them for a retry. */
  restFailed?: boolean;
}

/**
 * An entry of the dedup and replay memory, as a `memory` row lists them (in the order they happened):
 * `[0, devEui, fcnt, payload, ago]` a counter seen, `[1, token, ago]` a token seen, `[2, devEui, ago]` a join (the
 * device's counters forgotten). `ago`: ms before the row's `at` (the latest time in the row), a small number.
 */
export type MemoryEntry = [0, string, number, string, number] | [1, string, number] | [2, string, number];

/** Ops that must not be lost when a commit fails: they only free space. */
const keepsOnFailure = (op: WriteOp) => op.t === 'dead' || op.t === 'prune' || op.t === 'resetDedup';

/** Sorted seqs as [first, last] ranges of consecutive values. */
export function seqRanges(seqs: readonly number[]): [number, number][] {
  const s = seqs.length > 1 ? Float64Array.from(seqs).sort() : seqs;
  const out: [number, number][] = [];
  for (let i = 0; i < s.length; i++) {
    const first = s[i]!;
    let last = first;
    while (i + 1 < s.length && s[i + 1]! <= last + 1) last = s[++i]!;
    out.push([first, last]);
  }
  return out;
}

/** A text to bind: bytes are cast to TEXT by the statement; an empty one is bound as '' (never NULL). */
const textParam = (v: string | Uint8Array): string | Uint8Array => (typeof v === 'string' || v.length > 0 ? v : '');

export class SpoolCommitter {
  private readonly run: (batch: Batch, results: number[]) => void;

  constructor(
    private readonly db: Database.Database,
    /** Freed when a commit fails, so deletes and checkpoints find room. */
    private readonly reservePath: string | undefined,
    /** Test fault: an error it returns fails the commit (as a full disk would). */
    private readonly fault?: () => Error | undefined,
  ) {
    const s = {
      // no RETURNING: with it SQLite frees and glibc trims a buffer per row (two brk calls each, 5x the CPU of
      // the insert); the seq is the statement's last rowid
      insert: db.prepare<[string, string, number, string | Uint8Array, string | Uint8Array]>(
        `INSERT INTO messages (dev_eui, kind, received_at, document, query)
         VALUES (?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT))`,
      ),
      memory: db.prepare<[number, string]>('INSERT INTO memory (at, entries) VALUES (?, ?)'),
      delRange: db.prepare<[number, number]>('DELETE FROM messages WHERE seq BETWEEN ? AND ?'),
      del: db.prepare<[number]>('DELETE FROM messages WHERE seq = ?'),
      dead: db.prepare(
        `INSERT INTO dead_letters (seq, dev_eui, kind, received_at, failed_at, reason, document, query)
         SELECT seq, dev_eui, kind, received_at, ?, ?, document, query FROM messages WHERE seq = ?`,
      ),
      pruneMemory: db.prepare<[number]>('DELETE FROM memory WHERE at < ?'),
      probeIn: db.prepare('INSERT INTO memory (at, entries) VALUES (0, ?) RETURNING id'),
      probeOut: db.prepare<[number]>('DELETE FROM memory WHERE id = ?'),
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
    let entries: MemoryEntry[] = [];
    let at = 0;
    const apply = (op: WriteOp): number => {
      switch (op.t) {
        case 'append': {
          const r = op.report;
          const seq = Number(
            s.insert.run(r.devEui, r.kind, r.receivedAt, textParam(r.document), textParam(r.query)).lastInsertRowid,
          );
          const m = op.memory;
          if (m.dedup) entries.push([0, r.devEui, m.dedup.fcnt, m.dedup.payload, r.receivedAt]);
          if (m.token !== undefined) entries.push([1, m.token, r.receivedAt]);
          if (r.receivedAt > at) at = r.receivedAt;
          return seq;
        }
        case 'dead':
          s.dead.run(op.failedAt, op.reason, op.seq);
          s.del.run(op.seq);
          return 0;
        case 'prune':
          s.pruneMemory.run(Math.min(op.dedupBefore, op.tokensBefore));
          return 0;
        case 'resetDedup':
          entries.push([2, op.devEui, op.at]);
          if (op.at > at) at = op.at;
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
        case 'probe': {
          const { id } = s.probeIn.get('[]') as { id: number };
          s.probeOut.run(id);
          return 0;
        }
      }
    };
    const commit = db.transaction((batch: Batch, results: number[]) => {
      for (const [first, last] of seqRanges(batch.acks)) s.delRange.run(first, last);
      entries = [];
      at = 0;
      for (const op of batch.ops) results.push(apply(op));
      if (entries.length > 0) {
        for (const e of entries) e[e.length - 1] = at - (e[e.length - 1] as number);
        s.memory.run(at, JSON.stringify(entries));
      }
    });
    this.run = (batch, results) => {
      const injected = this.fault?.();
      if (injected) throw injected;
      commit(batch, results);
    };
  }

  /** Commits a batch in one transaction; on failure, retries the ops that only free space, alone. */
  commit(batch: Batch): BatchResult {
    const results: number[] = [];
    try {
      this.run(batch, results);
      return { results };
    } catch (err) {
      const error = (err as Error).message;
      if (this.reservePath) rmSync(this.reservePath, { force: true });
      const rest = { ops: batch.ops.filter(keepsOnFailure), acks: batch.acks };
      let restFailed = false;
      if (rest.ops.length > 0 || rest.acks.length > 0) {
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

// ---- a batch to the writer thread and back ----

/** A batch as posted to the writer thread: typed arrays and one buffer of UTF-8 texts, all transferred. */
export interface BatchMessage {
  id: number;
  /** Per op: 1 an append (its fields in nums, lens and texts), 0 the next of `other`. */
  order: Uint8Array;
  other: WriteOp[];
  /** Per append: receivedAt, fcnt (-1: no dedup memory). */
  nums: Float64Array;
  /** Per append: byte lengths of devEui, kind, document, query, payload, token + 1 (0: no token). */
  lens: Uint32Array;
  texts: ArrayBuffer;
  acks: Float64Array;
}

const FIELDS = 6;

/**
 * Encodes a batch for the writer thread; `transfer` lists the buffers to move (not copy). `spare`: a texts buffer
 * the writer thread gave back, reused when large enough (no buffer per batch for the garbage collectors).
 */
export function encodeBatch(
  id: number,
  batch: Batch,
  spare?: ArrayBuffer,
): { message: BatchMessage; transfer: ArrayBuffer[] } {
  const { ops } = batch;
  let appends = 0;
  let bound = 0;
  for (const op of ops) {
    if (op.t !== 'append') continue;
    appends += 1;
    const r = op.report as NewReport;
    bound += r.devEui.length + r.kind.length + Buffer.byteLength(r.document) + Buffer.byteLength(r.query);
    bound += Buffer.byteLength(op.memory.dedup?.payload ?? '') + Buffer.byteLength(op.memory.token ?? '');
  }
  const order = new Uint8Array(ops.length);
  const other: WriteOp[] = [];
  const nums = new Float64Array(appends * 2);
  const lens = new Uint32Array(appends * FIELDS);
  const texts =
    spare && spare.byteLength >= bound && spare.byteLength <= 4 * bound + 65536
      ? Buffer.from(spare)
      : Buffer.allocUnsafeSlow(Math.max(bound, 16384));
  let off = 0;
  let a = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.t !== 'append') {
      other.push(op);
      continue;
    }
    order[i] = 1;
    const r = op.report as NewReport;
    const m = op.memory;
    nums[a * 2] = r.receivedAt;
    nums[a * 2 + 1] = m.dedup ? m.dedup.fcnt : -1;
    const l = a * FIELDS;
    off += lens[l] = texts.write(r.devEui, off, 'latin1');
    off += lens[l + 1] = texts.write(r.kind, off, 'latin1');
    off += lens[l + 2] = texts.write(r.document, off);
    off += lens[l + 3] = texts.write(r.query, off);
    if (m.dedup) off += lens[l + 4] = texts.write(m.dedup.payload, off);
    if (m.token !== undefined) {
      const n = texts.write(m.token, off);
      lens[l + 5] = n + 1;
      off += n;
    }
    a += 1;
  }
  const acks = Float64Array.from(batch.acks);
  const message: BatchMessage = { id, order, other, nums, lens, texts: texts.buffer as ArrayBuffer, acks };
  return {
    message,
    transfer: [order.buffer, nums.buffer, lens.buffer, message.texts, acks.buffer] as ArrayBuffer[],
  };
}

/** The batch of a BatchMessage (in the writer thread): documents and queries stay bytes of the one buffer. */
export function decodeBatch(m: BatchMessage): Batch {
  const texts = Buffer.from(m.texts);
  const ops: WriteOp[] = [];
  let off = 0;
  let a = 0;
  let o = 0;
  const take = (n: number) => {
    off += n;
    return texts.subarray(off - n, off);
  };
  for (let i = 0; i < m.order.length; i++) {
    if (m.order[i] !== 1) {
      ops.push(m.other[o++]!);
      continue;
    }
    const l = a * FIELDS;
    const devEui = take(m.lens[l]!).toString('latin1');
    const kind = take(m.lens[l + 1]!).toString('latin1') as ReportKind;
    const document = take(m.lens[l + 2]!);
    const query = take(m.lens[l + 3]!);
    const fcnt = m.nums[a * 2 + 1]!;
    const memory: AppendMemory = {};
    if (fcnt >= 0) memory.dedup = { fcnt, payload: take(m.lens[l + 4]!).toString('utf8') };
    const tokenLen = m.lens[l + 5]!;
    if (tokenLen > 0) memory.token = take(tokenLen - 1).toString('utf8');
    ops.push({ t: 'append', report: { devEui, kind, receivedAt: m.nums[a * 2]!, document, query }, memory });
    a += 1;
  }
  return { ops, acks: Array.from(m.acks) };
}

/** Runs a batch: on this thread (inline) or in the writer thread. */
export type BatchRunner = (batch: Batch) => Promise<BatchResult>;

/** The writer thread as a BatchRunner (spool-worker.ts answers `{id, result}` for a BatchMessage). */
export function workerRunner(worker: Worker): { run: BatchRunner; close: () => Promise<void> } {
  let nextId = 1;
  let failed: Error | undefined;
  const waiting = new Map<number, (r: BatchResult) => void>();
  const fail = (err: Error) => {
    failed = err;
    for (const w of waiting.values()) w({ results: [], error: err.message });
    waiting.clear();
  };
  let spare: ArrayBuffer | undefined;
  worker.on('message', (m: { id: number; result: BatchResult; texts?: ArrayBuffer }) => {
    if (m.texts) spare = m.texts;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    w?.(m.result);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the spool writer thread exited (${code})`)));
  worker.unref();
  return {
    run: (batch) => {
      if (failed) return Promise.resolve({ results: [], error: failed.message });
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        worker.ref();
        const { message, transfer } = encodeBatch(id, batch, spare);
        spare = undefined;
        worker.postMessage(message, transfer);
      });
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

interface Pending {
  op: WriteOp;
  resolve: (n: number) => void;
  reject: (err: Error) => void;
}

const ignore = () => undefined;

/** Writes queued that make a group worth committing at once, gather window or not (about a group at full load). */
export const GATHER_ENOUGH = 64;

export interface SpoolWriterOptions {
  /**
   * The gather window, ms: a commit asked for within this long after the previous one started waits out the rest
   * of it (unless GATHER_ENOUGH writes are queued), so that under a steady load a group commit holds more reports:
   * fewer fsyncs and thread hand-offs per report, at most one commit per window. A commit that took the window or
   * longer (a heavy load) is followed at once, and so is a write after a quiet spell. 0: always at once.
   */
  gatherMs?: number;
  /**
   * How many sources could add a write now (the bridge: its open ingest connections). The window is waited out
   * only while there are more sources than writes queued: when every source waits for this commit (a sender that
   * sends one report at a time, a closed loop), nothing more can come and it commits at once. Without it the window
   * is waited out whenever it applies.
   */
  sources?: () => number;
  /** The clock of the window (performance.now); injectable for tests. */
  now?: () => number;
}

export class SpoolWriter {
  private queued: Pending[] = [];
  private acks: number[] = [];
  /** The one promise of the acks gathered for the next batch. */
  private acksDone: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Writes that free space and failed to commit: tried again with the next batch. */
  private retry: Batch = { ops: [], acks: [] };
  private running = false;
  private appendsRunning = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private readonly gatherMs: number;
  private readonly sources: (() => number) | undefined;
  private readonly now: () => number;
  /** When the last commit started: the gather window counts from it (commits at most one per window). */
  private committedAt = Number.NEGATIVE_INFINITY;
  /** The flush waiting out the gather window. */
  private gatherTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runBatch: BatchRunner,
    /** Called with the error of a failed commit (after the appends in it were refused). */
    private readonly onFailure: (error: string) => void,
    /** Called for each report committed, with its seq, before its append resolves. */
    private readonly onAppended?: (seq: number, report: NewReport) => void,
    options: SpoolWriterOptions = {},
  ) {
    this.gatherMs = options.gatherMs ?? 0;
    this.sources = options.sources;
    this.now = options.now ?? (() => performance.now());
  }

  private enqueue(op: WriteOp): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queued.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** A write nobody waits for. */
  private post(op: WriteOp): void {
    this.queued.push({ op, resolve: ignore, reject: ignore });
    this.schedule();
  }

  private schedule(): void {
    if (this.running) return;
    if (this.scheduled) {
      // the window no longer pays: commit now
      if (this.gatherTimer && !this.worthWaiting()) {
        clearTimeout(this.gatherTimer);
        this.gatherTimer = undefined;
        setImmediate(this.scheduledFlush);
      }
      return;
    }
    this.scheduled = true;
    const wait = this.gatherMs - (this.now() - this.committedAt);
    if (wait > 0 && this.worthWaiting()) {
      this.gatherTimer = setTimeout(() => {
        this.gatherTimer = undefined;
        this.scheduledFlush();
      }, wait);
    } else setImmediate(this.scheduledFlush);
  }

  /**
   * In the gather window: nobody waits for the writes to settle (a stop), fewer than GATHER_ENOUGH are queued, and
   * a source could still add one.
   */
  private worthWaiting(): boolean {
    if (this.idle.length > 0) return false;
    const waiting = this.queued.length;
    return waiting < GATHER_ENOUGH && (this.sources === undefined || this.sources() > waiting);
  }

  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    void this.flush();
  };

  /** True while a batch with appends is being committed (they may be stored and not reported yet). */
  get appending(): boolean {
    return this.appendsRunning;
  }

  /** Stores a report; resolves with its seq once committed. */
  append(report: NewReport, memory: AppendMemory = {}): Promise<number> {
    return this.enqueue({ t: 'append', report, memory });
  }

  /** Resolves once the delete was tried (a failed one is kept and tried again); one promise per group. */
  ack(seq: number): Promise<void> {
    this.acks.push(seq);
    if (!this.acksDone) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.acksDone = { promise, resolve };
    }
    this.schedule();
    return this.acksDone.promise;
  }

  deadLetter(seq: number, reason: string): Promise<void> {
    return this.enqueue({ t: 'dead', seq, reason, failedAt: Date.now() }).then(() => undefined);
  }

  prune(dedupBefore: number, tokensBefore: number): void {
    this.post({ t: 'prune', dedupBefore, tokensBefore });
  }

  resetDedup(devEui: string, at = Date.now()): void {
    this.post({ t: 'resetDedup', devEui, at });
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
    const acks = this.acks;
    const acksDone = this.acksDone;
    const again = this.retry;
    this.queued = [];
    this.acks = [];
    this.acksDone = undefined;
    this.retry = { ops: [], acks: [] };
    if (batch.length === 0 && acks.length === 0 && again.ops.length === 0 && again.acks.length === 0) {
      acksDone?.resolve();
      this.notifyIdle();
      return;
    }
    this.running = true;
    this.committedAt = this.now();
    this.appendsRunning = batch.some((p) => p.op.t === 'append');
    const ops = again.ops.length === 0 ? batch.map((p) => p.op) : [...again.ops, ...batch.map((p) => p.op)];
    const all = again.acks.length === 0 ? acks : [...again.acks, ...acks];
    const r = await this.runBatch({ ops, acks: all });
    this.running = false;
    this.appendsRunning = false;
    if (r.error === undefined) {
      const first = again.ops.length;
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        const result = r.results[first + i]!;
        if (p.op.t === 'append') this.onAppended?.(result, p.op.report as NewReport);
        p.resolve(result);
      }
    } else {
      const err = new Error(r.error);
      if (r.restFailed) this.retry = { ops: ops.filter(keepsOnFailure), acks: all };
      for (const p of batch) {
        if (keepsOnFailure(p.op)) p.resolve(0);
        else p.reject(err);
      }
      this.onFailure(r.error);
    }
    acksDone?.resolve();
    if ((this.retry.ops.length > 0 || this.retry.acks.length > 0) && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, 1000);
      this.retryTimer.unref();
    }
    if (this.queued.length > 0 || this.acks.length > 0) this.schedule();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const w = this.idle;
    this.idle = [];
    for (const fn of w) fn();
  }

  /** Resolves when every write asked for so far was tried (a failed ack or dead letter stays for a retry). */
  settle(): Promise<void> {
    if (!this.running && this.queued.length === 0 && this.acks.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.schedule();
    });
  }

  /** Tries the queued writes one last time; what still fails is dropped (its reports stay stored). */
  async close(): Promise<void> {
    await this.settle();
    if (this.retry.ops.length > 0 || this.retry.acks.length > 0) await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retry = { ops: [], acks: [] };
  }
}
