// The relay's part of the deployment schema (see schema.ts).
import { z } from 'zod';
import { duration, hostName, listenSchema, networkRule, workerCount } from './common-schema.js';

const rewriteRule = z
  .strictObject({
    pattern: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .describe('regular expression matched against the whole address, case-insensitive (anchored: ^...$ implied)'),
    replacement: z.string().min(1).describe('the new address; $1, $2 ... are the pattern\'s groups'),
  })
  .describe('one address rewrite rule');

export const relayChannelSchema = z
  .strictObject({
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe('jobs of this channel run at once by one relay host'),
    connectionsPerDestination: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(4)
      .describe('open connections to one destination host (the rest wait for one)'),
    retrySeconds: z
      .array(z.number().positive())
      .min(1)
      .default([300, 600, 1800, 3600, 7200, 14400])
      .describe('delays between delivery attempts, in seconds; the last one repeats until the last notice period'),
    noticesDays: z
      .array(z.number().positive())
      .min(1)
      .default([1, 2, 4, 7])
      .describe('days after which a delay notice is sent; after the last one the message is returned'),
  })
  .describe('one delivery channel of the relay');

/** "host", "host:port", "[v6]:port": where a smarthost or static route sends mail. */
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'expected host or host:port (IPv6 in brackets)');

export const relaySmtpChannelSchema = relayChannelSchema
  .extend({
    port: z.number().int().min(1).max(65535).default(25).describe('port of remote MX hosts (25; tests use another)'),
    startTls: z
      .enum(['none', 'opportunistic', 'required'])
      .default('opportunistic')
      .describe('STARTTLS to remote hosts: opportunistic uses it when offered (certificate not checked, RFC 7435); required refuses to send in clear and checks the certificate'),
    smarthost: z
      .array(hostPort)
      .default([])
      .describe('send all remote mail to these hosts, in order, instead of the MX of each domain'),
    routes: z
      .record(z.string().min(1), z.array(hostPort).min(1))
      .default({})
      .describe('static routes: recipient domain (lower case) to hosts tried in order, before the smarthost and MX'),
    maxHosts: z.number().int().min(1).max(20).default(5).describe('MX hosts (addresses) tried per attempt, in preference order'),
  })
  .describe('remote delivery over SMTP');

export const relaySchema = z
  .strictObject({
    smtp: listenSchema
      .default({ host: '127.0.0.1', port: 2525 })
      .describe('the MX listener (no AUTH); 127.0.0.1:2525 in the local stack, port 25 in production'),
    submission: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 2587 })
      .describe('message submission (RFC 6409): AUTH required, STARTTLS when tls.cert is set; 2587 in the local stack, 587 in production; null turns it off'),
    submissions: listenSchema.optional().describe('submission with implicit TLS (465, RFC 8314); needs tls.cert'),
    plaintextAuth: z
      .enum(['never', 'loopback', 'always'])
      .default('loopback')
      .describe('AUTH over unencrypted submission: never (STARTTLS first), loopback (also from 127.0.0.0/8 and ::1), always'),
    senderCheck: z
      .boolean()
      .default(true)
      .describe('on submission, MAIL FROM must be one of the authenticated user\'s addresses (553 5.7.1 otherwise)'),
    proxyAuth: z
      .strictObject({
        admins: z
          .array(z.string().min(1))
          .default([])
          .describe('directory users that may submit on behalf of any user (SASL PLAIN authzid = the user): the MMPs\' proxy admin'),
        trustedNetworks: z.array(networkRule).default([]).describe('addresses the proxy admins may submit from'),
      })
      .prefault({})
      .describe('submission on behalf of users, as the MMP does it'),
    maxConnectionsPerIp: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe('SMTP connections one client address may hold open per worker; more get 421 4.7.0'),
    maxConnectionsPerWorker: z
      .number()
      .int()
      .min(1)
      .default(2000)
      .describe('SMTP connections one worker serves at once; more get 421'),
    hostname: hostName.optional().describe('name in the banner, EHLO and Received headers; default the host name'),
    workers: workerCount('SMTP'),
    trustedNetworks: z
      .array(networkRule)
      .default(['127.0.0.0/8', '::1/128'])
      .describe('client networks allowed to relay to non-local domains through the MX listener'),
    maxReceived: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe('a message with more Received headers than this is refused as a mail loop'),
    rewrite: z
      .strictObject({
        recipients: z.array(rewriteRule).default([]).describe('applied to each RCPT TO address before routing; the first matching rule wins'),
        senders: z.array(rewriteRule).default([]).describe('applied to the MAIL FROM address (the envelope only; headers are left alone)'),
      })
      .prefault({})
      .describe('address rewriting, like the seeds\' mapping tables (FORWARD/REVERSE)'),
    maxRecipients: z.number().int().min(1).default(1000).describe('recipients accepted in one SMTP transaction'),
    idleTimeoutMs: duration.default(300000).describe('SMTP connection idle limit, in ms'),
    policyTimeoutMs: duration
      .default(10000)
      .describe('time limit of the RCPT checks of one recipient (directory lookups included), in ms; past it the answer is 451'),
    spool: z.string().min(1).default('spool').describe('spool directory (messages and envelopes); relative to paths.var'),
    jobLockMs: duration
      .default(15000)
      .describe('lock on a running delivery job, renewed while it runs; after a crash its job runs again within about this long plus a third of it'),
    resyncIntervalMs: duration
      .default(300000)
      .describe('how often the spool is scanned to enqueue messages that have no job (after a Redis loss), in ms'),
    dns: z
      .strictObject({
        servers: z
          .array(hostPort)
          .default([])
          .describe('DNS servers for MX and address lookups (ip or ip:port); empty = the system resolver'),
        timeoutMs: duration.default(5000).describe('time limit of one DNS query, in ms'),
      })
      .prefault({})
      .describe('name resolution for remote delivery'),
    dsn: z
      .strictObject({
        maxReturnBytes: z
          .number()
          .int()
          .min(1024)
          .default(51200)
          .describe('a returned message larger than this is returned as its header only (like Postfix bounce_size_limit)'),
      })
      .prefault({})
      .describe('delivery status notifications'),
    channels: z
      .strictObject({
        lmtp: relayChannelSchema.prefault({}).describe('delivery to the stores over LMTP'),
        smtp: relaySmtpChannelSchema.prefault({}).describe('delivery to other domains over SMTP'),
      })
      .prefault({})
      .describe('delivery channels'),
  })
  .describe('the MTA relay: SMTP listener, spool, job controller and delivery channels');
