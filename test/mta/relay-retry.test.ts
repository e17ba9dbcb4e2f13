// Delivery that does not succeed at once: a store answering 452 (over quota) gets the
// recipient retried on the channel's schedule; a store that is down while Redis loses every
// job (FLUSHALL) still gets every message once the resync has re-created the jobs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client } from 'ldapts';
import { demoDns } from '@tiermail/core/slapd/index';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.js';
import { inbox, queueIdOf, recordsFor, startStack, transport, waitFor, type Stack } from './helpers.js';

let stack: Stack;
let ldap: Client;
/** A store in the middle of moving dave away: answers 423 naming store1. */
let movedFrom: SmtpSink;
const dns = demoDns();
const carol = `uid=carol,${dns.people}`;

before(async () => {
  movedFrom = await startSmtpSink({
    lmtp: true,
    script: (stage, address) => (stage === 'rcpt' && address === 'dave@example.test' ? '423 4.3.2 <dave@example.test> Mailbox moved to store1' : null),
  });
  stack = await startStack(
    { hosts: { oldstore: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: movedFrom.port } } } } } },
    { 'remote.example': {} },
  );
  ldap = new Client({ url: stack.slapd.url });
  await ldap.bind(stack.slapd.adminDn, stack.slapd.adminPassword);
  await ldap.add(carol, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'],
    uid: 'carol',
    cn: 'Carol King',
    sn: 'King',
    mail: 'carol@example.test',
    mailHost: 'store1',
    mailDeliveryOption: 'mailbox',
    mailMsgQuota: '1',
    inetUserStatus: 'active',
    mailUserStatus: 'active',
  });
});
after(async () => {
  await ldap?.unbind();
  await stack?.stop();
  await movedFrom?.stop();
});

const replace = (type: string, values: string[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

test('a store answering 452 over quota: Q, then delivered once an operator raises the quota', async () => {
  const send = async (subject: string): Promise<string> =>
    queueIdOf((await transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'carol@example.test', subject, text: subject })).response);
  const first = await send('first');
  await waitFor('the first message delivered', () => recordsFor(stack.relay.mailLog(), first).includes('DL carol@example.test'));
  const second = await send('second');
  const q = await waitFor('a Q record', () => stack.relay.mailLog().find((r) => r.queueId === second && r.code === 'QL'));
  assert.match(q.answer ?? '', /^452 4\.2\.2 /);
  // Still over quota on the next attempts (1 s apart in this config): more Q records.
  await waitFor('a second Q record', () => recordsFor(stack.relay.mailLog(), second).filter((r) => r.startsWith('QL')).length >= 2);
  await ldap.modify(carol, [replace('mailMsgQuota', ['100'])]);
  await waitFor('the second message delivered', () => recordsFor(stack.relay.mailLog(), second).includes('DL carol@example.test'));
  const codes = recordsFor(stack.relay.mailLog(), second).map((r) => r.split(' ')[0]);
  assert.equal(codes[0], 'E');
  assert.equal(codes.at(-1), 'DL');
  assert.ok(codes.slice(1, -1).every((c) => c === 'QL'), codes.join(' '));
  // (The store also files a quota warning in her INBOX, so count by subject.)
  assert.equal(inbox(stack.store, 'carol@example.test').filter((m) => m.text.includes('Subject: second')).length, 1);
});

test('forwarding: mailbox copy, a local target delivered, a remote target in a domain without mail hosts deferred on smtp', async () => {
  await ldap.modify(carol, [replace('mailDeliveryOption', ['mailbox', 'forward']), replace('mailForwardingAddress', ['bob@example.test', 'carol.ext@remote.example'])]);
  await new Promise((r) => setTimeout(r, 600)); // the relay's directory cache (500 ms in tests)
  const bobBefore = inbox(stack.store, 'bob@example.test').length;
  const info = await transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'carol@example.test', subject: 'fwd', text: 'fwd' });
  const id = queueIdOf(info.response);
  await waitFor('two D records', () => recordsFor(stack.relay.mailLog(), id).filter((r) => r.startsWith('DL')).length === 2);
  const records = recordsFor(stack.relay.mailLog(), id);
  assert.ok(records.includes('DL carol@example.test') && records.includes('DL bob@example.test'), records.join(', '));
  // remote.example is a known name in the test DNS with no MX and no address: 451 4.4.4, retried.
  await waitFor('a Q record for the remote target', () => recordsFor(stack.relay.mailLog(), id).includes('Q carol.ext@remote.example'));
  assert.ok(recordsFor(stack.relay.mailLog(), id).includes('E carol.ext@remote.example'));
  assert.equal(inbox(stack.store, 'bob@example.test').length, bobBefore + 1);
  await ldap.modify(carol, [replace('mailDeliveryOption', ['mailbox'])]);
});

