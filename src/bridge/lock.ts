/** One bridge per spool: a lock file holding the owner's pid; a stale lock (dead pid, e.g. after SIGKILL) is taken over. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TpxError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockSpool(dir: string): () => void {
  const path = join(dir, 'bridge.lock');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new TpxError('TPX_SPOOL_OPEN', `Cannot create the spool directory ${dir}: ${(err as Error).message}`, {
      fix: { id: 'spool-dir-writable' },
      details: { setting: 'spoolDir' },
    });
  }
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new TpxError('TPX_SPOOL_LOCKED', `Another bridge (pid ${pid}) uses the spool ${dir}.`, {
          fix: { id: 'spool-locked' },
          details: { setting: 'spoolDir', pid },
        });
      }
      rmSync(path, { force: true });
    }
  }
  throw new TpxError('TPX_SPOOL_LOCKED', `Cannot lock the spool ${dir}.`, { fix: 'Check the directory permissions.' });
}
