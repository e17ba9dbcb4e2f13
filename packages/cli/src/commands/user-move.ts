// `tiermail user move USER --to STORE`: moves a user's mail to another store while the user
// keeps working, over the network only (IMAP to both stores, logged in as the proxy admin on
// behalf of the user, like the MMP), in the seeds' order:
//   1. copy every mailbox while the user works (flags and internal dates kept; new UIDs);
//   2. lock: the old store takes no new mail (LMTP 451: the relay retries) and no new logins;
//   3. copy what arrived meanwhile, and the flags as they are now;
//   4. switch mailHost in the directory and tell relays and MMPs (Redis) to forget the old one;
//   5. empty the mailboxes on the old store;
//   6. mark the user moved: the old store answers LMTP 423 naming the new one (the relay
//      redirects there) and ends the user's sessions, whose clients reconnect through the MMP.
// Nothing is delivered twice (nothing reaches the old store after the lock) and nothing is
// lost (what reached it before is copied in step 3). A failure before step 4 unlocks and
// leaves the user on the old store; the copies on the new one are removed by running it again.
import { ImapFlow } from 'imapflow';
import {
  createRedis,
  Directory,
  Provisioner,
  publishDirectoryInvalidation,
  storeAddress,
  type Config,
  type Logger,
  type RedisClient,
} from '@tiermail/core';
import { UsageError } from '../context.js';

export interface MoveReport {
  user: string;
  from: string;
  to: string;
  mailboxes: number;
  messages: number;
  secondPass: number;
  ms: number;
}

const movesKey = (prefix: string): string => `${prefix}moves`;
const movesChannel = (prefix: string): string => `${prefix}moves:changed`;

async function setMoveState(redis: RedisClient, prefix: string, user: string, state: { state: 'locked' | 'moved'; from: string; to: string } | null): Promise<void> {
  if (state) await redis.hset(movesKey(prefix), user, JSON.stringify({ ...state, at: new Date().toISOString() }));
  else await redis.hdel(movesKey(prefix), user);
  await redis.publish(movesChannel(prefix), user);
}

function imapTo(config: Config, host: string, user: string): ImapFlow {
  const addr = storeAddress(config, host, 'imap');
  if (!addr) throw new UsageError(`store ${host} has no IMAP listener in the config (store.imap)`);
  const admin = config.mmp.proxyAdmin;
  return new ImapFlow({
    host: addr.host,
    port: addr.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: admin.user, pass: admin.password, authzid: user, loginMethod: 'AUTH=PLAIN' },
    logger: false,
  });
}

/** Copies what `target` lacks of each source mailbox; `copied` remembers "mailbox/uidvalidity/uid". */
async function copyAll(source: ImapFlow, target: ImapFlow, copied: Set<string>, progress: (n: number) => void): Promise<{ mailboxes: number; messages: number }> {
  const list = await source.list();
  let messages = 0;
  const existing = new Set((await target.list()).map((m) => m.path));
  for (const box of list) {
    if (box.flags.has('\\Noselect') || box.path.startsWith('Other Users')) continue;
    if (!existing.has(box.path)) await target.mailboxCreate(box.path);
    const lock = await source.getMailboxLock(box.path);
    try {
      const status = source.mailbox;
      const validity = status ? String(status.uidValidity) : '0';
      if (!status || status.exists === 0) continue;
      for await (const m of source.fetch('1:*', { uid: true, flags: true, internalDate: true, source: true })) {
        const key = `${box.path}/${validity}/${m.uid}`;
        if (copied.has(key) || !m.source) continue;
        const flags = [...(m.flags ?? [])].filter((f) => f !== '\\Recent');
        await target.append(box.path, m.source, flags, m.internalDate instanceof Date ? m.internalDate : undefined);
        copied.add(key);
        messages += 1;
        progress(messages);
      }
    } finally {
      lock.release();
    }
  }
  return { mailboxes: list.length, messages };
}

/** Empties the user's mailboxes on the old store (their copies are on the new one). */
async function emptySource(source: ImapFlow): Promise<void> {
  const list = await source.list();
  for (const box of list.filter((b) => !b.flags.has('\\Noselect') && !b.path.startsWith('Other Users')).reverse()) {
    if (box.path.toUpperCase() === 'INBOX') {
      const lock = await source.getMailboxLock('INBOX');
      try {
        if ((source.mailbox && source.mailbox.exists) || 0) await source.messageDelete('1:*');
      } finally {
        lock.release();
      }
    } else {
      await source.mailboxDelete(box.path).catch(() => undefined);
    }
  }
}

export async function moveUser(config: Config, login: string, to: string, logger: Logger, say: (line: string) => void): Promise<MoveReport> {
  const started = Date.now();
  if (!config.hosts[to]?.roles.includes('store')) throw new UsageError(`${to} is not a store host of the config (hosts.${to}.roles must include store)`);
  const directory = new Directory(config.directory, { logger });
  const redis = createRedis(config.redis, { usePrefix: false, connectionName: 'tiermail-cli-move' });
  const prefix = config.redis.keyPrefix;
  let source: ImapFlow | undefined;
  let target: ImapFlow | undefined;
  let locked = false;
  let switched = false;
  try {
    const entry = await directory.findLoginUser(login);
    if (!entry) throw new UsageError(`no user ${login} in the directory`, 1);
    const user = `${entry.uid}@${entry.domain}`;
    const from = entry.mailHost;
    if (!from) throw new UsageError(`${user} has no mailHost`, 1);
    if (from === to) throw new UsageError(`${user} is already on ${to}`, 1);
    source = imapTo(config, from, user);
    target = imapTo(config, to, user);
    await source.connect();
    await target.connect();
    const copied = new Set<string>();
    say(`${user}: copying from ${from} to ${to} while the user works`);
    const first = await copyAll(source, target, copied, (n) => n % 500 === 0 && say(`  ${n} messages copied`));
    say(`  ${first.messages} messages in ${first.mailboxes} mailboxes; locking ${user} on ${from}`);
    await setMoveState(redis, prefix, user, { state: 'locked', from, to });
    locked = true;
    // A delivery that had passed RCPT before the lock finishes; give it a moment to land.
    await new Promise((r) => setTimeout(r, 500));
    const second = await copyAll(source, target, copied, () => undefined);
    say(`  ${second.messages} more arrived meanwhile; switching mailHost to ${to}`);
    const provisioner = new Provisioner(config.directory);
    try {
      await provisioner.setUser(user, [{ attribute: 'mailHost', operation: 'replace', values: [to] }]);
    } finally {
      await provisioner.close();
    }
    switched = true;
    await publishDirectoryInvalidation(redis, prefix, [user, ...(entry.mail ? [entry.mail] : []), ...entry.alternateAddresses, ...entry.equivalentAddresses]);
    await emptySource(source);
    await setMoveState(redis, prefix, user, { state: 'moved', from, to });
    say(`${user} is on ${to}`);
    return { user, from, to, mailboxes: first.mailboxes, messages: first.messages + second.messages, secondPass: second.messages, ms: Date.now() - started };
  } catch (err) {
    if (locked && !switched) {
      // Not switched: the user stays where they were; unlock so mail flows again.
      const entry = await directory.findLoginUser(login).catch(() => null);
      if (entry) await setMoveState(redis, prefix, `${entry.uid}@${entry.domain}`, null).catch(() => undefined);
    }
    throw err;
  } finally {
    await source?.logout().catch(() => undefined);
    await target?.logout().catch(() => undefined);
    redis.disconnect();
    await directory.close();
  }
}
