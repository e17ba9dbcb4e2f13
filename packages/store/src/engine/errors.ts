// Neutral error kinds: the engine says what went wrong, each protocol maps the kind to its own
// reply in one place (IMAP NO [NONEXISTENT], LMTP 451 4.3.0, CLI exit codes).

export type StoreErrorKind =
  | 'notFound'
  | 'exists'
  | 'invalidName'
  | 'invalidUser'
  | 'hasChildren'
  | 'notAllowed'
  | 'io';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED');
}
