// Shared pieces of the relay tests: a whole stack (slapd with the demo data on mailHost
// store1, redis-server, the store, the relay) and ways to look into it.
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { MailLogRecord } from '@tiermail/core';
import { MessageStore } from '@tiermail/store';
import { startDns, type DnsHandle, type ZoneEntry } from '../harness/dns.js';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { startRelay, type RelayHandle, type RelayOptions } from '../harness/relay.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { startStore, type StoreHandle } from '../harness/store.js';

export interface Stack {
  /** The relay's DNS server (relay.dns.servers): no test resolves names on the internet. */
  dns: DnsHandle;
  slapd: SlapdHandle;
  redis: RedisHandle;
  store: StoreHandle;
  relay: RelayHandle;
  stop(): Promise<void>;
}

export async function startStack(relay: Partial<RelayOptions> = {}, zone: Record<string, ZoneEntry> = {}): Promise<Stack> {
  const [slapd, redis, dns] = await Promise.all([startSlapd({ demo: true, mailHost: 'store1' }), startRedis(), startDns(zone)]);
  const store = await startStore({ workers: 1, redisPort: redis.port, ldapUrl: slapd.url });
  const r = await startRelay({
    ldapUrl: slapd.url,
    redisPort: redis.port,
    storePort: store.port,
    ...relay,
    relay: { dns: { servers: [dns.server], timeoutMs: 1000 }, ...relay.relay },
  });
  return {
    dns,
    slapd,
    redis,
    store,
    relay: r,
    async stop() {
      await r.stop().catch(() => undefined);
      await r.cleanup();
      await store.stop().catch(() => undefined);
      await store.cleanup();
      await redis.stop();
      await slapd.stop();
      await dns.stop();
    },
  };
}

export function transport(port: number): nodemailer.Transporter<SMTPTransport.SentMessageInfo> {
  const options: SMTPTransport.Options = { host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.example.org' };
  return nodemailer.createTransport(options);
}

/** Messages in a user's INBOX on the store, with their text. */
export function inbox(store: StoreHandle, user: string): Array<{ uid: number; text: string }> {
  const s = MessageStore.open(store.config.store);
  try {
    if (!s.hasUser(user)) return [];
    const m = s.openUser(user);
    try {
      return m.messages('INBOX').map((x) => ({ uid: x.uid, text: readFileSync(m.readMessage('INBOX', x.uid).path, 'latin1') }));
    } finally {
      m.close();
    }
  } finally {
    s.close();
  }
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function recordsFor(records: MailLogRecord[], queueId: string): string[] {
  return records.filter((r) => r.queueId === queueId).map((r) => `${r.code} ${r.to}`);
}

/** The queue id from "250 2.0.0 Ok queued as <id>". */
export function queueIdOf(response: string): string {
  const m = /queued as ([0-9A-Z]+)/.exec(response);
  if (!m?.[1]) throw new Error(`no queue id in ${response}`);
  return m[1];
}
