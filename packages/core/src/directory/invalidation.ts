// Directory caches told of changes at once: a tool that changes an entry the tiers cache
// (`tiermail user move` switching mailHost) publishes the key on `<keyPrefix>directory:invalidate`,
// and every relay and MMP process drops it from its cache instead of waiting for the TTL.
// Without Redis the caches still expire by themselves (directory.cache.ttlMs).
import type { Logger } from '../log/index.js';
import type { RedisClient } from '../redis.js';
import type { Directory } from './client.js';

export function directoryInvalidationChannel(keyPrefix: string): string {
  return `${keyPrefix}directory:invalidate`;
}

/** Puts `subscriber` in subscriber mode and drops each published key (empty: everything). */
export function followDirectoryInvalidations(directory: Pick<Directory, 'invalidate'>, subscriber: RedisClient, keyPrefix: string, logger?: Logger): void {
  const channel = directoryInvalidationChannel(keyPrefix);
  subscriber.on('message', (ch: string, key: string) => {
    if (ch !== channel) return;
    const n = directory.invalidate(key === '' ? undefined : key);
    logger?.debug({ key, dropped: n }, 'directory cache invalidated');
  });
  subscriber.subscribe(channel).catch((err: unknown) => logger?.warn({ err }, 'directory invalidations: subscribe failed'));
}

export async function publishDirectoryInvalidation(redis: RedisClient, keyPrefix: string, keys: readonly string[]): Promise<void> {
  for (const k of keys) await redis.publish(directoryInvalidationChannel(keyPrefix), k);
}
