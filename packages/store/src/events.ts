// Store events (the seeds' ENS: NewMsg, OverQuota, ...) on Redis pub/sub, channel
// `<keyPrefix>events:<Type>`, one JSON object per message. Best effort by design: a
// publish never waits for Redis and never fails a delivery; a lost event is counted.
import type { RedisClient } from '@tiermail/core';
import type { StoreChange } from './engine/index.js';

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
  /** UIDs a ReadMsg / UpdateMsg / DeleteMsg is about. */
  uids?: number[];
  /** Login / Logout: the service and the client address. */
  service?: 'imap' | 'pop3';
  client?: string;
}

/** What protocol layers need to publish events (the EventPublisher, or nothing in tests). */
export interface EventSink {
  publish(event: StoreEvent): void;
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

/** The events an engine change stands for (deliveries publish NewMsg themselves, with the
 * envelope): flags newly \Seen → ReadMsg, other flag changes → UpdateMsg, expunges →
 * DeleteMsg, copies in → NewMsg. */
export function publishChange(sink: EventSink, user: string, change: StoreChange): void {
  switch (change.kind) {
    case 'flags': {
      const read: number[] = [];
      const other: number[] = [];
      for (const m of change.updated) {
        const wasSeen = change.before.get(m.uid)?.includes('\\Seen') ?? false;
        (m.flags.includes('\\Seen') && !wasSeen ? read : other).push(m.uid);
      }
      if (read.length) sink.publish({ type: 'ReadMsg', user, mailbox: change.mailbox, uids: read });
      if (other.length) sink.publish({ type: 'UpdateMsg', user, mailbox: change.mailbox, uids: other });
      return;
    }
    case 'expunged':
      sink.publish({ type: 'DeleteMsg', user, mailbox: change.mailbox, uids: change.uids });
      return;
    case 'copied':
      sink.publish({ type: 'NewMsg', user, mailbox: change.mailbox, uids: change.uids });
      return;
    case 'under-quota':
      sink.publish({ type: 'UnderQuota', user });
      return;
    case 'delivered':
      return;
  }
}
