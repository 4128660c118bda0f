/** The spool's tables: reports waiting for delivery, the dedup window, and dead letters. */
export const SPOOL_SCHEMA = `
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        replay INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS messages_replay ON messages(replay) WHERE replay = 1;
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
