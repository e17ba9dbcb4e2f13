// The store worker's Prometheus metrics, in prom-client's global registry so the cluster
// primary can sum them over the workers (core/metrics.ts). Names follow Prometheus practice:
// counters end in _total, durations are histograms in seconds.
import { Counter, Gauge, Histogram, workerMetrics } from '@tiermail/core';
import type { DeliveryOutcome } from './engine/index.js';

export interface ImapMetrics {
  connectionOpened(): void;
  connectionClosed(): void;
  login(result: 'ok' | 'failed' | 'unavailable' | 'limit'): void;
  command(name: string, status: 'OK' | 'NO' | 'BAD', seconds: number): void;
}

export interface StoreMetrics {
  imap: ImapMetrics;
  delivery(outcome: DeliveryOutcome | undefined): void;
}

// Command names are a closed set (unknown ones are counted as OTHER) so a client cannot
// create new time series by sending junk.
const KNOWN = new Set([
  'APPEND', 'AUTHENTICATE', 'CAPABILITY', 'CHECK', 'CLOSE', 'COPY', 'CREATE', 'DELETE', 'DELETEACL', 'ENABLE', 'EXAMINE', 'EXPUNGE',
  'FETCH', 'GETACL', 'GETQUOTA', 'GETQUOTAROOT', 'ID', 'IDLE', 'LIST', 'LISTRIGHTS', 'LOGIN', 'LOGOUT', 'LSUB', 'MOVE', 'MYRIGHTS',
  'NAMESPACE', 'NOOP', 'RENAME', 'SEARCH', 'SELECT', 'SETACL', 'SETQUOTA', 'SORT', 'STARTTLS', 'STATUS', 'STORE', 'SUBSCRIBE',
  'THREAD', 'UNSELECT', 'UNSUBSCRIBE',
]);

let created: StoreMetrics | undefined;

/** The worker's metrics (created once per process: prom-client names are global). */
export function storeMetrics(labels: Record<string, string> = {}): StoreMetrics {
  if (created) return created;
  const registers = [workerMetrics({ service: 'store', ...labels })];
  const connections = new Gauge({ name: 'tiermail_imap_connections', help: 'open IMAP connections', registers });
  const logins = new Counter({ name: 'tiermail_imap_logins_total', help: 'IMAP login attempts by result', labelNames: ['result'], registers });
  const commands = new Counter({ name: 'tiermail_imap_commands_total', help: 'IMAP commands by name and reply', labelNames: ['command', 'status'], registers });
  const latency = new Histogram({
    name: 'tiermail_imap_command_seconds',
    help: 'IMAP command duration',
    labelNames: ['command'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const deliveries = new Counter({ name: 'tiermail_store_deliveries_total', help: 'LMTP recipients by outcome', labelNames: ['result'], registers });
  created = {
    imap: {
      connectionOpened: () => connections.inc(),
      connectionClosed: () => connections.dec(),
      login: (result) => logins.inc({ result }),
      command: (name, status, seconds) => {
        const command = KNOWN.has(name) ? name : 'OTHER';
        commands.inc({ command, status });
        latency.observe({ command }, seconds);
      },
    },
    delivery: (outcome) => deliveries.inc({ result: outcome?.status ?? 'refused' }),
  };
  return created;
}
