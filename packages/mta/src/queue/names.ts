// Queue and job names. Queues are per relay host and channel, so each relay works its own
// spool; a job id is derived from the spool id and destination, so adding the same job twice
// (at accept and again by a resync) is a no-op while the first one exists.
import type { Channel } from './recipient.js';

export interface JobData {
  id: string;
  channel: Channel;
  destination: string;
}

export function queueName(relayHost: string, channel: Channel): string {
  return `tm-${relayHost}-${channel}`;
}

export function jobId(d: JobData): string {
  // bullmq reserves ':' in ids; spool ids and host names never contain one.
  return `${d.id}.${d.channel}.${d.destination.replace(/:/g, '_')}`;
}
