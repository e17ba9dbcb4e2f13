// The watcher's part of the deployment schema (see schema.ts): it runs on every host and
// starts, probes and restarts the host's services.
import { z } from 'zod';
import { duration, listenSchema } from './common-schema.js';

export const watcherSchema = z
  .strictObject({
    listen: listenSchema.default({ host: '127.0.0.1', port: 2080 }).describe('status page and control API (loopback only unless you put a proxy with auth in front)'),
    probeIntervalMs: duration.default(5000).describe('how often each service is probed by its protocol, in ms'),
    probeWarnMs: duration.default(25000).describe('a probe unanswered this long raises a warning, in ms'),
    probeRestartMs: duration.default(30000).describe('a service that has not answered a probe for this long is restarted, in ms'),
    restartBackoffMs: z
      .array(duration)
      .min(1)
      .default([1000, 5000, 30000])
      .describe('waits before restarting a crashed service, one per consecutive failure; the last repeats'),
    maxFailures: z.number().int().min(1).default(2).describe('more failures than this within failureWindowMs and the service is left down, with an alarm'),
    failureWindowMs: duration.default(600000).describe('the window of maxFailures, in ms'),
    stopTimeoutMs: duration.default(40000).describe('how long a service may take to drain on stop before it is killed, in ms'),
    webhook: z.string().url().optional().describe('alarms are POSTed here as JSON as they happen (a path that does not depend on mail)'),
    alarmMail: z.boolean().default(true).describe('mail alarms to deployment.postmaster through the relay of this host (or the first relay host)'),
    alarmMailIntervalMs: duration.default(3600000).describe('at most one mail per service and kind of alarm in this period, in ms'),
  })
  .describe('the watcher: starts, probes and restarts the services of its host');
