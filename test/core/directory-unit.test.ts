// The directory client's pure parts: cache policy, address parsing, attribute parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LookupCache,
  parseAddress,
  parseGeneralizedTime,
  parseQuota,
  toDomain,
  toGroup,
  toUser,
  isUserActive,
} from '@tiermail/core/directory/index';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('cache: entries expire after ttlMs, "not found" after negativeTtlMs', async () => {
  const c = clock();
  const cache = new LookupCache({ ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: c.now });
  cache.set('u:a', { value: { x: 1 }, dn: 'uid=a,o=t' });
  cache.set('u:b', { value: null });
  assert.deepEqual(cache.peek('u:a'), { x: 1 });
  assert.equal(cache.peek('u:b'), null, 'a cached "not found" is null, not undefined');
  c.advance(150);
  assert.equal(cache.peek('u:b'), undefined);
  assert.deepEqual(cache.peek('u:a'), { x: 1 });
  c.advance(1000);
  assert.equal(cache.peek('u:a'), undefined);
});

test('cache: the least recently used entry goes first when full; 0 entries disables', () => {
  const cache = new LookupCache({ ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 2 });
  cache.set('a', { value: 1 });
  cache.set('b', { value: 2 });
  cache.peek('a');
  cache.set('c', { value: 3 });
  assert.equal(cache.peek('b'), undefined);
  assert.equal(cache.peek('a'), 1);
  assert.equal(cache.peek('c'), 3);
  const off = new LookupCache({ ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 0 });
  off.set('a', { value: 1 });
  assert.equal(off.size, 0);
});

test('cache: invalidating one key of an entry drops all its keys; a load racing it is not stored', async () => {
  const cache = new LookupCache({ ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 10 });
  cache.set('u:alice@x.test', { value: 'alice', dn: 'uid=alice, ou=People,o=x.test' });
  cache.set('u:alice.smith@x.test', { value: 'alice', dn: 'UID=alice,ou=people,o=x.test' });
  cache.set('u:bob@x.test', { value: 'bob', dn: 'uid=bob,ou=People,o=x.test' });
  assert.equal(cache.invalidate('ALICE.smith@x.test'), 2);
  assert.equal(cache.peek('u:alice@x.test'), undefined);
  assert.equal(cache.peek('u:bob@x.test'), 'bob');
  assert.equal(cache.invalidate('uid=bob,ou=People,o=x.test'), 1, 'by DN');

  let release!: () => void;
  const slow = cache.getOrLoad<string>('u:carol@x.test', () => new Promise((r) => (release = () => r({ value: 'old' }))));
  cache.invalidate('carol@x.test');
  release();
  assert.equal(await slow, 'old');
  assert.equal(cache.peek('u:carol@x.test'), undefined);
});

test('cache: concurrent misses for one key share one load', async () => {
  const cache = new LookupCache({ ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 10 });
  let loads = 0;
  const load = async (): Promise<{ value: number }> => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return { value: 42 };
  };
  const results = await Promise.all([1, 2, 3].map(() => cache.getOrLoad('k', load)));
  assert.deepEqual(results, [42, 42, 42]);
  assert.equal(loads, 1);
  assert.equal(cache.misses, 1);
  assert.equal(cache.hits, 2);
  const failing = cache.getOrLoad('e', () => Promise.reject(new Error('boom')));
  await assert.rejects(failing, /boom/);
  assert.equal(cache.peek('e'), undefined, 'errors are not cached');
});

test('parseAddress: last @, default domain, lower-case domain, refuses junk', () => {
  assert.deepEqual(parseAddress('Alice@Example.TEST.', 'd.test'), {
    local: 'Alice',
    domain: 'example.test',
    address: 'Alice@example.test',
    key: 'alice@example.test',
  });
  assert.equal(parseAddress('bob', 'd.test')?.address, 'bob@d.test');
  assert.equal(parseAddress('"a@b"@c.test', 'd.test')?.local, '"a@b"');
  assert.equal(parseAddress('<x@y.test>', 'd.test')?.address, 'x@y.test');
  for (const bad of ['', '@x.test', 'x@', 'a b@x.test', 'a\n@x.test', `${'a'.repeat(400)}@x.test`]) {
    assert.equal(parseAddress(bad, 'd.test'), null, JSON.stringify(bad));
  }
});

test('parseQuota and parseGeneralizedTime accept what Sun directories hold', () => {
  assert.equal(parseQuota('1048576'), 1048576);
  assert.equal(parseQuota('2M'), 2_000_000);
  assert.equal(parseQuota('2g'), 2_000_000_000);
  assert.equal(parseQuota('-1'), -1);
  assert.equal(parseQuota('lots'), null);
  assert.equal(parseQuota(null), null);
  assert.equal(parseGeneralizedTime('20300101120000Z')?.toISOString(), '2030-01-01T12:00:00.000Z');
  assert.equal(parseGeneralizedTime('203001011200Z')?.toISOString(), '2030-01-01T12:00:00.000Z');
  assert.equal(parseGeneralizedTime('20300101120000.5+0200')?.toISOString(), '2030-01-01T10:00:00.500Z');
  assert.equal(parseGeneralizedTime('2030010112')?.toISOString(), '2030-01-01T12:00:00.000Z');
  assert.equal(parseGeneralizedTime('yesterday'), null);
});

test('entries: tagged values, defaults from the domain, multi-valued options, statuses', () => {
  const domain = toDomain({
    dn: 'o=example.test,o=tiermail',
    associatedDomain: ['alias.test', 'Example.Test'],
    mailQuota: '5M',
    mailAllowedServiceAccess: '+imap:*',
  });
  assert.equal(domain.name, 'example.test', 'the RDN value wins over value order');
  assert.deepEqual(domain.names, ['alias.test', 'example.test']);
  const user = toUser(
    {
      dn: 'uid=z,ou=People,o=example.test,o=tiermail',
      uid: 'z',
      mailDeliveryOption: ['Mailbox', 'forward', 'mailbox'],
      'mailAutoReplyText;lang-fr': 'absent',
      mailAutoReplyText: 'away',
      mailUserStatus: 'Hold',
    },
    domain,
  );
  assert.deepEqual(user.deliveryOptions, ['mailbox', 'forward']);
  assert.equal(user.autoReply.text, 'away');
  assert.equal(user.effectiveQuotaBytes, 5_000_000);
  assert.deepEqual(user.allowedServiceAccess, ['+imap:*']);
  assert.equal(user.mailUserStatus, 'hold');
  assert.equal(isUserActive(user), false);
  const group = toGroup({ dn: 'cn=g,o=example.test,o=tiermail', mail: 'g@example.test', uniqueMember: "uid=z,o=t#'0101'B" }, domain);
  assert.deepEqual(group.memberDns, ['uid=z,o=t']);
});
