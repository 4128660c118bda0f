/**
 * One bridge per spool, held by SQLite's own file locking: the bridge keeps an exclusive transaction open on
 * `spool.lock` (a tiny SQLite database) for as long as it runs. The operating system releases the lock when the
 * process ends, however it ends (SIGKILL, power cut), so a dead owner never blocks; two live bridges, in one
 * process or two, never share a spool. The lock says nothing about the owner's pid, so no pid is ever trusted.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TpxError } from '../errors.js';
import { privateDir, privateFile } from './spool.js';

export const LOCK_FILE = 'spool.lock';

export function lockSpool(dir: string): () => void {
  privateDir(dir);
  const path = join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    privateFile(path);
    db = new Database(path, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM owner').run();
    db.prepare('INSERT INTO owner (pid) VALUES (?)').run(process.pid);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new TpxError('TPX_SPOOL_LOCKED', `Another bridge uses the spool ${dir}.`, {
        fix: { id: 'spool-locked' },
        details: { setting: 'spoolDir', path: dir },
      });
    }
    throw new TpxError('TPX_SPOOL_OPEN', `Cannot lock the spool ${dir}: ${(err as Error).message}`, {
      fix: { id: 'spool-dir-writable' },
      details: { setting: 'spoolDir', path: dir },
      cause: err,
    });
  }
  // the pid lock file of tpx ≤ 0.1 means nothing any more
  rmSync(join(dir, 'bridge.lock'), { force: true });
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      db.exec('ROLLBACK');
    } finally {
      db.close();
    }
  };
}
