// The one schema for a whole deployment. Every key has a description: docs/config.md is
// generated from it (`npm run docs:config`), so the reference can never drift from the code.
import { z } from 'zod';
import { duration, hostName, listenSchema, port } from './common-schema.js';
import { relayChannelSchema, relaySchema, relaySmtpChannelSchema } from './relay-schema.js';
import { storeSchema } from './store-schema.js';
import { mmpSchema } from './mmp-schema.js';
import { watcherSchema } from './watcher-schema.js';

export { listenSchema, mmpSchema, relayChannelSchema, relaySchema, relaySmtpChannelSchema, storeSchema };

const ldapUrl = z
  .string()
  .regex(/^ldaps?:\/\/[^\s/]+(:\d+)?\/?$/, 'expected an ldap:// or ldaps:// URL such as ldap://ds1.example.com:389');

export const directorySchema = z
  .strictObject({
    urls: z
      .array(ldapUrl)
      .min(1, 'expected at least one LDAP URL')
      .describe('LDAP servers in order of preference; the client fails over down the list'),
    baseDn: z.string().min(1).describe('suffix under which domains live, e.g. o=tiermail'),
    bindDn: z.string().min(1).describe('DN the services bind as for lookups'),
    bindPassword: z.string().describe('password of bindDn'),
    adminDn: z
      .string()
      .optional()
      .describe('DN used by provisioning commands (tiermail domain/user/group); defaults to bindDn'),
    adminPassword: z.string().optional().describe('password of adminDn; defaults to bindPassword'),
    peopleRdn: z.string().default('ou=People').describe('RDN of the users container under each domain'),
    groupsRdn: z.string().default('ou=Groups').describe('RDN of the groups container under each domain'),
    defaultDomain: hostName.describe('domain assumed for bare user names (uid without @domain)'),
    timeoutMs: duration.default(5000).describe('time limit of one LDAP operation, in ms'),
    connectTimeoutMs: duration.default(3000).describe('time limit to open a connection, in ms'),
    poolSize: z.number().int().min(1).max(64).default(4).describe('bound connections kept per process'),
    retryDownAfterMs: duration
      .default(30000)
      .describe('after a server fails, how long it is skipped before it is tried again, in ms'),
    cache: z
      .strictObject({
        ttlMs: duration.default(60000).describe('how long a found entry is reused, in ms'),
        negativeTtlMs: duration.default(15000).describe('how long a "not found" answer is reused, in ms'),
        maxEntries: z.number().int().min(0).default(50000).describe('entries kept per process (0 disables)'),
      })
      .prefault({})
      .describe('in-process lookup cache'),
  })
  .describe('the LDAP directory (users, groups, domains)');

const redisNode = z.strictObject({ host: z.string().min(1), port });
const redisCommon = {
  password: z.string().optional().describe('AUTH password'),
  username: z.string().optional().describe('ACL user name (Redis 6+)'),
  db: z.number().int().min(0).max(15).default(0).describe('database number (not for cluster)'),
  keyPrefix: z.string().default('tm:').describe('prefix of every key tiermail writes'),
  connectTimeoutMs: duration.default(5000).describe('time limit to connect, in ms'),
};
export const redisSchema = z
  .discriminatedUnion('mode', [
    z.strictObject({
      mode: z.literal('single'),
      host: z.string().default('127.0.0.1').describe('Redis host'),
      port: port.default(6379).describe('Redis port'),
      ...redisCommon,
    }),
    z.strictObject({
      mode: z.literal('sentinel'),
      sentinels: z.array(redisNode).min(1).describe('Sentinel nodes'),
      name: z.string().min(1).describe('master group name known to the Sentinels'),
      ...redisCommon,
    }),
    z.strictObject({
      mode: z.literal('cluster'),
      nodes: z.array(redisNode).min(1).describe('seed nodes of the cluster'),
      ...redisCommon,
    }),
  ])
  .describe('Redis: job queues, shared policy state, events (mode single, sentinel or cluster)');

