// The expiry rules' selection (pure): which rules apply to a folder, and which messages each
// criterion picks, as the seeds' imexpire describes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeSchema } from '@tiermail/core/config/schema';
import { rulesFor, selectExpired, type ExpireMessage, type ExpireRule } from '@tiermail/store/expire/select';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 24);
const rules = (list: unknown[]): ExpireRule[] => storeSchema.parse({ expire: { rules: list } }).expire.rules;
const msg = (uid: number, daysOld: number, size = 100, flags: string[] = []): ExpireMessage => ({ uid, size, internalDate: new Date(NOW - daysOld * DAY), flags });
const pick = (r: ExpireRule[], msgs: ExpireMessage[], header: (uid: number) => boolean = () => false) =>
  [...selectExpired(r, msgs, NOW, (_rule, uid) => header(uid)).keys()].sort((a, b) => a - b);

test('folder patterns select the rules; an exclusive rule replaces the others', () => {
  const r = rules([
    { name: 'trash', folders: '.*/Trash', messageDays: 2 },
    { name: 'all', messageDays: 14 },
    { name: 'vip', folders: 'boss@example.test/.*', messageDays: 365, exclusive: true },
  ]);
  assert.deepEqual(rulesFor(r, 'a@example.test', 'Trash').map((x) => x.name), ['trash', 'all']);
  assert.deepEqual(rulesFor(r, 'a@example.test', 'INBOX').map((x) => x.name), ['all']);
  assert.deepEqual(rulesFor(r, 'boss@example.test', 'Trash').map((x) => x.name), ['vip']);
});

test('messageDays, messageCount, folderSize, messageSize with grace, header', () => {
  const msgs = [msg(1, 30, 500), msg(2, 10, 5000), msg(3, 3, 100), msg(4, 1, 100)];
  assert.deepEqual(pick(rules([{ name: 'age', messageDays: 7 }]), msgs), [1, 2]);
  assert.deepEqual(pick(rules([{ name: 'count', messageCount: 3 }]), msgs), [1]);
  assert.deepEqual(pick(rules([{ name: 'size', folderSize: 300 }]), msgs), [1, 2]);
  assert.deepEqual(pick(rules([{ name: 'big', messageSize: 1000, messageSizeDays: 5 }]), msgs), [2]);
  assert.deepEqual(pick(rules([{ name: 'big-now', messageSize: 1000 }]), msgs), [2]);
  assert.deepEqual(pick(rules([{ name: 'spam', header: { name: 'X-Spam', contains: 'yes' } }]), msgs, (u) => u === 3), [3]);
  // The union of several rules: the most restrictive policy.
  assert.deepEqual(pick(rules([{ name: 'a', messageDays: 20 }, { name: 'b', messageCount: 2 }]), msgs), [1, 2]);
});

test('seen/deleted: "or" adds the flagged, "and" keeps only them; join and needs every criterion', () => {
  const msgs = [msg(1, 30, 100, ['\\Seen']), msg(2, 30), msg(3, 1, 100, ['\\Seen']), msg(4, 1, 100, ['\\Deleted'])];
  assert.deepEqual(pick(rules([{ name: 'seen-or', messageDays: 7, seen: 'or' }]), msgs), [1, 2, 3]);
  assert.deepEqual(pick(rules([{ name: 'seen-and', messageDays: 7, seen: 'and' }]), msgs), [1]);
  assert.deepEqual(pick(rules([{ name: 'deleted', deleted: 'or' }]), msgs), [4]);
  assert.deepEqual(pick(rules([{ name: 'j', messageDays: 7, messageSize: 50, join: 'and', exclusive: true }]), [msg(1, 30, 10), msg(2, 30, 100)]), [2]);
  assert.throws(() => rules([{ name: 'bad', join: 'and' }]), /join: and is only allowed in an exclusive rule/);
});
