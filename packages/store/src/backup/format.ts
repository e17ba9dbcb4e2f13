// The on-disk format of `tiermail store backup` (documented in docs/runbooks/backup.md):
//
//   <target>/<backupId>/<user>/manifest.json     written last: its presence = a complete user
//   <target>/<backupId>/<user>/m/<n>.eml         message bodies copied by this backup
//   <target>/state/<user>.json                   what the last backup of the user held, for
//                                                the next incremental one
//
// A manifest lists every message of every mailbox with flags and date; `in` names the backup
// that holds the body (this one, or an earlier one for an incremental backup), so restoring
// from any backup needs that backup and the ones it refers to.
import { z } from 'zod';

export const BACKUP_FORMAT = 1;

const messageSchema = z.object({
  uid: z.number().int().positive(),
  flags: z.array(z.string()),
  internalDate: z.string(),
  size: z.number().int().min(0),
  /** Backup id holding the body, and its file under <that backup>/<user>/. */
  in: z.string(),
  file: z.string(),
});

const mailboxSchema = z.object({
  name: z.string(),
  uidValidity: z.number().int(),
  specialUse: z.string().nullable(),
  subscribed: z.boolean(),
  acl: z.array(z.object({ identifier: z.string(), rights: z.string() })),
  messages: z.array(messageSchema),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  user: z.string(),
  backupId: z.string(),
  kind: z.enum(['full', 'incremental']),
  takenAt: z.string(),
  subscriptions: z.array(z.string()),
  mailboxes: z.array(mailboxSchema),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupMailbox = z.infer<typeof mailboxSchema>;

/** Per mailbox (name + UIDVALIDITY): where each UID's body already is. */
export const stateSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  backupId: z.string(),
  bodies: z.record(z.string(), z.record(z.string(), z.object({ in: z.string(), file: z.string() }))),
});

export type BackupState = z.infer<typeof stateSchema>;

export const mailboxKey = (name: string, uidValidity: number): string => `${uidValidity}:${name}`;

/** A backup id that sorts by time: 20261124T225901Z-full. */
export function newBackupId(now: Date, kind: 'full' | 'incremental'): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${kind === 'full' ? 'full' : 'incr'}`;
}

/** User directory names: the canonical user is safe as a name (no slash, no control). */
export const userDirName = (user: string): string => user;
