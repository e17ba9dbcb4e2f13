// RFC 3464 delivery status notifications, as bytes: a multipart/report with a human part, the
// machine-readable message/delivery-status part, and the returned message (whole, or its
// header for RET=HDRS and for messages over the size limit). Pure: no spool, no clock.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../smtp/received.js';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
export type DsnKind = 'failure' | 'delay' | 'success';

export interface DsnRecipient {
  /** The address the relay tried (uid@domain or the remote address). */
  finalRecipient: string;
  /** RCPT ORCPT= as given ("rfc822;x@y"), or the address given at RCPT. */
  originalRecipient?: string;
  action: DsnAction;
  /** RFC 3463 status, "5.1.1". */
  status: string;
  remoteMta?: string;
  /** The remote answer, "550 5.1.1 no such user". */
  diagnostic?: string;
  lastAttempt?: Date;
  willRetryUntil?: Date;
}

export interface DsnInput {
  kind: DsnKind;
  /** Our host name (Reporting-MTA, From domain, Message-ID). */
  reportingMta: string;
  queueId: string;
  envid?: string;
  arrivalDate: Date;
  /** Envelope sender of the original message: the DSN's recipient. */
  to: string;
  recipients: DsnRecipient[];
  /** The original message, or as much of it as was read. */
  original: Buffer;
  /** The original is complete (not cut at the size limit). */
  originalComplete: boolean;
  ret: 'FULL' | 'HDRS';
  now: Date;
}

const SUBJECTS: Record<DsnKind, string> = {
  failure: 'Undelivered Mail Returned to Sender',
  delay: 'Delayed Mail (still being retried)',
  success: 'Successful Mail Delivery Report',
};

const INTRO: Record<DsnKind, string> = {
  failure: 'Your message could not be delivered to one or more recipients. It is attached below.\nThe answers of the receiving systems follow.',
  delay: 'Your message has not been delivered yet to the recipients below. Delivery is still being\ntried; you do not need to send it again. You will be told if it finally fails.',
  success: 'Your message was delivered to the recipients below, as you asked to be told.',
};

/** The RFC 3463 code in an SMTP answer, or one derived from its class. */
export function statusOf(answer: string): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(answer);
  if (m) return m[1]!;
  const c = answer.charAt(0);
  return c === '2' || c === '4' || c === '5' ? `${c}.0.0` : '5.0.0';
}

/** The header part of a message: up to and including the blank line that ends it. */
export function headerPart(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  if (crlf >= 0) return message.subarray(0, crlf + 4);
  const lf = message.indexOf('\n\n');
  if (lf >= 0) return message.subarray(0, lf + 2);
  return message;
}

function has8bit(b: Buffer): boolean {
  for (const x of b) if (x > 0x7f) return true;
  return false;
}

function field(name: string, value: string | undefined): string {
  // A value must not break the report's own structure: no line breaks from a remote answer.
  return value === undefined ? '' : `${name}: ${value.replace(/[\r\n]+/g, ' ')}\r\n`;
}

function recipientFields(r: DsnRecipient): string {
  return [
    r.originalRecipient ? field('Original-Recipient', r.originalRecipient.includes(';') ? r.originalRecipient : `rfc822; ${r.originalRecipient}`) : '',
    field('Final-Recipient', `rfc822; ${r.finalRecipient}`),
    field('Action', r.action),
    field('Status', r.status),
    r.remoteMta ? field('Remote-MTA', `dns; ${r.remoteMta}`) : '',
    r.diagnostic ? field('Diagnostic-Code', `smtp; ${r.diagnostic}`) : '',
    r.lastAttempt ? field('Last-Attempt-Date', rfc5322Date(r.lastAttempt)) : '',
    r.willRetryUntil ? field('Will-Retry-Until', rfc5322Date(r.willRetryUntil)) : '',
  ].join('');
}

export interface BuiltDsn {
  content: Buffer;
  messageId: string;
  /** The report carries 8-bit data (from the returned message): send with BODY=8BITMIME. */
  eightBit: boolean;
}

export function buildDsn(input: DsnInput): BuiltDsn {
  const boundary = `${input.queueId}/${randomBytes(6).toString('hex')}/${input.reportingMta}`;
  const messageId = `<${input.queueId}.dsn.${randomBytes(4).toString('hex')}@${input.reportingMta}>`;
  const headersOnly = input.ret === 'HDRS' || !input.originalComplete;
  const returned = headersOnly ? headerPart(input.original) : input.original;
  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    INTRO[input.kind],
    '',
    ...input.recipients.map((r) => `<${r.finalRecipient}>: ${(r.diagnostic ?? r.action).replace(/[\r\n]+/g, ' ')}`),
    ...(headersOnly && input.ret === 'FULL' ? ['', 'The message was too large to return whole; its header is attached.'] : []),
    '',
  ]
    .join('\n')
    .replace(/\r?\n/g, '\r\n');
  const perMessage = [
    field('Reporting-MTA', `dns; ${input.reportingMta}`),
    field('X-Tiermail-Queue-ID', input.queueId),
    input.envid ? field('Original-Envelope-Id', input.envid) : '',
    field('Arrival-Date', rfc5322Date(input.arrivalDate)),
  ].join('');
  const head = [
    field('From', `Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`),
    field('To', `<${input.to}>`),
    field('Subject', SUBJECTS[input.kind]),
    field('Date', rfc5322Date(input.now)),
    field('Message-ID', messageId),
    field('Auto-Submitted', 'auto-replied'),
    field('MIME-Version', '1.0'),
    field('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`),
    '\r\n',
  ].join('');
  const parts = [
    head,
    'This is a MIME-encapsulated message.\r\n\r\n',
    `--${boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${human}\r\n`,
    `--${boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n${perMessage}`,
    ...input.recipients.map((r) => `\r\n${recipientFields(r)}`),
    `\r\n--${boundary}\r\nContent-Description: ${headersOnly ? 'Undelivered Message Headers' : 'Undelivered Message'}\r\n`,
    `Content-Type: ${headersOnly ? 'text/rfc822-headers' : 'message/rfc822'}\r\n`,
    has8bit(returned) ? 'Content-Transfer-Encoding: 8bit\r\n' : '',
    '\r\n',
  ];
  const tail = `${returned.length > 0 && !returned.subarray(-2).equals(Buffer.from('\r\n')) ? '\r\n' : ''}\r\n--${boundary}--\r\n`;
  return {
    content: Buffer.concat([Buffer.from(parts.join(''), 'latin1'), returned, Buffer.from(tail, 'latin1')]),
    messageId,
    eightBit: has8bit(returned),
  };
}
