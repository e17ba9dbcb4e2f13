// store.expire.intervalMinutes: the store primary applies the expiry rules on a schedule (one
// process per store host, so runs never overlap between workers). A run that fails is logged
// and the next one tries again.
import type { Config, Logger } from '@tiermail/core';
import { MessageStore } from '../engine/index.js';
import { expireUsers } from './run.js';
import { badPattern } from './select.js';

export function scheduleExpiry(config: Config, logger: Logger): NodeJS.Timeout | undefined {
  const { intervalMinutes, rules } = config.store.expire;
  if (intervalMinutes <= 0 || rules.length === 0) return undefined;
  const bad = badPattern(rules);
  if (bad) {
    logger.error(bad);
    return undefined;
  }
  let running = false;
  const run = async (): Promise<void> => {
    if (running) return;
    running = true;
    const store = MessageStore.open(config.store, { logger });
    try {
      const r = await expireUsers(store, rules);
      logger.info({ users: r.users, mailboxes: r.mailboxes, removed: r.removed.length, errors: r.errors.length }, 'expiry run done');
      for (const e of r.errors) logger.warn(e, 'expiry: folder skipped');
    } catch (err) {
      logger.error({ err }, 'expiry run failed');
    } finally {
      store.close();
      running = false;
    }
  };
  const timer = setInterval(() => void run(), intervalMinutes * 60_000);
  timer.unref();
  return timer;
}
