// `tiermail queue` and `tiermail trace` through the real CLI process against a real relay:
// messages held while the store is down are listed with their recipients' state, `retry`
// sends them at once instead of at the next scheduled attempt (60 s away), `delete` sets one
// aside, and `trace` shows a message's records from mail.log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../harness/cli.js';
import { inbox, queueIdOf, startStack, transport, waitFor, type Stack } from '../mta/helpers.js';

let stack: Stack;
before(async () => {
  // Retries a minute apart, so only `queue retry` can deliver within the test's waits.
  stack = await startStack({ relay: { channels: { lmtp: { retrySeconds: [60], concurrency: 4 } } } });
});
after(async () => {
  await stack?.stop();
});

const cli = (...args: string[]) => runCli(['-c', stack.relay.configFile, '--host', 'relay1', ...args]);

interface Listed {
  id: string;
  from: string;
  recipients: Array<{ to: string; status: { state: string; attempts: number; lastAnswer?: string | null } }>;
}

test('list, summary, show, retry and delete on a queue held by a stopped store; trace follows one message', async () => {
  await stack.store.stop();
  const send = async (subject: string): Promise<string> =>
    queueIdOf((await transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'alice@example.test', subject, text: subject })).response);
  const keep = await send('held one');
  const drop = await send('held two');
  await waitFor('both attempted once', () => {
    const q = stack.relay.mailLog().filter((r) => r.code.startsWith('Q') && (r.queueId === keep || r.queueId === drop));
    return q.length >= 2;
  });

  const list = await cli('--json', 'queue', 'list');
  assert.equal(list.code, 0, list.stderr);
  const entries = JSON.parse(list.stdout) as Listed[];
  const held = entries.find((e) => e.id === keep);
  assert.ok(held, list.stdout);
  assert.equal(held.from, 'sender@example.org');
  assert.equal(held.recipients[0]?.to, 'alice@example.test');
  assert.equal(held.recipients[0]?.status.state, 'pending');
  assert.ok((held.recipients[0]?.status.attempts ?? 0) >= 1);

  const human = await cli('queue', 'list');
  assert.match(human.stdout, new RegExp(`${keep} .*<sender@example.org>`));
  assert.match(human.stdout, /alice@example\.test via lmtp:store1 {2}pending, 1 attempts/);

  const summary = await cli('--json', 'queue', 'summary');
  const sum = JSON.parse(summary.stdout) as { messages: number; destinations: Record<string, { recipients: number }>; jobs: Record<string, Record<string, number>> };
  assert.equal(sum.messages, 2);
  assert.equal(sum.destinations['lmtp:store1']?.recipients, 2);
  assert.equal(sum.jobs.lmtp?.delayed, 2);

  const show = await cli('queue', 'show', keep);
  assert.match(show.stdout, /Subject: held one/);
  assert.equal((await cli('queue', 'show', 'NOPE')).code, 2);

  const del = await cli('queue', 'delete', drop);
  assert.equal(del.code, 0, del.stderr);
  assert.ok(existsSync(join(stack.relay.config.paths.var, 'spool', 'deleted', `${drop}.eml`)));
  assert.ok(stack.relay.mailLog().some((r) => r.queueId === drop && r.code === 'K' && r.remote === 'operator'), 'a K record for the deleted message');
  assert.ok(!(JSON.parse((await cli('--json', 'queue', 'list')).stdout) as Listed[]).some((e) => e.id === drop));

  await stack.store.start();
  const retry = await cli('--json', 'queue', 'retry', '--all');
  assert.equal(retry.code, 0, retry.stderr);
  assert.deepEqual((JSON.parse(retry.stdout) as { retried: string[] }).retried, [keep]);
  await waitFor('the held message delivered after retry', () => inbox(stack.store, 'alice@example.test').some((m) => m.text.includes('Subject: held one')), 15000);
  assert.ok(!inbox(stack.store, 'alice@example.test').some((m) => m.text.includes('Subject: held two')), 'the deleted one is never delivered');

  const trace = await cli('trace', keep);
  assert.equal(trace.code, 0, trace.stderr);
  const lines = trace.stdout.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`  E  .*${keep}  <sender@example.org> → alice@example.test`));
  assert.ok(lines.some((l) => /  QL .*4\.4\.1|  QL /.test(l)), trace.stdout);
  assert.match(lines.at(-1)!, /  DL /);
  const byAddress = await cli('--json', 'trace', 'sender@example.org');
  assert.ok((JSON.parse(byAddress.stdout) as { records: Array<{ queueId: string }> }).records.some((r) => r.queueId === drop));
});

