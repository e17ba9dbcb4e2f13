// The store backend's part of the deployment schema (see schema.ts).
import { z } from 'zod';
import { duration, listenSchema, networkRule, workerCount } from './common-schema.js';

const partitionName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a partition name such as primary or part2');

const andOr = z.enum(['and', 'or']);

export const expireRuleSchema = z
  .strictObject({
    name: z.string().min(1).describe('shown in reports and logs'),
    folders: z
      .string()
      .default('.*')
      .describe('regular expression matched against "user@domain/Folder" (the whole string), e.g. ".*/Trash" or "[^/]*@example.org/.*"'),
    messageDays: z.number().int().min(0).optional().describe('messages older than this many days (by INTERNALDATE)'),
    messageCount: z.number().int().min(0).optional().describe('keep at most this many messages in a folder, the oldest go first'),
    folderSize: z.number().int().min(0).optional().describe('keep a folder under this many bytes, the oldest go first'),
    messageSize: z.number().int().min(0).optional().describe('messages larger than this many bytes ...'),
    messageSizeDays: z.number().int().min(0).default(0).describe('... once older than this many days (grace period)'),
    header: z
      .strictObject({ name: z.string().min(1), contains: z.string().min(1) })
      .optional()
      .describe('messages whose header field contains the text (case-insensitive)'),
    seen: andOr.optional().describe('or: seen messages go whatever else; and: only seen messages go'),
    deleted: andOr.optional().describe('or: \\Deleted messages go whatever else; and: only \\Deleted messages go'),
    exclusive: z.boolean().default(false).describe('only this rule applies to the folders it matches (the last exclusive rule wins)'),
    join: andOr.default('or').describe('and: every criterion of the rule must hold (exclusive rules only)'),
  })
  .refine((r) => r.join === 'or' || r.exclusive, { message: 'join: and is only allowed in an exclusive rule', path: ['join'] })
  .describe('one expiry rule');

export const storeSchema = z
  .strictObject({
    lmtp: listenSchema.default({ host: '127.0.0.1', port: 2424 }).describe('LMTP listener the relays deliver to'),
    workers: workerCount('LMTP'),
    imap: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 3143 })
      .describe('IMAP listener (STARTTLS when tls.cert is set); null turns IMAP off'),
    imaps: listenSchema.optional().describe('IMAP with implicit TLS (993 in production); needs tls.cert'),
    pop3: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 3110 })
      .describe('POP3 listener (STLS when tls.cert is set); null turns POP3 off'),
    pop3s: listenSchema.optional().describe('POP3 with implicit TLS (995 in production); needs tls.cert'),
    plaintextAuth: z
      .enum(['never', 'loopback', 'always'])
      .default('loopback')
      .describe(
        'passwords over unencrypted IMAP/POP3: never (TLS first), loopback (also from 127.0.0.0/8 and ::1), always; proxyAuth.trustedNetworks always may',
      ),
    proxyAuth: z
      .strictObject({
        admins: z
          .array(z.string().min(1))
          .default([])
          .describe('directory users (uid or address) that may log in on behalf of any user: the MMPs\' proxy admin'),
        trustedNetworks: z
          .array(networkRule)
          .default([])
          .describe('addresses of the MMPs; proxy logins from anywhere else are refused'),
      })
      .prefault({})
      .describe('SASL PLAIN with authzid = user, authcid = a proxy admin, as the MMP logs in'),
    imapIdleTimeoutMs: duration.default(1800000).describe('IMAP autologout after this long without a command, in ms (RFC 3501: at least 30 min)'),
    pop3IdleTimeoutMs: duration.default(600000).describe('POP3 autologout after this long without a command, in ms (RFC 1939: at least 10 min)'),
    maxConnectionsPerUser: z
      .number()
      .int()
      .min(0)
      .default(50)
      .describe('IMAP/POP3 sessions one user may hold per worker process; 0 for no limit'),
    maxConnectionsPerIp: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe('IMAP/POP3 connections one client address may hold per worker; 0 for no limit (MMPs connect from few addresses)'),
    lmtpAllowFrom: z
      .array(z.string())
      .default(['127.0.0.1', '::1', '::ffff:127.0.0.1'])
      .describe('client addresses (exact, or a prefix ending in . or :) allowed to use LMTP; relays only'),
    partitions: z
      .record(
        partitionName,
        z.strictObject({
          path: z.string().min(1).describe('directory of the partition; relative to paths.var'),
          highWaterPercent: z
            .number()
            .min(1)
            .max(100)
            .default(99)
            .describe('above this much of the file system used, deliveries answer 452 4.3.1'),
        }),
      )
      .default({ primary: { path: 'store/primary', highWaterPercent: 99 } })
      .describe('message partitions by name'),
    defaultPartition: partitionName.default('primary').describe('partition new users are placed on'),
    maxRecipients: z.number().int().min(1).default(1000).describe('recipients accepted in one LMTP transaction'),
    idleTimeoutMs: duration.default(300000).describe('LMTP connection idle limit, in ms'),
    dedupWindowHours: z
      .number()
      .min(0)
      .default(168)
      .describe('how long a delivery id is remembered so a relay retry is not stored twice'),
    expire: z
      .strictObject({
        intervalMinutes: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('run the expiry rules this often (in the store primary); 0: only by `tiermail store expire`'),
        rules: z.array(expireRuleSchema).default([]).describe('expiry rules, as the seeds\' imexpire rules; a message goes when any applicable rule selects it'),
      })
      .prefault({})
      .describe('message expiration (seeds chapter 43)'),
    quota: z
      .strictObject({
        warnPercent: z.number().min(1).max(100).default(90).describe('usage that triggers the warning message'),
        warnIntervalHours: z.number().min(1).default(24).describe('at most one warning per user per this period'),
        graceHours: z
          .number()
          .min(0)
          .default(120)
          .describe('over quota longer than this, deliveries bounce (552 5.2.2) instead of waiting (452 4.2.2)'),
      })
      .prefault({})
      .describe('quota enforcement'),
  })
  .refine((s) => Object.hasOwn(s.partitions, s.defaultPartition), {
    message: 'expected defaultPartition to name one of store.partitions',
    path: ['defaultPartition'],
  })
  .describe('store backend: partitions, LMTP delivery, quotas');