export const tlsSchema = z
  .strictObject({
    cert: z.string().optional().describe('PEM certificate chain file'),
    key: z.string().optional().describe('PEM private key file'),
    ca: z.string().optional().describe('PEM CA bundle for verifying peers'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('lowest TLS version accepted'),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'cert and key go together: set both or neither',
  })
  .describe('TLS files shared by every listener of the host');

export const pathsSchema = z
  .strictObject({
    var: z.string().default('/var/lib/tiermail').describe('state directory (spool, stores, run files)'),
    log: z.string().default('/var/log/tiermail').describe('directory of mail.log and service logs'),
    run: z.string().default('/run/tiermail').describe('sockets and pid files'),
  })
  .describe('file system locations');

export const logSchema = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('service log level'),
    mailLog: z.boolean().default(true).describe('write mail.log records (one JSON line per record)'),
  })
  .describe('logging');

export const metricsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('serve Prometheus /metrics'),
    listen: listenSchema.default({ host: '127.0.0.1', port: 9100 }).describe('where the watcher serves /metrics (the host view)'),
    services: z
      .strictObject({
        store: port.default(9101).describe('port of the store primary /metrics (all its workers summed); 0 turns it off'),
        relay: port.default(9102).describe('port of the relay primary /metrics; 0 turns it off'),
        mmp: port.default(9103).describe('port of the MMP primary /metrics; 0 turns it off'),
      })
      .prefault({})
      .describe('per-service /metrics ports, on metrics.listen.host'),
  })
  .describe('Prometheus metrics');

export const limitsSchema = z
  .strictObject({
    maxLineLength: z.number().int().min(512).default(4096).describe('longest protocol command line, in bytes'),
    maxMessageSize: z
      .number()
      .int()
      .min(1024)
      .default(52428800)
      .describe('largest message accepted, in bytes (SIZE, LMTP, APPEND)'),
    maxConnectionsPerIp: z.number().int().min(1).default(20).describe('connections one client IP may hold'),
  })
  .describe('protocol limits shared by every tier');

export const roleSchema = z.enum(['relay', 'store', 'mmp', 'watcher']);

export const hostSchema = z
  .strictObject({
    roles: z.array(roleSchema).min(1).describe('services this host runs: relay, store, mmp, watcher'),
    address: z.string().min(1).describe('address other tiers use to reach this host'),
    overrides: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('any top-level keys, merged over the file when running as this host'),
  })
  .describe('one host of the deployment');

export const configSchema = z
  .strictObject({
    deployment: z
      .strictObject({
        name: z.string().default('tiermail').describe('name shown in logs, banners and alarms'),
        postmaster: z.email({ error: 'expected an email address such as postmaster@example.com' }).describe('address that receives alarms and postmaster mail'),
      })
      .describe('the deployment as a whole'),
    hosts: z
      .record(hostName, hostSchema)
      .refine((h) => Object.keys(h).length > 0, { message: 'expected at least one host' })
      .describe('every host by name, with its roles'),
    directory: directorySchema,
    redis: redisSchema,
    tls: tlsSchema.default({ minVersion: 'TLSv1.2' }),
    paths: pathsSchema.prefault({}),
    log: logSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    store: storeSchema.prefault({}),
    relay: relaySchema.prefault({}),
    mmp: mmpSchema.prefault({}),
    watcher: watcherSchema.prefault({}),
  })
  .describe('a tiermail deployment');

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type DirectoryConfig = z.infer<typeof directorySchema>;
export type RedisConfig = z.infer<typeof redisSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type Role = z.infer<typeof roleSchema>;
export type StoreConfig = z.infer<typeof storeSchema>;
export type RelayConfig = z.infer<typeof relaySchema>;
export type RelayChannelConfig = z.infer<typeof relayChannelSchema>;
export type RelaySmtpChannelConfig = z.infer<typeof relaySmtpChannelSchema>;
