// Directory failures, neutral until a protocol maps them: the relay answers `code` + `text`
// (451 4.4.3 is "directory server failure, try later" in RFC 3463 terms), the MMP says
// "try again later", the CLI prints the message. A lookup that finds nothing is not an error
// (find* return null); only the get* variants throw DirectoryNotFoundError.

export abstract class DirectoryError extends Error {
  /** SMTP reply code and enhanced status a relay should answer with. */
  abstract readonly code: string;
  /** Short text safe to show a remote client (no host names, no DNs). */
  abstract readonly text: string;
}

export interface FailedAttempt {
  url: string;
  error: string;
}

/** Every configured server failed or timed out; try again later. */
export class DirectoryUnavailableError extends DirectoryError {
  override readonly name = 'DirectoryUnavailableError';
  readonly code = '451 4.4.3';
  readonly text = 'Directory server unavailable, try again later';
  /** What went wrong on each server tried, in order (for the log, not for clients). */
  readonly attempts: readonly FailedAttempt[];

  constructor(operation: string, attempts: readonly FailedAttempt[]) {
    const detail = attempts.map((a) => `${a.url}: ${a.error}`).join('; ');
    super(`directory ${operation} failed on every server${detail ? ` (${detail})` : ''}`);
    this.attempts = attempts;
  }
}

export type DirectoryKind = 'user' | 'group' | 'domain' | 'entry';

/** Thrown by get* lookups only. */
export class DirectoryNotFoundError extends DirectoryError {
  override readonly name = 'DirectoryNotFoundError';
  readonly code = '550 5.1.1';
  readonly text = 'No such user or address';
  constructor(
    readonly kind: DirectoryKind,
    readonly key: string,
  ) {
    super(`no ${kind} ${key} in the directory`);
  }
}

/**
 * The directory answered, but with something tiermail cannot act on safely: two entries
 * claiming one address, or an entry missing what it needs. Retrying does not help until an
 * operator fixes the data, yet mail must not be lost meanwhile, hence a temporary code
 * (RFC 3463 4.3.5: system incorrectly configured).
 */
export class DirectoryDataError extends DirectoryError {
  override readonly name = 'DirectoryDataError';
  readonly code = '451 4.3.5';
  readonly text = 'Directory configuration error, try again later';
  constructor(
    message: string,
    readonly dns: readonly string[] = [],
  ) {
    super(message);
  }
}
