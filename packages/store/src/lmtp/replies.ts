// Per-recipient LMTP answers after DATA, with the codes of the seeds' LMTP table (003 ch. 7)
// as the issue fixed them. One place, so the relay's reading of them has one source to match.
import type { DataProblem } from '@tiermail/core';
import type { DeliveryOutcome } from '../engine/index.js';
import type { Envelope, LmtpRecipient } from './session.js';

const problemText: Record<DataProblem, string> = {
  nul: 'message contains NUL',
  'bare-lf': 'message contains a bare LF',
  'bare-cr': 'message contains a bare CR',
  'bad-header': 'message has a malformed header line',
  'no-blank-line': 'message has no blank line between header and body',
};

export function malformedReply(rcpt: LmtpRecipient, problem: DataProblem): string {
  return `554 5.6.0 <${rcpt.address}> Malformed message: ${problemText[problem]}`;
}

export function tooLargeReply(rcpt: LmtpRecipient, limit: number): string {
  return `552 5.2.3 <${rcpt.address}> Message exceeds the size limit of ${limit} bytes`;
}

function uidTag(env: Envelope, uidValidity: number | undefined, uid: number | undefined, folder: string | undefined): string {
  if (!env.uidRet || uidValidity === undefined || uid === undefined) return '';
  return ` <${uidValidity}:${uid}:${folder ?? 'INBOX'}>`;
}

export function outcomeReply(env: Envelope, rcpt: LmtpRecipient, outcome: DeliveryOutcome): string {
  const who = `<${rcpt.address}>`;
  switch (outcome.status) {
    case 'stored':
      return `250 2.1.5${uidTag(env, outcome.uidValidity, outcome.uid, outcome.folder)} ${who} Delivered`;
    case 'duplicate':
      return `250 2.1.5${uidTag(env, outcome.uidValidity, outcome.uid, outcome.folder)} ${who} Already delivered (same delivery id)`;
    case 'over-quota':
      return outcome.permanent
        ? `552 5.2.2 ${who} Mailbox over quota for longer than the grace period`
        : `452 4.2.2 ${who} Mailbox over quota`;
    case 'too-large':
      return `552 5.2.3 ${who} Message larger than the mailbox quota`;
    case 'partition-full':
      return `452 4.3.1 ${who} Mail store partition full; try later`;
    case 'io-error':
      return `451 4.3.0 ${who} Temporary store I/O error; try later`;
  }
}
