// One lmtp job: the pending recipients of one spooled message on one store, in one LMTP
// transaction with a delivery id per recipient; a 423 (the mailbox moved to another store)
// sends the recipient there at once; delivery/apply.ts does the rest.
import { encodeXtext, type Config, type Directory } from '@tiermail/core';
import type { ConnectionPool } from '../client/pool.js';
import { runDelivery, temporary, type Answer, type DeliveryDeps, type DeliveryOutcome } from '../delivery/apply.js';
import type { JobData } from '../queue/names.js';
import type { SpoolRecipient } from '../queue/recipient.js';
import { lmtpAddressOf } from '../settings.js';

export interface LmtpDeliveryDeps extends DeliveryDeps {
  config: Config;
  pool: ConnectionPool;
  directory: Directory;
}

/**
 * The quota may have changed since the message was accepted (an operator raised it for a user
 * whose mail is waiting on 452): ask the directory again, keep the spooled value if it is down.
 */
async function refreshQuota(dir: Directory, r: SpoolRecipient): Promise<void> {
  const at = r.to.lastIndexOf('@');
  try {
    const user = await dir.findUserByUid(r.to.slice(0, at), r.to.slice(at + 1));
    if (!user) return;
    r.quotaBytes = user.effectiveQuotaBytes ?? -1;
    r.quotaMessages = user.effectiveQuotaMessages ?? -1;
  } catch {
    // the spooled quota stands
  }
}

export async function deliverLmtpJob(deps: LmtpDeliveryDeps, job: JobData): Promise<DeliveryOutcome> {
  return runDelivery(deps, job, async (env, targets) => {
    await Promise.all(targets.map((r) => refreshQuota(deps.directory, r)));
    const addr = lmtpAddressOf(deps.config, job.destination);
    const remote = `${job.destination} [${addr.host}]:${addr.port}`;
    const transaction = {
      from: env.from,
      mailParams: [`SIZE=${env.size}`, ...(env.body === '8BITMIME' ? ['BODY=8BITMIME'] : [])],
      recipients: targets.map((r) => ({
        address: r.to,
        params: [`XQUOTA=${r.quotaBytes},${r.quotaMessages}`, `XDELIVERYID=${encodeXtext(`${env.id}.${r.index}`)}`],
      })),
      message: () => deps.spool.openMessageStream(env.id),
    };
    let answers: Answer[];
    try {
      answers = await deps.pool.run({ host: addr.host, port: addr.port }, (conn) => conn.transaction(transaction));
    } catch (err) {
      answers = targets.map(() => temporary(`451 4.4.1 ${(err as Error).message}`));
    }
    for (const [i, a] of answers.entries()) {
      if (a.code === 423) {
        const to = await redirectTarget(deps.directory, a.text, targets[i]!);
        if (to && to !== job.destination) answers[i] = { ...a, redirect: to };
      }
    }
    return { answers, remote };
  });
}

/**
 * Where a 423 sends a recipient: the store names the host ("... moved to store2"), or else the
 * directory's current mailHost (the relay's cached view may be older than the move).
 */
export async function redirectTarget(dir: Directory, answer: string, r: SpoolRecipient): Promise<string | null> {
  const named = /\bmoved to \[?([A-Za-z0-9._-]+)\]?/i.exec(answer);
  if (named?.[1]) return named[1];
  const at = r.to.lastIndexOf('@');
  try {
    const user = await dir.findUserByUid(r.to.slice(0, at), r.to.slice(at + 1));
    return user?.mailHost ?? null;
  } catch {
    return null;
  }
}
