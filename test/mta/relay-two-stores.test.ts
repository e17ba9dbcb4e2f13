// The relay's first acceptance case end to end: one message from nodemailer through the MX
// port to alice (on store1) and bob (on store2, two different store processes); each reads it
// over IMAP on their own store, and mail.log has E then D for each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { Attribute, Change, Client } from 'ldapts';
import { demoDns } from '@tiermail/core/slapd/index';
import { startStore, type StoreHandle } from '../harness/store.js';
import { queueIdOf, startStack, transport, waitFor, type Stack } from './helpers.js';

let stack: Stack;
let store2: StoreHandle;

before(async () => {
  stack = await startStack();
  store2 = await startStore({ workers: 1, redisPort: stack.redis.port, ldapUrl: stack.slapd.url });
  const ldap = new Client({ url: stack.slapd.url });
  await ldap.bind(stack.slapd.adminDn, stack.slapd.adminPassword);
  await ldap.modify(demoDns().bob, [new Change({ operation: 'replace', modification: new Attribute({ type: 'mailHost', values: ['store2'] }) })]);
  await ldap.unbind();
  // The relay learns where store2 is from hosts: restart it with that entry.
  await stack.relay.stop();
  await stack.relay.cleanup();
  const { startRelay } = await import('../harness/relay.js');
  stack.relay = await startRelay({
    ldapUrl: stack.slapd.url,
    redisPort: stack.redis.port,
    storePort: stack.store.port,
    hosts: { store2: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: store2.port } } } } },
  });
});
after(async () => {
  // The relay was replaced: stop this one (stack.stop() knows the first).
  await stack?.relay.stop().catch(() => undefined);
  await stack?.relay.cleanup();
  await stack?.stop();
  await store2?.stop().catch(() => undefined);
  await store2?.cleanup();
});

async function imapSubjects(port: number, user: string): Promise<string[]> {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: 'demo-password' }, logger: false });
  await c.connect();
  try {
    await c.mailboxOpen('INBOX');
    const out: string[] = [];
    for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope?.subject ?? '');
    return out;
  } finally {
    await c.logout();
  }
}

test('one message to alice (store1) and bob (store2): each reads it over IMAP on their store; E then D for each', async () => {
  const info = await transport(stack.relay.port).sendMail({
    from: 'sender@example.org',
    to: ['alice@example.test', 'bob@example.test'],
    subject: 'to two stores',
    text: 'one message, two stores',
  });
  const id = queueIdOf(info.response);
  await waitFor('both delivered', () => {
    const codes = stack.relay.mailLog().filter((r) => r.queueId === id && r.code === 'DL');
    return codes.length === 2;
  });
  for (const user of ['alice@example.test', 'bob@example.test']) {
    const records = stack.relay.mailLog().filter((r) => r.queueId === id && r.to === user);
    assert.deepEqual(records.map((r) => r.code), ['E', 'DL'], user);
  }
  const dl = stack.relay.mailLog().filter((r) => r.queueId === id && r.code === 'DL');
  assert.match(dl.find((r) => r.to === 'alice@example.test')?.remote ?? '', /^store1 /);
  assert.match(dl.find((r) => r.to === 'bob@example.test')?.remote ?? '', /^store2 /);
  assert.ok((await imapSubjects(stack.store.imapPort, 'alice@example.test')).includes('to two stores'), 'alice on store1');
  assert.ok((await imapSubjects(store2.imapPort, 'bob@example.test')).includes('to two stores'), 'bob on store2');
  // And neither store has the other's copy.
  assert.ok(!(await imapSubjects(store2.imapPort, 'alice@example.test').catch((): string[] => [])).includes('to two stores'));
});
