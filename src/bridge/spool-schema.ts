/**
 * The spool's tables and their version (`PRAGMA user_version`). Version 2 keeps each report as ThingPark sent it
 * (`document`: the body's text, `query`: the raw query string). Version 3 keeps the dedup and replay memory as a
 * log, one `memory` row per group commit (a JSON list of entries, spool-writer.ts's MemoryEntry), instead of a
 * `dedup` row per (DevEUI, FCntUp) and a `tokens` row per token: two writes at random places of two B-trees per
 * report became one row appended per group. Older spools are migrated in place when opened: version 0 (tpx ≤ 0.1:
 * no version, a `body` column holding tpx's internal report model as JSON) gets its `document` field as the
 * document text and '' as the query it did not keep; the `dedup` and `tokens` rows of versions 0 and 2 become
 * `memory` rows.
 */
import type Database from 'better-sqlite3';

export const SPOOL_SCHEMA_VERSION = 3;

export interface SpoolConnectionOptions {
  durability?: 'full' | 'normal';
  walLimitBytes?: number;
  maxPageCount?: number;
}

/** The pragmas of every spool connection (the reader and the writer thread's). */
export function openSpoolConnection(db: Database.Database, o: SpoolConnectionOptions): Database.Database {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${o.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma(`journal_size_limit = ${o.walLimitBytes ?? 16 * 1024 * 1024}`);
  db.pragma('wal_autocheckpoint = 1000');
  if (o.maxPageCount) db.pragma(`max_page_count = ${o.maxPageCount}`);
  return db;
}

const TABLES = `
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        document TEXT NOT NULL,
        query TEXT NOT NULL,
        replay INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS memory (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        entries TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        document TEXT NOT NULL,
        query TEXT NOT NULL
      );
`;

/** The version 2 tables (kept to migrate from, and for the migration test). */
export const SPOOL_SCHEMA_V2 = `
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        document TEXT NOT NULL,
        query TEXT NOT NULL,
        replay INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS dedup (
        dev_eui TEXT NOT NULL,
        fcnt INTEGER NOT NULL,
        payload TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (dev_eui, fcnt)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS tokens (
        token TEXT PRIMARY KEY,
        seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        document TEXT NOT NULL,
        query TEXT NOT NULL
      );
`;

/** The version 0 tables (kept to migrate from, and for the migration test). */
export const SPOOL_SCHEMA_V0 = `
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        replay INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS dedup (
        dev_eui TEXT NOT NULL,
        fcnt INTEGER NOT NULL,
        payload TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (dev_eui, fcnt)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        body TEXT NOT NULL
      );
`;

/** The document text inside a version 0 body (`{"kind":…,"document":{…}}`). */
function documentOfV0(body: string): string {
  try {
    const doc = (JSON.parse(body) as { document?: unknown }).document;
    return doc && typeof doc === 'object' ? JSON.stringify(doc) : body;
  } catch {
    return body;
  }
}

export class SpoolVersionError extends Error {
  readonly code = 'TPX_SPOOL_VERSION';
  constructor(readonly got: number) {
    super(`The spool has format version ${got}; this tpx reads up to ${SPOOL_SCHEMA_VERSION}.`);
    this.name = 'SpoolVersionError';
  }
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
}

function hasTable(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** The `dedup` and `tokens` rows of an older spool as `memory` rows (entries in time order, 10,000 a row). */
function moveMemoryRows(db: Database.Database): void {
  const entries: [number, unknown[]][] = [];
  if (hasTable(db, 'dedup')) {
    for (const r of db.prepare('SELECT dev_eui, fcnt, payload, seen_at FROM dedup').all() as Record<string, never>[])
      entries.push([r.seen_at, [0, r.dev_eui, r.fcnt, r.payload, r.seen_at]]);
    db.exec('DROP TABLE dedup');
  }
  if (hasTable(db, 'tokens')) {
    for (const r of db.prepare('SELECT token, seen_at FROM tokens').all() as Record<string, never>[])
      entries.push([r.seen_at, [1, r.token, r.seen_at]]);
    db.exec('DROP TABLE tokens');
  }
  entries.sort((a, b) => a[0] - b[0]);
  const ins = db.prepare('INSERT INTO memory (at, entries) VALUES (?, ?)');
  for (let i = 0; i < entries.length; i += 10_000) {
    const chunk = entries.slice(i, i + 10_000);
    const at = chunk.at(-1)![0];
    // times as ms before the row's `at` (spool-writer.ts's MemoryEntry)
    ins.run(at, JSON.stringify(chunk.map(([t, e]) => [...e.slice(0, -1), at - t])));
  }
}

/** Creates the tables, or migrates an older spool to the current version (one transaction). */
export function migrateSpool(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SPOOL_SCHEMA_VERSION) return;
  if (version > SPOOL_SCHEMA_VERSION) throw new SpoolVersionError(version);
  db.transaction(() => {
    const old = hasColumn(db, 'messages', 'body');
    if (old) {
      db.exec('ALTER TABLE messages RENAME TO messages_v0; ALTER TABLE dead_letters RENAME TO dead_letters_v0;');
      db.exec('DROP INDEX IF EXISTS messages_replay');
    }
    db.exec(TABLES);
    if (old) {
      const ins = db.prepare(
        'INSERT INTO messages (seq, dev_eui, kind, received_at, document, query, replay) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const r of db.prepare('SELECT * FROM messages_v0 ORDER BY seq').all() as Record<string, unknown>[]) {
        ins.run(r.seq, r.dev_eui, r.kind, r.received_at, documentOfV0(r.body as string), '', r.replay);
      }
      const dl = db.prepare(
        `INSERT INTO dead_letters (id, seq, dev_eui, kind, received_at, failed_at, reason, document, query)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const r of db.prepare('SELECT * FROM dead_letters_v0 ORDER BY id').all() as Record<string, unknown>[]) {
        dl.run(
          r.id,
          r.seq,
          r.dev_eui,
          r.kind,
          r.received_at,
          r.failed_at,
          r.reason,
          documentOfV0(r.body as string),
          '',
        );
      }
      db.exec('DROP TABLE messages_v0; DROP TABLE dead_letters_v0;');
    }
    moveMemoryRows(db);
    db.pragma(`user_version = ${SPOOL_SCHEMA_VERSION}`);
  })();
}
