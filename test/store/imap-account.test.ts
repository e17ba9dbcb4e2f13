// NAMESPACE, QUOTA (RFC 9208), STATUS=SIZE, LIST-EXTENDED (RFC 5258) and LIST-STATUS
// (RFC 5819), exact responses over a raw socket; imapflow's quota() as a client library's view.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { RawImap, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
const USER = 'bob@example.test';

before(async () => {
  fx = await startImapFixture();
  // Quota as the relay passes it along with a delivery: 1 MiB and 50 messages.
  const msg = rfc822('sized', 'y'.repeat(2000) + '\r\n');
  const [o] = await fx.store.deliver({ data: msg }, [{ user: USER, quotaBytes: 1024 * 1024, quotaMessages: 50 }]);
  assert.equal(o?.status, 'stored');
});
after(async () => {
  await fx.stop();
});

async function bob(): Promise<RawImap> {
  const { client } = await RawImap.open(fx.port);
  assert.match((await client.command('l', 'LOGIN bob demo-password')).at(-1)!, /^l OK/);
  return client;
}

test('NAMESPACE: personal and other users', async () => {
  const c = await bob();
  assert.deepEqual(await c.command('a', 'NAMESPACE'), ['* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL', 'a OK NAMESPACE completed']);
  c.close();
});

test('GETQUOTAROOT / GETQUOTA report the user quota in KiB and messages; SETQUOTA is refused', async () => {
  const c = await bob();
  const size = fx.store.openUser(USER).quota().usedBytes;
  assert.deepEqual(await c.command('a', 'GETQUOTAROOT INBOX'), [
    '* QUOTAROOT INBOX ""',
    `* QUOTA "" (STORAGE ${Math.ceil(size / 1024)} 1024 MESSAGE 1 50)`,
    'a OK GETQUOTAROOT completed',
  ]);
  assert.deepEqual(await c.command('b', 'GETQUOTA ""'), [`* QUOTA "" (STORAGE ${Math.ceil(size / 1024)} 1024 MESSAGE 1 50)`, 'b OK GETQUOTA completed']);
  assert.deepEqual(await c.command('c', 'GETQUOTA "other"'), ['c NO [NONEXISTENT] No such quota root']);
  assert.deepEqual(await c.command('d', 'GETQUOTAROOT Nope'), ['d NO [NONEXISTENT] Mailbox does not exist']);
  assert.deepEqual(await c.command('e', 'SETQUOTA "" (STORAGE 10)'), ['e NO [NOPERM] Quotas are set in the directory (mailQuota, mailMsgQuota)']);
  assert.deepEqual(await c.command('f', 'STATUS INBOX (MESSAGES SIZE)'), [`* STATUS INBOX (MESSAGES 1 SIZE ${size})`, 'f OK STATUS completed']);
  c.close();

  const flow = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'bob', pass: 'demo-password' }, logger: false });
  await flow.connect();
  const q = await flow.getQuota('INBOX');
  assert.ok(q, 'imapflow read the quota');
  // imapflow reads STORAGE (in bytes) and ignores the MESSAGE resource.
  assert.deepEqual(q.storage, { usage: Math.ceil(size / 1024) * 1024, limit: 1024 * 1024, status: '0%' });
  await flow.logout();
});

test('LIST-EXTENDED: selection and return options, several patterns, CHILDINFO; LIST-STATUS', async () => {
  const c = await bob();
  for (const n of ['Work', 'Work/Reports', 'Work/Old', 'Play']) await c.command('a', `CREATE ${n}`);
  await c.command('b', 'SUBSCRIBE Work/Reports');
  await c.command('b', 'SUBSCRIBE Gone');
  assert.deepEqual(await c.command('c', 'LIST (SUBSCRIBED) "" "*"'), [
    '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
    '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
    '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Reports"',
    'c OK LIST completed',
  ]);
  assert.deepEqual(await c.command('d', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
    '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
    '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
    '* LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))',
    'd OK LIST completed',
  ]);
  assert.deepEqual(await c.command('e', 'LIST "" (Play "Work/%") RETURN (SUBSCRIBED CHILDREN)'), [
    '* LIST (\\HasNoChildren) "/" "Play"',
    '* LIST (\\HasNoChildren) "/" "Work/Old"',
    '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Reports"',
    'e OK LIST completed',
  ]);
  assert.deepEqual(await c.command('f', 'LIST "" INBOX RETURN (STATUS (MESSAGES UIDNEXT))'), [
    '* LIST (\\HasNoChildren) "/" "INBOX"',
    '* STATUS INBOX (MESSAGES 1 UIDNEXT 2)',
    'f OK LIST completed',
  ]);
  assert.deepEqual(await c.command('g', 'LIST (RECURSIVEMATCH) "" "*"'), ['g BAD RECURSIVEMATCH needs another selection option']);
  assert.deepEqual(await c.command('h', 'LIST (BOGUS) "" "*"'), ['h BAD Unknown selection option BOGUS']);
  assert.deepEqual(await c.command('i', 'LIST "" "*" RETURN (STATUS)'), ['i BAD STATUS return option needs a list of items']);
  c.close();
});