test('Redis FLUSHALL with 200 messages waiting for a store that is down: all 200 delivered after resync', async () => {
  const N = 200;
  const before = inbox(stack.store, 'alice@example.test').length;
  await stack.store.stop();
  const t = transport(stack.relay.port);
  const ids: string[] = [];
  for (let i = 0; i < N; i += 1) {
    ids.push(queueIdOf((await t.sendMail({ from: 'sender@example.org', to: 'alice@example.test', subject: `flush ${i}`, text: `n${i}` })).response));
  }
  // Every message has been tried once and is waiting in a delayed job.
  await waitFor('a Q record for each message', () => {
    const q = new Set(stack.relay.mailLog().filter((r) => r.code === 'QL').map((r) => r.queueId));
    return ids.every((id) => q.has(id));
  });
  await stack.redis.flushAll();
  await stack.store.start();
  await waitFor(
    `${N} deliveries`,
    () => {
      const d = new Set(stack.relay.mailLog().filter((r) => r.code === 'DL').map((r) => r.queueId));
      return ids.every((id) => d.has(id));
    },
    60000,
  );
  assert.equal(inbox(stack.store, 'alice@example.test').length, before + N, 'each message stored exactly once');
});

test('an inactive user is refused with 550 5.2.1; an unanswering directory gives 451 4.4.3', async () => {
  await ldap.modify(carol, [replace('mailUserStatus', ['inactive'])]);
  await new Promise((r) => setTimeout(r, 600)); // the relay's directory cache (500 ms in tests)
  await assert.rejects(
    transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'carol@example.test', subject: 'x', text: 'x' }),
    (err: { response?: string }) => /^550 5\.2\.1 <carol@example\.test>: Mailbox disabled/.test(err.response ?? ''),
  );
  await new Promise((r) => setTimeout(r, 600));
  stack.slapd.pause();
  try {
    await assert.rejects(
      transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'alice@example.test', subject: 'x', text: 'x' }),
      (err: { response?: string }) => /^451 4\.4\.3 /.test(err.response ?? ''),
    );
  } finally {
    stack.slapd.resume();
  }
  // mail.log is written asynchronously by the SMTP workers: wait for both records.
  const j = await waitFor('the J records', () => {
    const codes = stack.relay.mailLog().filter((r) => r.code === 'J').map((r) => r.answer?.slice(0, 9));
    return codes.includes('550 5.2.1') && codes.includes('451 4.4.3') ? codes : undefined;
  }, 5000);
  assert.ok(j.length >= 2);
});

test('423 from a store the mailbox moved away from: the recipient goes to the named store at once, stored once', async () => {
  await ldap.add(`uid=dave,${dns.people}`, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'],
    uid: 'dave',
    cn: 'Dave Moved',
    sn: 'Moved',
    mail: 'dave@example.test',
    // The relay's view before the switch: still the old store.
    mailHost: 'oldstore',
    mailDeliveryOption: 'mailbox',
    inetUserStatus: 'active',
    mailUserStatus: 'active',
  });
  const info = await transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'dave@example.test', subject: 'moved', text: 'x' });
  const id = queueIdOf(info.response);
  await waitFor('delivered at store1', () => recordsFor(stack.relay.mailLog(), id).includes('DL dave@example.test'));
  const records = stack.relay.mailLog().filter((r) => r.queueId === id);
  assert.deepEqual(records.map((r) => r.code), ['E', 'QL', 'DL']);
  assert.match(records[1]!.answer ?? '', /^423 4\.3\.2 /);
  assert.match(records[1]!.remote ?? '', /^oldstore /);
  assert.match(records[2]!.remote ?? '', /^store1 /);
  // Redirected at once, not after the retry interval.
  assert.ok(Date.parse(records[2]!.time) - Date.parse(records[1]!.time) < 900, `${records[1]!.time} -> ${records[2]!.time}`);
  assert.equal(inbox(stack.store, 'dave@example.test').filter((m) => m.text.includes('Subject: moved')).length, 1);
  assert.equal(movedFrom.messages.length, 0);
});
