// The watcher's part of the deployment schema (see schema.ts): it runs on every host and
// starts, probes and restarts the host's services.
import { z } from 'zod';
import { duration, listenSchema } from './common-schema.js';

const probeKind = z.enum(['smtp', 'lmtp', 'imap', 'pop3', 'redis', 'ldap']);

const daemonSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes').describe('name in status, alarms and `tiermail restart NAME`'),
    command: z.string().min(1).describe('the program (absolute path or on PATH); it must stay in the foreground'),
    args: z.array(z.string()).default([]).describe('its arguments'),
    probe: z
      .strictObject({
        kind: probeKind.describe('protocol of the probe'),
        host: z.string().default('127.0.0.1').describe('address to probe'),
        port: z.number().int().min(1).max(65535).describe('port to probe'),
      })
      .describe('how to tell it is answering'),
  })
  .describe('a program the watcher runs before the tiermail services (slapd, redis-server in the local stack)');

export const watcherSchema = z
  .strictObject({
    listen: listenSchema.default({ host: '127.0.0.1', port: 2080 }).describe('status page and control API (loopback only unless you put a proxy with auth in front)'),
    probeIntervalMs: duration.default(5000).describe('how often each service is probed by its protocol, in ms'),
    probeWarnMs: duration.default(25000).describe('a probe unanswered this long raises a warning, in ms'),
    startTimeoutMs: duration.default(60000).describe('a service that has not answered its first probe this long after it was started is restarted, in ms (a loaded host starts slowly)'),
    probeRestartMs: duration.default(30000).describe('a service that has not answered a probe for this long is restarted, in ms'),
    restartBackoffMs: z
      .array(duration)
      .min(1)
      .default([1000, 5000, 30000])
      .describe('waits before restarting a crashed service, one per consecutive failure; the last repeats'),
    maxFailures: z.number().int().min(1).default(2).describe('more failures than this within failureWindowMs and the service is left down, with an alarm'),
    failureWindowMs: duration.default(600000).describe('the window of maxFailures, in ms'),
    stopTimeoutMs: duration.default(40000).describe('how long a service may take to drain on stop before it is killed, in ms'),
    daemons: z
      .array(daemonSchema)
      .default([])
      .describe('other programs to run, probe and restart on this host, started first in this order and stopped last'),
    groups: z
      .array(z.array(z.string().min(1)).min(2))
      .default([])
      .describe('services restarted together: when one of a group is restarted after a failure, the others are too (e.g. [redis, relay])'),
    probeSlowMs: duration.default(10000).describe('a probe answered but slower than this raises a probe-slow alarm, in ms'),
    diskFreePercent: z.number().min(0).max(100).default(10).describe('alarm when a store partition or the relay spool has less free space than this, in percent'),
    queueAlarm: z.number().int().min(0).default(10000).describe('alarm when the relay has more delivery jobs waiting than this (0 turns it off)'),
    checkIntervalMs: duration.default(60000).describe('how often disks and queues are checked and metrics sampled for the charts, in ms'),
    webhook: z.string().url().optional().describe('alarms are POSTed here as JSON as they happen (a path that does not depend on mail)'),
    alarmMail: z.boolean().default(true).describe('mail alarms to deployment.postmaster through the relay of this host (or the first relay host)'),
    alarmMailIntervalMs: duration.default(3600000).describe('at most one mail per service and kind of alarm in this period, in ms'),
  })
  .describe('the watcher: starts, probes and restarts the services of its host');
