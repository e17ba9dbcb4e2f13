// Store events (the seeds' ENS: NewMsg, OverQuota, ...) on Redis pub/sub, channel
// `<keyPrefix>events:<Type>`, one JSON object per message. Best effort by design: a
// publish never waits for Redis and never fails a delivery; a lost event is counted.
import type { RedisClient } from '@tiermail/core';

export type StoreEventType = 'NewMsg' | 'ReadMsg' | 'DeleteMsg' | 'UpdateMsg' | 'OverQuota' | 'UnderQuota' | 'Login' | 'Logout';

export interface StoreEvent {
  type: StoreEventType;
  user: string;
  mailbox?: string;
  uidValidity?: number;
  uid?: number;
  size?: number;
  /** Quota figures for OverQuota/UnderQuota. */
  usedBytes?: number;
  limitBytes?: number;
  from?: string;
}

export class EventPublisher {
  published = 0;
  dropped = 0;

  constructor(
    private readonly redis: RedisClient | undefined,
    private readonly prefix: string,
    private readonly host: string,
  ) {}

  channel(type: StoreEventType): string {
    return `${this.prefix}events:${type}`;
  }

  publish(event: StoreEvent): void {
    const r = this.redis;
    // Without a ready connection the event is dropped rather than queued: a Redis outage
    // must not grow memory or delay deliveries.
    if (!r || r.status !== 'ready') {
      this.dropped += 1;
      return;
    }
    const body = JSON.stringify({ ...event, host: this.host, time: new Date().toISOString() });
    r.publish(this.channel(event.type), body).then(
      () => {
        this.published += 1;
      },
      () => {
        this.dropped += 1;
      },
    );
  }
}
