// The LMTP state machine on its own: command lines in, replies out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LmtpSession } from '@tiermail/store/lmtp/session';

const opts = { hostname: 'store1.example.test', defaultDomain: 'Example.Test', maxRecipients: 3, maxMessageSize: 1000 };

function ready(): LmtpSession {
  const s = new LmtpSession(opts);
  assert.match(s.command('LHLO relay1').reply, /^250-store1\.example\.test\r\n250-PIPELINING\r\n/);
  return s;
}

test('LHLO advertises the extensions and order is enforced', () => {
  const s = new LmtpSession(opts);
  assert.match(s.greeting(), /^220 store1\.example\.test /);
  assert.match(s.command('MAIL FROM:<a@b.example>').reply, /^503 5\.5\.1 Send LHLO first/);
  assert.match(s.command('EHLO relay1').reply, /^500 5\.5\.1 This is LMTP: use LHLO/);
  const lhlo = s.command('LHLO relay1').reply.split('\r\n');
  assert.deepEqual(lhlo.map((l) => l.slice(4)), ['store1.example.test', 'PIPELINING', 'ENHANCEDSTATUSCODES', '8BITMIME', 'SIZE 1000', 'UID', 'XQUOTA', 'XDELIVERYID']);
  assert.match(lhlo[lhlo.length - 1] ?? '', /^250 /);
  assert.match(s.command('RCPT TO:<bob@example.test>').reply, /^503 5\.5\.1 Need MAIL before RCPT/);
  assert.match(s.command('DATA').reply, /^503 5\.5\.1 Need MAIL before DATA/);
  assert.match(s.command('MAIL FROM:<a@b.example>').reply, /^250 2\.1\.0/);
  assert.match(s.command('MAIL FROM:<a@b.example>').reply, /^503 5\.5\.1 Nested MAIL/);
  assert.match(s.command('DATA').reply, /^503 5\.5\.1 Need RCPT before DATA/);
});

test('RCPT parameters become the delivery request', () => {
  const s = ready();
  s.command('MAIL FROM:<> SIZE=500 BODY=8BITMIME UID=RET');
  assert.match(s.command('RCPT TO:<Alice+Lists/Work@Example.Test> XQUOTA=1048576,100 XDELIVERYID=Q123+2Balice').reply, /^250 2\.1\.5 <Alice\+Lists\/Work@Example\.Test>/);
  assert.match(s.command('RCPT TO:<bob>').reply, /^250 /);
  const r = s.command('DATA');
  assert.equal(r.kind, 'data');
  if (r.kind !== 'data') return;
  assert.equal(r.envelope.from, '');
  assert.equal(r.envelope.uidRet, true);
  assert.equal(r.envelope.body, '8BITMIME');
  assert.deepEqual(r.envelope.recipients, [
    { address: 'Alice+Lists/Work@Example.Test', user: 'alice@example.test', folder: 'Lists/Work', quotaBytes: 1048576, quotaMessages: 100, deliveryId: 'Q123+alice' },
    { address: 'bob', user: 'bob@example.test' },
  ]);
});

test('bad parameters, sizes and recipients get the right codes', () => {
  const s = ready();
  assert.match(s.command('MAIL FROM:<a@b.example> SIZE=5000').reply, /^552 5\.3\.4 /);
  assert.match(s.command('MAIL FROM:<a@b.example> SIZE=abc').reply, /^501 5\.5\.4 Bad SIZE/);
  assert.match(s.command('MAIL FROM:<a@b.example> RET=HDRS').reply, /^555 5\.5\.4 MAIL parameter RET not supported/);
  assert.match(s.command('MAIL FROM:a@b.example').reply, /^501 5\.1\.7 /);
  assert.match(s.command('MAIL FROM:<a@b.example>').reply, /^250 /);
  assert.match(s.command('RCPT TO:<bad$uid@example.test>').reply, /^550 5\.1\.1 /);
  assert.match(s.command('RCPT TO:<bob@example.test> XQUOTA=lots').reply, /^501 5\.5\.4 XQUOTA/);
  assert.match(s.command('RCPT TO:<bob@example.test> NOTIFY=NEVER').reply, /^555 5\.5\.4 /);
  for (let i = 0; i < 3; i += 1) assert.match(s.command(`RCPT TO:<u${i}@example.test>`).reply, /^250 /);
  assert.match(s.command('RCPT TO:<u4@example.test>').reply, /^452 4\.5\.3 Too many recipients/);
  assert.match(s.command('DATA extra').reply, /^501 /);
  assert.match(s.command('RSET').reply, /^250 /);
  assert.match(s.command('DATA').reply, /^503 /);
});

test('unknown commands and junk are answered and too many errors close the session', () => {
  const s = new LmtpSession({ ...opts, maxErrors: 3 });
  assert.match(s.command('FROB').reply, /^500 5\.5\.1 Unknown command "FROB"/);
  assert.match(s.command('\u0001\u0002binary').reply, /^500 5\.5\.2 Bad character/);
  assert.match(s.command('').reply, /^500 5\.5\.2 Empty command/);
  const last = s.command('BDAT 10 LAST');
  assert.equal(last.kind, 'close');
  assert.match(last.reply, /^421 4\.7\.0 /);
  assert.equal(s.command('QUIT').kind, 'close');
});
