// HeaderHold alone: the header is held until its blank line, however the bytes are cut, and
// released once with the missing Message-ID/Date in front; an endless header is let through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderHold, missingFields } from '@tiermail/mta/smtp/header-hold';

const now = () => new Date('2026-11-25T05:00:00Z');

function run(message: string, cut: number, max?: number): string {
  const hold = new HeaderHold('relay1.example.test', max, now);
  const out: Buffer[] = [];
  const b = Buffer.from(message, 'latin1');
  for (let i = 0; i < b.length; i += cut) out.push(hold.push(b.subarray(i, i + cut)));
  out.push(hold.end());
  return Buffer.concat(out).toString('latin1');
}

test('the missing fields go in front of the header, whatever the chunk size', () => {
  const msg = 'Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n.line\r\n';
  for (const cut of [1, 2, 3, 7, 1000]) {
    const out = run(msg, cut);
    assert.match(out, /^Message-ID: <[0-9a-z]+\.[0-9a-f]{16}@relay1\.example\.test>\r\nDate: Wed, 25 Nov 2026 05:00:00 \+0000\r\nSubject: x\r\n/);
    assert.ok(out.endsWith(msg), `cut ${cut}`);
  }
});

test('fields already present are not added again (any case, space before the colon)', () => {
  assert.equal(missingFields('message-id : <a@b>\r\nDATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n', 'h', now()), '');
  assert.match(missingFields('Message-ID: <a@b>\r\n', 'h', now()), /^Date: /);
  // "X-Message-ID" is another field.
  assert.match(missingFields('X-Message-ID: <a@b>\r\nDate: x\r\n', 'h', now()), /^Message-ID: /);
  // Only the header counts: a body line that looks like a field does not.
  assert.match(run('Subject: x\r\n\r\nDate: in the body\r\n', 5), /^Message-ID: .*\r\nDate: Wed/);
});

test('a header-only message and an oversized header', () => {
  assert.match(run('Subject: only a header\r\n', 4), /^Message-ID: .*\r\nDate: .*\r\nSubject: only a header\r\n$/);
  const long = `X-Long: ${'a'.repeat(5000)}\r\n\r\nbody\r\n`;
  const out = run(long, 100, 1024);
  // Past the hold limit the bytes pass through as they are (with what was known missing so far).
  assert.ok(out.endsWith(long));
});
