// Every refusal the relay gives, in one place, each a named constructor with its RFC 3463
// enhanced status code (as haraka-dsn does). smtp-server sends `err.responseCode` and
// `err.message`; the message here starts with the enhanced code (see enhanced-codes.ts).
export class SmtpReply extends Error {
  override readonly name = 'SmtpReply';
  constructor(
    readonly responseCode: number,
    readonly enhanced: string,
    readonly text: string,
  ) {
    super(`${enhanced} ${text}`);
  }

  /** "550 5.1.1 No such user", as written to mail.log. */
  override toString(): string {
    return `${this.responseCode} ${this.enhanced} ${this.text}`;
  }

  get temporary(): boolean {
    return this.responseCode >= 400 && this.responseCode < 500;
  }
}

export const replies = {
  noSuchUser: (addr: string) => new SmtpReply(550, '5.1.1', `<${addr}>: No such user here`),
  noMembers: (addr: string) => new SmtpReply(550, '5.1.1', `<${addr}>: Group has no deliverable members`),
  disabled: (addr: string) => new SmtpReply(550, '5.2.1', `<${addr}>: Mailbox disabled, not accepting messages`),
  notBroadcaster: (addr: string) => new SmtpReply(550, '5.7.1', `<${addr}>: Not authorized to send to this group`),
  relayDenied: (addr: string) => new SmtpReply(550, '5.7.1', `<${addr}>: Relaying denied`),
  badAddress: (addr: string) => new SmtpReply(501, '5.1.3', `<${addr}>: Bad recipient address syntax`),
  directoryUnavailable: () => new SmtpReply(451, '4.4.3', 'Directory server unavailable, try again later'),
  /** A directory answer the relay cannot act on safely (duplicate entries ...). */
  directoryData: () => new SmtpReply(451, '4.3.5', 'Directory configuration error, try again later'),
  policyTimeout: () => new SmtpReply(451, '4.4.3', 'Recipient check timed out, try again later'),
  localError: () => new SmtpReply(451, '4.3.0', 'Local error in processing, try again later'),
  tooManyRecipients: () => new SmtpReply(452, '4.5.3', 'Too many recipients'),
  tooBig: (max: number) => new SmtpReply(552, '5.3.4', `Message size exceeds fixed maximum message size (${max} bytes)`),
  loop: (count: number) => new SmtpReply(554, '5.4.6', `Mail loop detected: ${count} Received headers`),
  empty: () => new SmtpReply(554, '5.6.0', 'Message is empty'),
  malformed: (why: string) => new SmtpReply(554, '5.6.0', `Malformed message: ${why}`),
  authRequired: () => new SmtpReply(530, '5.7.0', 'Authentication required'),
  authFailed: () => new SmtpReply(535, '5.7.8', 'Authentication credentials invalid'),
  authUnavailable: () => new SmtpReply(454, '4.7.0', 'Temporary authentication failure, try again later'),
  encryptionRequired: () => new SmtpReply(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  senderNotOwned: (addr: string, user: string) => new SmtpReply(553, '5.7.1', `<${addr}>: Sender address not owned by ${user}`),
  tooManyConnections: () => new SmtpReply(421, '4.7.0', 'Too many connections from your address, try again later'),
  shuttingDown: () => new SmtpReply(421, '4.3.2', 'Service shutting down, try again later'),
} as const;
