// The MMP's part of the deployment schema (see schema.ts): the access proxy in front of the
// stores.
import { z } from 'zod';
import { duration, listenSchema, workerCount } from './common-schema.js';

export const mmpSchema = z
  .strictObject({
    imap: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 2143 })
      .describe('IMAP listener of the proxy (STARTTLS when tls.cert is set); null turns it off'),
    imaps: listenSchema.optional().describe('IMAP with implicit TLS (993 in production); needs tls.cert'),
    pop3: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 2110 })
      .describe('POP3 listener of the proxy (STLS when tls.cert is set); null turns it off'),
    pop3s: listenSchema.optional().describe('POP3 with implicit TLS (995 in production); needs tls.cert'),
    submission: listenSchema
      .nullable()
      .default({ host: '127.0.0.1', port: 2588 })
      .describe('message submission (RFC 6409: AUTH required, STARTTLS when tls.cert is set); 2588 in the local stack (the relay has 2587), 587 in production; null turns it off'),
    submissions: listenSchema.optional().describe('submission with implicit TLS (465, RFC 8314); needs tls.cert'),
    relays: z
      .array(listenSchema)
      .min(1)
      .default([{ host: '127.0.0.1', port: 2525 }])
      .describe('relays submitted mail is handed to, tried in order (they must list the MMPs in relay.trustedNetworks)'),
    relayAuth: z
      .boolean()
      .default(false)
      .describe('AUTH to the relays as proxyAdmin on behalf of each user (SASL PLAIN authzid = the user): point mmp.relays at relay.submission and list the proxy admin in relay.proxyAuth; off = the relays trust the MMP by address (relay.trustedNetworks)'),
    virtualDomains: z
      .record(z.string(), z.string().min(1))
      .default({})
      .describe('per listening address (the address a client connected to), the domain of bare user names there; elsewhere directory.defaultDomain'),
    workers: workerCount('MMP'),
    proxyAdmin: z
      .strictObject({
        user: z.string().min(1).default('mmp-proxy').describe('directory user the MMP logs in to stores as (one of store.proxyAuth.admins)'),
        password: z.string().default('').describe('its password'),
      })
      .prefault({})
      .describe('the identity the MMP uses for proxy logins (SASL PLAIN authzid = the user)'),
    plaintextAuth: z
      .enum(['never', 'loopback', 'always'])
      .default('loopback')
      .describe('passwords before TLS: never, from loopback clients only, or always'),
    connectTimeoutMs: duration.default(5000).describe('time to reach a store and log in there before the client gets NO [UNAVAILABLE], in ms'),
    preAuthTimeoutMs: duration.default(60000).describe('a client that has not logged in by then is disconnected, in ms'),
    maxConnectionsPerIp: z.number().int().min(0).default(20).describe('connections one client address may hold per worker; 0 for no limit'),
    authFailureDelayMs: duration.default(1000).describe('pause before answering a failed login, in ms'),
  })
  .describe('the MMP: IMAP proxy that logs users in and splices them to their store');
