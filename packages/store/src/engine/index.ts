// The storage engine's public surface: protocol layers and the CLI import from here only.
export { MessageStore, type MessageStoreOptions } from './message-store.js';
export { UserMailbox, type AclEntry } from './user-mailbox.js';
export { StoreError, type StoreErrorKind } from './errors.js';
export { DEFAULT_ORPHAN_GRACE_MS } from './reconstruct.js';
export { DEFAULT_GC_MIN_AGE_MS } from './gc.js';
export type {
  CopyResult,
  DeliverOptions,
  DeliveryOutcome,
  DeliveryRecipient,
  FlagMode,
  GcReport,
  IntegrityReport,
  MailboxInfo,
  MailboxStatus,
  MessageFile,
  MessageInfo,
  PartitionStat,
  QuotaInfo,
  ReconstructReport,
  SetFlagsResult,
  StoreChange,
  UserSnapshot,
} from './types.js';
