// The last hour of the host, for the status page's charts: every checkIntervalMs the watcher
// samples the tiers' /metrics (queue depth per channel, deliveries, connections per tier) and
// keeps the samples in a ring. Rates are computed from counter deltas; a counter that went
// down (the service restarted) counts from zero again.
import type { Config } from '@tiermail/core';
import { scrape, sum } from './checks.js';

export interface Sample {
  at: number;
  /** Delivery jobs waiting, delayed or running, per channel. */
  queue: { lmtp: number; smtp: number };
  /** Recipients delivered per minute since the previous sample, per channel. */
  deliveredPerMinute: { lmtp: number; smtp: number };
  /** Open connections per tier (null: that tier is not on this host or did not answer). */
  connections: { relay: number | null; store: number | null; mmp: number | null };
}

const HOUR_MS = 60 * 60 * 1000;

export class History {
  readonly samples: Sample[] = [];
  private last: { at: number; delivered: { lmtp: number; smtp: number } } | null = null;

  constructor(private readonly intervalMs: number) {}

  get capacity(): number {
    return Math.max(2, Math.ceil(HOUR_MS / this.intervalMs));
  }

  add(s: Sample): void {
    this.samples.push(s);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** Samples the tiers on this host (their /metrics on metrics.listen.host). */
  async sample(config: Config, roles: readonly string[], now = Date.now()): Promise<Sample> {
    const host = config.metrics.listen.host;
    const ports = config.metrics.services;
    const [relay, store, mmp] = await Promise.all([
      roles.includes('relay') && ports.relay > 0 ? scrape(host, ports.relay) : Promise.resolve(null),
      roles.includes('store') && ports.store > 0 ? scrape(host, ports.store) : Promise.resolve(null),
      roles.includes('mmp') && ports.mmp > 0 ? scrape(host, ports.mmp) : Promise.resolve(null),
    ]);
    const delivered = {
      lmtp: relay ? sum(relay, 'tiermail_relay_deliveries_total', { channel: 'lmtp', result: 'delivered' }) : 0,
      smtp: relay ? sum(relay, 'tiermail_relay_deliveries_total', { channel: 'smtp', result: 'delivered' }) : 0,
    };
    const rate = (ch: 'lmtp' | 'smtp'): number => {
      if (!this.last || now <= this.last.at) return 0;
      const d = delivered[ch] - this.last.delivered[ch];
      return Math.round(((d < 0 ? delivered[ch] : d) / (now - this.last.at)) * 60000 * 10) / 10;
    };
    const s: Sample = {
      at: now,
      queue: {
        lmtp: relay ? sum(relay, 'tiermail_relay_queue_jobs', { channel: 'lmtp' }) : 0,
        smtp: relay ? sum(relay, 'tiermail_relay_queue_jobs', { channel: 'smtp' }) : 0,
      },
      deliveredPerMinute: { lmtp: rate('lmtp'), smtp: rate('smtp') },
      connections: {
        relay: relay ? sum(relay, 'tiermail_smtp_connections') : null,
        store: store ? sum(store, 'tiermail_imap_connections') + sum(store, 'tiermail_pop3_connections') : null,
        mmp: mmp ? sum(mmp, 'tiermail_mmp_connections') : null,
      },
    };
    if (relay) this.last = { at: now, delivered };
    this.add(s);
    return s;
  }
}
