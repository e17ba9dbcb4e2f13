import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MailLog, createLogger, parseMailLogLine } from '@tiermail/core';

test('mail.log writes one JSON record per line and reopens after rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-maillog-'));
  const file = join(dir, 'mail.log');
  const log = new MailLog(file, 'relay1');
  const base = { source: 'tcp_local', dest: 'lmtp', size: 2048, from: 'a@example.test', orcpt: 'bob@example.test', to: 'bob@example.test', queueId: 'Q1', messageId: '<m1@x>' };
  log.write({ ...base, code: 'E' });
  log.write({ ...base, code: 'DL', answer: '250 2.1.5 Ok' });
  renameSync(file, `${file}.1`);
  await log.reopen();
  log.write({ ...base, code: 'Q', answer: '452 4.2.2 over quota' });
  await log.close();
  const first = readFileSync(`${file}.1`, 'utf8').trim().split('\n').map((l) => parseMailLogLine(l));
  assert.deepEqual(first.map((r) => r?.code), ['E', 'DL']);
  assert.equal(first[0]?.host, 'relay1');
  assert.match(first[0]?.time ?? '', /^\d{4}-\d\d-\d\dT/);
  const second = readFileSync(file, 'utf8').trim().split('\n').map((l) => parseMailLogLine(l));
  assert.equal(second[0]?.answer, '452 4.2.2 over quota');
});

test('mail.log refuses a record with an unknown action code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-maillog-'));
  const log = new MailLog(join(dir, 'mail.log'), 'h');
  assert.throws(
    () => log.write({ source: 'a', dest: 'b', code: 'X', size: 1, from: '', orcpt: 'x', to: 'x' }),
    /expected an action code/,
  );
  await log.close();
  assert.equal(parseMailLogLine('not json'), undefined);
  assert.equal(parseMailLogLine('{"code":"E"}'), undefined);
});

test('service log is JSON with service and host, and never prints passwords', () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ service: 'relay', host: 'relay1', level: 'debug', stream });
  log.info({ user: 'alice', password: 'secret', directory: { bindPassword: 'secret2' } }, 'login');
  const rec = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(rec.service, 'relay');
  assert.equal(rec.host, 'relay1');
  assert.equal(rec.msg, 'login');
  assert.doesNotMatch(lines[0] ?? '', /secret/);
});
