// The MX is not an open relay, whatever the address looks like: from a client outside
// relay.trustedNetworks, the old relay tricks (percent hack, source routes, quoted local parts,
// an @ in the local part, bang paths) are refused, and the remote MX they aim at never hears
// of them. The same addresses from an authenticated submission are a different matter and are
// not tested here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LmtpClient } from '../harness/lmtp-client.js';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.js';
import { startStack, type Stack } from './helpers.js';

let stack: Stack;
let mx: SmtpSink;

before(async () => {
  mx = await startSmtpSink();
  stack = await startStack(
    // Nobody is trusted: the test client (127.0.0.1) is the internet.
    { relay: { trustedNetworks: ['10.255.255.0/24'], channels: { smtp: { port: mx.port } } } },
    { 'remote.example': { mx: [[10, 'mx.remote.example']] }, 'mx.remote.example': { a: ['127.0.0.1'] } },
  );
});
after(async () => {
  await stack?.stop();
  await mx?.stop();
});

const TRICKS = [
  'victim@remote.example',
  'victim%remote.example@example.test',
  '@example.test:victim@remote.example',
  '@example.test,@example.test:victim@remote.example',
  '"victim@remote.example"@example.test',
  'victim@remote.example@example.test',
  'remote.example!victim@example.test',
  'victim@remote.example.',
  'victim@[127.0.0.1]',
  'victim@REMOTE.EXAMPLE',
];

test('relay tricks from an untrusted client are all refused, and the remote MX hears nothing', async () => {
  const { client } = await LmtpClient.open(stack.relay.port);
  assert.match(await client.command('EHLO attacker.example.org'), /^250/);
  const answers: Array<[string, string]> = [];
  for (const rcpt of TRICKS) {
    assert.match(await client.command('MAIL FROM:<spammer@attacker.example.org>'), /^250/);
    const r = await client.command(`RCPT TO:<${rcpt}>`);
    answers.push([rcpt, r]);
    await client.command('RSET');
  }
  await client.close();
  for (const [rcpt, r] of answers) process.stdout.write(`# ${rcpt} -> ${r}\n`);
  const accepted = answers.filter(([, r]) => !/^5\d\d /.test(r));
  assert.deepEqual(accepted, [], 'every trick refused with a permanent error');
  // The plain remote address gets the relaying refusal itself.
  assert.match(answers[0]![1], /^550 5\.7\.1 /);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(mx.connections, 0, 'the remote MX was never contacted');
  assert.ok(!stack.relay.mailLog().some((r) => r.code === 'E'), 'nothing was queued');
  // A local user is still reachable from the same client: this is the MX.
  const again = await LmtpClient.open(stack.relay.port);
  await again.client.command('EHLO attacker.example.org');
  await again.client.command('MAIL FROM:<someone@attacker.example.org>');
  assert.match(await again.client.command('RCPT TO:<alice@example.test>'), /^250 /);
  await again.client.close();
});