test('hold, release and return by filter and id: H and R records, held messages wait, the returned one goes back to its sender', async () => {
  await stack.store.stop();
  const send = async (from: string, to: string, subject: string): Promise<string> =>
    queueIdOf((await transport(stack.relay.port).sendMail({ from, to, subject, text: subject })).response);
  const m1 = await send('alice@example.test', 'bob@example.test', 'to be returned');
  const m2 = await send('sender@example.org', 'alice@example.test', 'to be held and released');
  const m3 = await send('sender@example.org', 'bob@example.test', 'left alone');
  await waitFor('all three tried once', () => [m1, m2, m3].every((id) => stack.relay.mailLog().some((r) => r.queueId === id && r.code === 'QL')));

  const bad = await cli('queue', 'hold', '--older-than', '5x');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--older-than 5x: expected a number and s, m, h or d/);
  assert.equal((await cli('queue', 'hold')).code, 2, 'no ids and no filter: refused rather than holding everything');

  const held = await cli('--json', 'queue', 'hold', '--from', 'alice@example.test', '--reason', 'checking a complaint');
  assert.equal(held.code, 0, held.stderr);
  assert.deepEqual((JSON.parse(held.stdout) as { held: string[] }).held, [m1]);
  assert.deepEqual((JSON.parse((await cli('--json', 'queue', 'hold', m2)).stdout) as { held: string[] }).held, [m2]);
  const heldList = JSON.parse((await cli('--json', 'queue', 'list', '--held')).stdout) as Array<{ id: string; held?: { reason?: string } }>;
  assert.deepEqual(heldList.map((e) => e.id).sort(), [m1, m2].sort());
  assert.equal(heldList.find((e) => e.id === m1)?.held?.reason, 'checking a complaint');
  assert.match((await cli('queue', 'summary')).stdout, /lmtp:store1: 3 recipient\(s\) waiting \(2 held\)/);
  assert.ok(stack.relay.mailLog().some((r) => r.queueId === m1 && r.code === 'H' && /checking a complaint/.test(r.answer ?? '')));

  const ret = await cli('--json', 'queue', 'return', m1, '--reason', 'recipient asked us to');
  assert.equal(ret.code, 0, ret.stderr);
  const r = stack.relay.mailLog().find((x) => x.queueId === m1 && x.code.startsWith('R'));
  assert.match(r?.answer ?? '', /^550 5\.0\.0 returned to the sender by the postmaster: recipient asked us to/);

  const rel = await cli('--json', 'queue', 'release', '--all');
  assert.deepEqual((JSON.parse(rel.stdout) as { released: string[] }).released, [m2]);

  await stack.store.start();
  await cli('queue', 'retry', '--all');
  await waitFor('m2 and m3 delivered', () => [m2, m3].every((id) => stack.relay.mailLog().some((x) => x.queueId === id && x.code === 'DL')), 15000);
  const dsn = await waitFor('the DSN for the returned message', () =>
    inbox(stack.store, 'alice@example.test').find((m) => m.text.includes('Undelivered Mail Returned to Sender') && m.text.includes(m1)),
  15000);
  assert.match(dsn.text, /Diagnostic-Code: smtp; 550 5\.0\.0 returned to the sender by the postmaster/);
  assert.ok(!inbox(stack.store, 'bob@example.test').some((m) => m.text.includes('Subject: to be returned')), 'the returned message is not delivered');
  assert.ok(!existsSync(join(stack.relay.config.paths.var, 'spool', 'queue', m1.slice(-2).toLowerCase(), `${m1}.json`)));
});
