import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MailboxNameError,
  checkMailboxName,
  decodeModifiedUtf7,
  encodeModifiedUtf7,
  mailboxAncestors,
  mailboxNameFromUnicode,
  mailboxNameToUnicode,
  normalizeMailboxName,
} from '@tiermail/store/mailbox-name';

test('modified UTF-7 round-trips the RFC 3501 example and other scripts', () => {
  assert.equal(encodeModifiedUtf7('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.equal(decodeModifiedUtf7('&U,BTFw-'), '台北');
  assert.equal(encodeModifiedUtf7('Entwürfe'), 'Entw&APw-rfe');
  assert.equal(encodeModifiedUtf7('a&b'), 'a&-b');
  assert.equal(decodeModifiedUtf7('a&-b'), 'a&b');
  for (const text of ['Ünïcødé', 'emoji 😀 here', 'Корзина', '&&', 'x\u00e9y\u00e9']) {
    assert.equal(decodeModifiedUtf7(encodeModifiedUtf7(text)), text);
  }
});

test('invalid modified UTF-7 is refused', () => {
  const bad = [
    '&U,BTFw', // unterminated shift
    '&U/BTFw-', // "/" is not modified base64
    '&AGE-', // printable ASCII ("a") inside a shift
    '&APw-&APw-', // two adjacent shifts (not canonical)
    '&AP-', // leftover bits not zero / odd bytes
    '&2D0-', // unpaired surrogate
    'caf\u00e9', // raw 8-bit
    '&APwA-', // non-zero padding
  ];
  for (const name of bad) {
    assert.throws(() => decodeModifiedUtf7(name), MailboxNameError, name);
    assert.deepEqual(checkMailboxName(name), { ok: false, problem: 'bad-utf7' }, name);
  }
});

test('INBOX is case-insensitive, other names are not', () => {
  assert.equal(normalizeMailboxName('inbox'), 'INBOX');
  assert.equal(normalizeMailboxName('InBoX/Sub'), 'INBOX/Sub');
  assert.equal(normalizeMailboxName('Sent'), 'Sent');
  assert.equal(normalizeMailboxName('sent'), 'sent');
  assert.equal(normalizeMailboxName('Archive/inbox'), 'Archive/inbox');
});

test('hierarchy rules and traversal attempts are refused', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['/etc/passwd', 'leading-separator'],
    ['a/', 'trailing-separator'],
    ['a//b', 'empty-level'],
    ['..', 'dot-level'],
    ['a/../../b', 'dot-level'],
    ['./x', 'dot-level'],
    ['a\u0000b', 'control-character'],
    ['line\nbreak', 'control-character'],
    ['tab\there', 'control-character'],
    ['del\u007f', 'control-character'],
    ['&AIU-', 'control-character'], // U+0085 NEL, encoded
    ['a*', 'wildcard'],
    ['b%', 'wildcard'],
    ['x'.repeat(256), 'level-too-long'],
    [Array.from({ length: 8 }, () => 'y'.repeat(200)).join('/'), 'too-long'],
    [Array.from({ length: 40 }, () => 'z').join('/'), 'too-deep'],
  ];
  for (const [name, problem] of cases) {
    assert.deepEqual(checkMailboxName(name), { ok: false, problem }, JSON.stringify(name).slice(0, 40));
  }
  assert.equal(normalizeMailboxName('x'.repeat(255)), 'x'.repeat(255));
  assert.equal(normalizeMailboxName('a/.b/c..d'), 'a/.b/c..d');
  assert.equal(normalizeMailboxName('back\\slash'), 'back\\slash');
});

test('unicode helpers and ancestors', () => {
  assert.equal(mailboxNameFromUnicode('Entwürfe/2024'), 'Entw&APw-rfe/2024');
  assert.equal(mailboxNameToUnicode('Entw&APw-rfe/2024'), 'Entwürfe/2024');
  assert.throws(() => mailboxNameFromUnicode('a/../b'), MailboxNameError);
  assert.deepEqual(mailboxAncestors('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(mailboxAncestors('INBOX'), []);
});
