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
  assert.ok(!(JSON.parse((await cli('--json', 'queue', 'list')).stdout) as Listed[]).some((e) => e.id === drop));

  await stack.store.start();
  const retry = await cli('--json', 'queue', 'retry', '--all');
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal((JSON.parse(retry.stdout) as { promoted: number }).promoted, 1);
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
