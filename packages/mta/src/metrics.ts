// The relay worker's Prometheus metrics, in prom-client's global registry so the cluster
// primary sums them over the workers (core/metrics.ts; /metrics on metrics.services.relay).
// Counters end in _total, durations are histograms in seconds; label values come from closed
// sets (listener names, channels, results, RFC 3463 codes) so clients cannot create series.
import { Counter, Gauge, Histogram, workerMetrics } from '@tiermail/core';
import type { Channel } from './queue/recipient.js';

export type DeliveryResult = 'delivered' | 'deferred' | 'failed' | 'redirected';

export interface RelayMetrics {
  connection(listener: string, event: 'open' | 'close' | 'refused'): void;
  message(listener: string, result: 'accepted' | 'refused'): void;
  /** A recipient refused at RCPT or at the end of DATA, by its enhanced code ("5.1.1"). */
  rejected(enhanced: string): void;
  delivery(channel: Channel, result: DeliveryResult, n?: number): void;
  attempt(channel: Channel, seconds: number): void;
  dsn(kind: 'failure' | 'delay' | 'success'): void;
  /** Reads the queue depth when /metrics is scraped (the job controller sets it). */
  queueDepth(read: () => Promise<Array<{ channel: Channel; state: string; count: number }>>): void;
  spoolMessages(n: number): void;
}

let created: RelayMetrics | undefined;

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

export function relayMetrics(labels: Record<string, string> = {}): RelayMetrics {
  if (created) return created;
  const registers = [workerMetrics({ service: 'relay', ...labels })];
  const open = new Gauge({ name: 'tiermail_smtp_connections', help: 'open SMTP connections by listener', labelNames: ['listener'], registers });
  const conns = new Counter({ name: 'tiermail_smtp_connections_total', help: 'SMTP connections by listener and result', labelNames: ['listener', 'result'], registers });
  const messages = new Counter({ name: 'tiermail_smtp_messages_total', help: 'messages at the end of DATA by listener and result', labelNames: ['listener', 'result'], registers });
  const rejected = new Counter({ name: 'tiermail_smtp_recipients_rejected_total', help: 'recipients refused, by enhanced status code', labelNames: ['code'], registers });
  const deliveries = new Counter({ name: 'tiermail_relay_deliveries_total', help: 'delivery attempts per recipient by channel and result', labelNames: ['channel', 'result'], registers });
  const attempts = new Histogram({
    name: 'tiermail_relay_attempt_seconds',
    help: 'duration of one delivery attempt (a job: connect, transaction, spool update)',
    labelNames: ['channel'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers,
  });
  const dsns = new Counter({ name: 'tiermail_relay_dsn_total', help: 'delivery status notifications sent, by kind', labelNames: ['kind'], registers });
  let depthReader: Parameters<RelayMetrics['queueDepth']>[0] | undefined;
  new Gauge({
    name: 'tiermail_relay_queue_jobs',
    help: 'delivery jobs in Redis by channel and state (waiting, delayed, active)',
    labelNames: ['channel', 'state'],
    registers,
    async collect() {
      if (!depthReader) return;
      this.reset();
      try {
        for (const d of await depthReader()) this.set({ channel: d.channel, state: d.state }, d.count);
      } catch {
        // Redis away: no value rather than a failed scrape.
      }
    },
  });
  const spool = new Gauge({ name: 'tiermail_relay_spool_messages', help: 'messages in the spool at the last resync', registers });
  created = {
    connection(listener, event) {
      if (event === 'open') open.inc({ listener });
      else if (event === 'close') open.dec({ listener });
      conns.inc({ listener, result: event === 'refused' ? 'refused' : 'accepted' }, event === 'close' ? 0 : 1);
    },
    message: (listener, result) => messages.inc({ listener, result }),
    rejected: (enhanced) => rejected.inc({ code: ENHANCED.test(enhanced) ? enhanced : 'other' }),
    delivery: (channel, result, n = 1) => deliveries.inc({ channel, result }, n),
    attempt: (channel, seconds) => attempts.observe({ channel }, seconds),
    dsn: (kind) => dsns.inc({ kind }),
    queueDepth(read) {
      depthReader = read;
    },
    spoolMessages: (n) => spool.set(n),
  };
  return created;
}
