/**
 * The spool's writer thread: runs the one committer (spool-writer.ts) on its own connection, so that the fsync
 * of a group commit does not stop the bridge's event loop. Started by spool.ts from the compiled file next to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openSpoolConnection, type SpoolConnectionOptions } from './spool-schema.js';
import { type BatchMessage, decodeBatch, SpoolCommitter } from './spool-writer.js';

const data = workerData as { path: string; reservePath?: string; connection: SpoolConnectionOptions };
const db = openSpoolConnection(new Database(data.path, { timeout: 10_000 }), data.connection);
const committer = new SpoolCommitter(db, data.reservePath);

parentPort!.on('message', (m: BatchMessage) => {
  const result = committer.commit(decodeBatch(m));
  // the texts buffer goes back for the next batch (SQLite copied what it stored)
  parentPort!.postMessage({ id: m.id, result, texts: m.texts }, [m.texts]);
});
