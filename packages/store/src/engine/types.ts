// The engine's public data shapes. Protocol layers (LMTP, IMAP, POP3, admin) see only these,
// never SQLite rows or file paths other than a message's readable path.

export interface DeliveryRecipient {
  /** Canonical "uid@domain" (domain in lower case); the LMTP layer resolves bare names. */
  user: string;
  /** From user+folder@domain: delivered there only if that mailbox exists, else to INBOX. */
  folder?: string;
  /** From the directory via the relay. Above 0: the limit; 0: no limit; -1 or absent: unknown,
   * use the value cached in the user's database (unlimited until one is learnt). */
  quotaBytes?: number;
  /** As quotaBytes, counting messages. */
  quotaMessages?: number;
  /** Relay queue id + recipient. A repeat within store.dedupWindowHours is answered
   * 'duplicate' and nothing is stored. */
  deliveryId?: string;
}

export type DeliveryOutcome =
  | { status: 'stored'; uidValidity: number; uid: number; folder: string; quotaWarning?: boolean }
  | { status: 'duplicate'; uidValidity?: number; uid?: number; folder?: string }
  /** 452 4.2.2, or 552 5.2.2 (permanent) once over quota for longer than the grace period. */
  | { status: 'over-quota'; permanent: boolean }
  /** The message alone is bigger than the quota: 552 5.2.3. */
  | { status: 'too-large' }
  /** The recipient's partition is above its high-water mark: 452 4.3.1. */
  | { status: 'partition-full' }
  /** 451 4.3.0. */
  | { status: 'io-error'; detail: string };

export interface DeliverOptions {
  /** INTERNALDATE of the stored message; now when absent. */
  internalDate?: Date;
  /** Flags and keywords set at delivery (APPEND; Sieve later). System flags start with "\". */
  flags?: string[];
  /** Store even when over quota: for the quota warning message itself. */
  bypassQuota?: boolean;
}

export interface MailboxInfo {
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  specialUse: string | null;
  subscribed: boolean;
}

export interface MailboxStatus {
  name: string;
  messages: number;
  unseen: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
  sizeBytes: number;
}

export interface MessageInfo {
  uid: number;
  flags: string[];
  size: number;
  internalDate: Date;
  modseq: number;
}

export interface MessageFile {
  /** Readable path of the immutable body; open it before an expunge may unlink it. */
  path: string;
  size: number;
}

export type FlagMode = 'add' | 'remove' | 'replace';

/** A user's mailboxes at one instant (backup): taken in one read transaction. */
export interface UserSnapshot {
  user: string;
  takenAt: Date;
  subscriptions: string[];
  mailboxes: Array<
    MailboxInfo & {
      acl: Array<{ identifier: string; rights: string }>;
      /** With the readable path of each body (immutable; copy it before an expunge unlinks it). */
      messages: Array<MessageInfo & { path: string }>;
    }
  >;
}

/** What changed in a user's mailboxes (MessageStoreOptions.onChange): IDLE wake-ups, events. */
export type StoreChange =
  | { kind: 'flags'; mailbox: string; updated: MessageInfo[]; before: Map<number, string[]> }
  | { kind: 'expunged'; mailbox: string; uids: number[] }
  | { kind: 'delivered' }
  | { kind: 'copied'; mailbox: string; uids: number[] }
  /** Mail had been refused for quota, and removals brought the user back under it. */
  | { kind: 'under-quota' };

export interface CopyResult {
  ok: boolean;
  /** UIDVALIDITY of the destination (COPYUID). */
  uidValidity: number;
  /** [source UID, new UID] in source UID order. */
  copied: Array<[number, number]>;
  /** Why the copy stopped (ok false): over quota, partition full, I/O. */
  failure?: DeliveryOutcome;
}

export interface SetFlagsResult {
  /** Messages whose flags changed (new flags and MODSEQ). */
  updated: MessageInfo[];
  /** UIDs refused by UNCHANGEDSINCE (RFC 7162 MODIFIED). */
  modified: number[];
  /** Flags of each updated message before the change (events tell ReadMsg from UpdateMsg). */
  before: Map<number, string[]>;
}

export interface QuotaInfo {
  usedBytes: number;
  usedMessages: number;
  /** -1: no limit known. */
  limitBytes: number;
  limitMessages: number;
  /** Epoch ms of the first refusal of the current over-quota period, or null. */
  overQuotaSince: number | null;
}

export interface PartitionStat {
  partition: string;
  path: string;
  users: number;
  messages: number;
  /** Logical bytes (sum of message sizes per user; single-instance copies counted per user). */
  bytes: number;
  diskUsedPercent: number;
}

export interface IntegrityReport {
  user: string;
  ok: boolean;
  /** Inconsistencies that make the database wrong (reconstruct fixes them). */
  problems: string[];
  /** Leftovers that are harmless (orphan links of unacknowledged deliveries). */
  warnings: string[];
}

export interface ReconstructReport {
  user: string;
  /** 'repair': the database was sound and was checked against the files; 'rebuild': it was
   * missing or corrupt and was rebuilt from the files (UIDVALIDITY of every mailbox raised). */
  mode: 'repair' | 'rebuild';
  mailboxes: number;
  messages: number;
  /** Rows dropped because their file was gone. */
  missingFiles: number;
  /** Files without a row that were removed (repair) or adopted (rebuild). */
  orphans: number;
}

export interface GcReport {
  partition: string;
  objectsRemoved: number;
  tempFilesRemoved: number;
}
