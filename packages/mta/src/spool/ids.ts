// Spool ids: unique across the SMTP worker processes of one relay and sortable by arrival,
// so a directory listing is roughly oldest first. Base36 milliseconds (9 characters until
// the year 5188) followed by 40 random bits; no ':' or '/' so an id is safe in a file name,
// a bullmq job id and a mail.log record.
import { randomBytes } from 'node:crypto';

export function newSpoolId(now = Date.now()): string {
  return `${now.toString(36).toUpperCase().padStart(9, '0')}${randomBytes(5).toString('hex').toUpperCase()}`;
}

const ID_PATTERN = /^[0-9A-Z]{9}[0-9A-F]{10}$/;

export function isSpoolId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** The spool subdirectory of an id: its last two hex digits (256 directories). */
export function shardOf(id: string): string {
  return id.slice(-2).toLowerCase();
}
