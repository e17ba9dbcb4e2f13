// The per-user database. One file per user keeps a user's lock, corruption and restore
// independent of every other user. Mailboxes point at a random directory name, so renaming a
// mailbox never moves a file.

export const SCHEMA_VERSION = 1;

export const USER_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS mailboxes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  dir TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  -- Next UID to hand out. Only ever grows: reservations that fail leave gaps, never reuse.
  uidnext INTEGER NOT NULL,
  highestmodseq INTEGER NOT NULL,
  special_use TEXT,
  created INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  -- Space-separated, sorted; system flags keep their backslash.
  flags TEXT NOT NULL DEFAULT '',
  modseq INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);

-- Expunged UIDs with the MODSEQ of their removal, for QRESYNC VANISHED.
CREATE TABLE IF NOT EXISTS expunged (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;

-- By name: RFC 3501 lets a client subscribe to a name that does not exist (yet).
CREATE TABLE IF NOT EXISTS subscriptions (
  name TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS acl (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  identifier TEXT NOT NULL,
  rights TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, identifier)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS quota (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  used_bytes INTEGER NOT NULL DEFAULT 0,
  used_messages INTEGER NOT NULL DEFAULT 0,
  -- Last limits the relay passed; -1 = none known.
  limit_bytes INTEGER NOT NULL DEFAULT -1,
  limit_messages INTEGER NOT NULL DEFAULT -1,
  over_since INTEGER,
  warned_at INTEGER
);
INSERT OR IGNORE INTO quota (id) VALUES (1);

-- Delivery ids (hashed), written in the same transaction as the message row: a message is
-- committed if and only if its id is, which is what makes relay retries exactly-once.
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  mailbox_id INTEGER,
  uid INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_at ON deliveries (at);
`;

export const REGISTRY_SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  user TEXT PRIMARY KEY,
  partition TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS users_partition ON users (partition);
-- Which mailboxes are shared with whom (derived from the owners' ACLs, kept in step by
-- MessageStore.syncShares), so "Other Users" can be listed without opening every user.
CREATE TABLE IF NOT EXISTS shares (
  grantee TEXT NOT NULL,
  owner TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  PRIMARY KEY (grantee, owner, mailbox)
) WITHOUT ROWID;
`;
