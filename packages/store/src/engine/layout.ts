// Where things live on disk. One place computes every path so no caller ever joins a user- or
// client-supplied string onto a directory: user names are escaped and hashed, mailbox
// directories are random ids, message file names are built from numbers only.
//
//   <partition>/objects/<2 hex>/<object id>     single-instance bodies (the partition's link)
//   <partition>/tmp/                            LMTP spool and staging (same file system)
//   <partition>/users/<h1>/<h2>/<escaped user>/meta.sqlite (+ -wal, -shm)
//   <partition>/users/<h1>/<h2>/<escaped user>/mail/<mailbox dir>/.mailbox.json
//   <partition>/users/<h1>/<h2>/<escaped user>/mail/<mailbox dir>/<message file>
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from './errors.js';

export const USER_DB_FILE = 'meta.sqlite';
export const MAIL_DIR = 'mail';
export const MAILBOX_SIDECAR = '.mailbox.json';
const MAX_USER_LENGTH = 320;

/** Checks a canonical "uid@domain" and returns it with the domain in lower case. */
export function canonicalUser(user: string): string {
  const at = user.lastIndexOf('@');
  if (at <= 0 || at === user.length - 1) throw new StoreError('invalidUser', `user ${JSON.stringify(user)} is not uid@domain`);
  if (user.length > MAX_USER_LENGTH) throw new StoreError('invalidUser', 'user name too long');
  for (let i = 0; i < user.length; i++) {
    const c = user.charCodeAt(i);
    if (c < 0x21 || c === 0x7f || c === 0x2f || c === 0x5c) {
      throw new StoreError('invalidUser', `user ${JSON.stringify(user)} has a space, control character or slash`);
    }
  }
  return user.slice(0, at) + '@' + user.slice(at + 1).toLowerCase();
}

/**
 * A user name as one safe directory name: [a-z0-9@._+=-] stay, anything else (upper case
 * included, so case-insensitive file systems cannot merge two users) becomes %XX of its UTF-8
 * bytes; a leading dot is escaped, so "." and ".." cannot happen. Long names are cut and
 * suffixed with a hash to stay under the 255-byte limit of a file name.
 */
export function escapeUserDirName(user: string): string {
  let out = '';
  for (const byte of Buffer.from(user, 'utf8')) {
    const ch = String.fromCharCode(byte);
    const plain = /[a-z0-9@._+=-]/.test(ch) && !(out === '' && ch === '.');
    out += plain ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  if (out.length > 200) out = out.slice(0, 160) + '~' + sha256Hex(user).slice(0, 32);
  return out;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** users/<h1>/<h2>/<escaped>: two hashed levels keep directories small with millions of users. */
export function userDirIn(partitionPath: string, user: string): string {
  const h = sha256Hex(user);
  return join(partitionPath, 'users', h.slice(0, 2), h.slice(2, 4), escapeUserDirName(user));
}

export function objectsDir(partitionPath: string): string {
  return join(partitionPath, 'objects');
}

export function tempDir(partitionPath: string): string {
  return join(partitionPath, 'tmp');
}

/** A new object id: time first so a listing sorts by age, then randomness for uniqueness
 * across processes without coordination. */
export function newObjectId(nowMs: number): string {
  return nowMs.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
}

export function objectPath(partitionPath: string, objectId: string): string {
  return join(objectsDir(partitionPath), objectId.slice(-2), objectId);
}

export function newMailboxDirName(): string {
  return randomBytes(8).toString('hex');
}

export function isMailboxDirName(name: string): boolean {
  return /^[0-9a-f]{16}$/.test(name);
}

/** Delivery ids are stored hashed: fixed size, no client text in file names. */
export function dedupKey(deliveryId: string): string {
  return sha256Hex(deliveryId).slice(0, 32);
}

// Message file names carry what reconstruct needs when the database is lost:
//   <uid>.<internal date, epoch ms>.<flags at delivery>.<dedup key>
// flags: letters S(een) A(nswered) F(lagged) D(raft) X (deleted), or "-"; keywords are not
// kept. dedup key: 32 hex of sha256(delivery id), or "-". The name is written by the same
// link() that makes the message exist, so it costs no extra write or fsync.
const FLAG_LETTERS: Array<[string, string]> = [
  ['\\Seen', 'S'],
  ['\\Answered', 'A'],
  ['\\Flagged', 'F'],
  ['\\Draft', 'D'],
  ['\\Deleted', 'X'],
];

export interface MessageFileName {
  uid: number;
  internalDateMs: number;
  flags: string[];
  dedupKey: string | null;
}

export function formatMessageFileName(m: MessageFileName): string {
  const wanted = new Set(m.flags.map((f) => f.toLowerCase()));
  const letters = FLAG_LETTERS.filter(([flag]) => wanted.has(flag.toLowerCase()))
    .map(([, l]) => l)
    .join('');
  return `${m.uid}.${Math.max(0, Math.trunc(m.internalDateMs))}.${letters || '-'}.${m.dedupKey ?? '-'}`;
}

export function parseMessageFileName(name: string): MessageFileName | null {
  const m = /^([1-9][0-9]{0,9})\.([0-9]{1,15})\.([SAFDX]+|-)\.([0-9a-f]{32}|-)$/.exec(name);
  if (!m) return null;
  const uid = Number(m[1]);
  if (uid > 0xffffffff) return null;
  const letters = m[3]!;
  const flags = FLAG_LETTERS.filter(([, l]) => letters.includes(l)).map(([flag]) => flag);
  return { uid, internalDateMs: Number(m[2]), flags, dedupKey: m[4] === '-' ? null : m[4]! };
}
