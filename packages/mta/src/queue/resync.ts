// The spool is the truth and Redis only schedules it: the resync walks the spool and gives
// every message with pending recipients the jobs it lacks (after a Redis FLUSHALL, a failover
// to an empty replica, or an enqueue that failed at accept time). It also finishes messages
// with nothing pending (a crash between the last delivery and the removal) and removes
// leftovers of interrupted transactions.
import type { Logger } from '@tiermail/core';
import type { Envelope } from '../spool/envelope.js';
import type { KeyedLock } from '../spool/lock.js';
import type { Spool } from '../spool/spool.js';
import type { JobQueues } from './job-queues.js';

/** Temp files and envelope-less messages younger than this may belong to a live transaction. */
const STRAY_AGE_MS = 60 * 60 * 1000;

export interface ResyncResult {
  scanned: number;
  enqueued: number;
  finished: number;
  unreadable: number;
  strays: number;
}

/**
 * `settle` sends the notices a message owes (DSNs, delay notices, expiry) and removes it when
 * nothing is pending; it runs for every message, so notices owed after a crash go out.
 */
export async function resyncSpool(
  spool: Spool,
  queues: JobQueues,
  locks: KeyedLock,
  logger: Logger,
  settle: (env: Envelope) => Promise<void>,
): Promise<ResyncResult> {
  const result: ResyncResult = { scanned: 0, enqueued: 0, finished: 0, unreadable: 0, strays: 0 };
  for await (const id of spool.ids()) {
    result.scanned += 1;
    try {
      await locks.run(id, async () => {
        const env = await spool.readEnvelope(id);
        if (!env) return;
        if (env.held) return; // an operator holds it: no jobs until `tiermail queue release`
        await settle(env);
        if (!env.recipients.some((r) => r.status.state === 'pending')) {
          result.finished += 1;
          return;
        }
        result.enqueued += await queues.ensure(env);
      });
    } catch (err) {
      // One bad envelope must not stop the others from being scheduled.
      result.unreadable += 1;
      logger.error({ err, queueId: id }, 'resync: cannot schedule this message');
    }
  }
  result.strays = await spool.removeStrays(STRAY_AGE_MS);
  return result;
}
