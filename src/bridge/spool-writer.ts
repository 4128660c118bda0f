/**
 * The spool's writer thread: group commits run in a worker, so that the fsync of a commit (durability 'full')
 * does not stop the event loop; while one commit is on disk, the next batch gathers. The worker is plain
 * CommonJS code given as a string (it loads better-sqlite3 by its resolved path), so it runs the same from
 * dist/ and under the test runner.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** [devEui, kind, receivedAt, body, dedupFcnt | null, dedupPayload | null] */
export type InsertRow = [string, string, number, string, number | null, string | null];

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { timeout: 10000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
const insert = db.prepare('INSERT INTO messages (dev_eui, kind, received_at, body) VALUES (?, ?, ?, ?)');
const dedup = db.prepare('INSERT OR REPLACE INTO dedup (dev_eui, fcnt, payload, seen_at) VALUES (?, ?, ?, ?)');
const del = db.prepare('DELETE FROM messages WHERE seq = ?');
const commit = db.transaction((rows, deletes) => {
  const seqs = [];
  for (const r of rows) {
    seqs.push(Number(insert.run(r[0], r[1], r[2], r[3]).lastInsertRowid));
    if (r[4] !== null) dedup.run(r[0], r[4], r[5], r[2]);
  }
  for (const s of deletes) del.run(s);
  return seqs;
});
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    db.close();
    parentPort.postMessage({ id: m.id, seqs: [] });
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, seqs: commit(JSON.parse(m.rows), m.deletes) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message ? err.message : err) });
  }
});
`;

export class SpoolWriter {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (s: number[]) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;

  constructor(path: string, synchronous: 'FULL' | 'NORMAL') {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, synchronous, sqlite } });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; seqs: number[]; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m.seqs);
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.waiting.size) fail(new Error(`spool writer exited (${code})`));
    });
  }

  private send(m: Record<string, unknown>): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...m, id });
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
    }) as Promise<number[]>;
  }

  /** Inserts and deletes in one transaction; resolves with the new rows' sequence numbers once committed. */
  commit(rows: InsertRow[], deletes: number[]): Promise<number[]> {
    // one string crosses the thread boundary far cheaper than many small arrays (structured clone)
    return this.send({ type: 'batch', rows: JSON.stringify(rows), deletes });
  }

  async close(): Promise<void> {
    if (!this.failed) await this.send({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
