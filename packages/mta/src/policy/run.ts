// Runs the RCPT checks in order. A check that throws or runs past its time limit answers a
// temporary failure, never an accept: the sender retries, nothing is lost or let through.
import { DirectoryDataError, DirectoryUnavailableError } from '@tiermail/core';
import { replies, type SmtpReply } from '../smtp/replies.js';
import { localUserCheck } from './local-user.js';
import { relayCheck } from './relay.js';
import type { PolicyServices, RcptCheck, RcptContext, Verdict } from './types.js';

export const RCPT_CHECKS: readonly RcptCheck[] = [localUserCheck, relayCheck];

class PolicyTimeout extends Error {}

export function replyForError(err: unknown): SmtpReply {
  if (err instanceof DirectoryUnavailableError) return replies.directoryUnavailable();
  if (err instanceof DirectoryDataError) return replies.directoryData();
  if (err instanceof PolicyTimeout) return replies.policyTimeout();
  return replies.localError();
}

export async function runRcptChecks(
  ctx: RcptContext,
  services: PolicyServices,
  timeoutMs: number,
  checks: readonly RcptCheck[] = RCPT_CHECKS,
): Promise<Exclude<Verdict, { action: 'continue' }>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PolicyTimeout()), timeoutMs);
  });
  try {
    for (const c of checks) {
      let v: Verdict;
      try {
        v = await Promise.race([c.check(ctx, services), deadline]);
      } catch (err) {
        services.logger.warn({ err, check: c.name, rcpt: ctx.address }, 'RCPT check failed; answering a temporary error');
        return { action: 'reject', reply: replyForError(err) };
      }
      if (v.action !== 'continue') return v;
    }
    return { action: 'reject', reply: replies.relayDenied(ctx.address) };
  } finally {
    clearTimeout(timer);
  }
}
