// The directory client against a real slapd: lookups by every address attribute, groups,
// authentication, cache, failover, and the failure modes (stopped and paused server).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client } from 'ldapts';
import { directorySchema, type DirectoryConfig } from '@tiermail/core/config/schema';
import {
  Directory,
  DirectoryDataError,
  DirectoryNotFoundError,
  DirectoryUnavailableError,
} from '@tiermail/core/directory/index';
import { hashPassword } from '@tiermail/core/password';
import { demoDns } from '@tiermail/core/slapd/index';
import { freePort } from '../harness/ports.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';

const TIMEOUT_MS = 1000;
const dns = demoDns();

function config(slapd: SlapdHandle, overrides: Partial<DirectoryConfig> = {}): DirectoryConfig {
  return directorySchema.parse({
    urls: [slapd.url],
    baseDn: slapd.suffix,
    bindDn: slapd.adminDn,
    bindPassword: slapd.adminPassword,
    defaultDomain: 'example.test',
    timeoutMs: TIMEOUT_MS,
    connectTimeoutMs: TIMEOUT_MS,
    ...overrides,
  });
}

async function admin(slapd: SlapdHandle): Promise<Client> {
  const client = new Client({ url: slapd.url, timeout: 5000, connectTimeout: 5000 });
  await client.bind(slapd.adminDn, slapd.adminPassword);
  return client;
}

async function addUser(slapd: SlapdHandle, uid: string, extra: Record<string, string | string[]> = {}): Promise<string> {
  const dn = `uid=${uid},${dns.people}`;
  const client = await admin(slapd);
  try {
    await client.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'],
      uid,
      cn: uid,
      sn: uid,
      mail: `${uid}@example.test`,
      mailHost: 'localhost',
      ...extra,
    });
  } finally {
    await client.unbind();
  }
  return dn;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T | undefined; error: unknown }> {
  const start = performance.now();
  try {
    const result = await fn();
    return { ms: performance.now() - start, result, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, result: undefined, error };
  }
}

describe('directory lookups against slapd', () => {
  let slapd: SlapdHandle;
  let dir: Directory;

  before(async () => {
    slapd = await startSlapd({ demo: true, mailHost: 'store1.example.test' });
    dir = new Directory(config(slapd));
  });
  after(async () => {
    await dir?.close();
    await slapd?.stop();
  });

  test('finds a user by mail, mailAlternateAddress and mailEquivalentAddress, ignoring case', async () => {
    const byMail = await dir.findUserByAddress('alice@example.test');
    assert.ok(byMail);
    assert.equal(byMail.dn, dns.alice);
    assert.equal(byMail.uid, 'alice');
    assert.equal(byMail.domain, 'example.test');
    assert.equal(byMail.mailHost, 'store1.example.test');
    assert.deepEqual(byMail.deliveryOptions, ['mailbox']);
    assert.deepEqual(byMail.alternateAddresses, ['alice.smith@example.test']);
    assert.deepEqual(byMail.equivalentAddresses, ['a.smith@example.test']);
    assert.equal(byMail.quotaBytes, 1024 * 1024 * 1024);
    assert.equal(byMail.inetUserStatus, 'active');
    assert.equal(byMail.mailUserStatus, 'active');
    for (const address of ['alice.smith@example.test', 'a.smith@example.test', 'Alice@EXAMPLE.test', '<alice@example.test>']) {
      assert.equal((await dir.findUserByAddress(address))?.dn, dns.alice, address);
    }
  });

  test('a user without quotas gets the domain defaults', async () => {
    const bob = await dir.getUserByAddress('bob@example.test');
    assert.equal(bob.quotaBytes, null);
    assert.equal(bob.effectiveQuotaBytes, 100 * 1024 * 1024);
    assert.equal(bob.effectiveQuotaMessages, 10000);
  });

  test('unknown addresses, unknown domains and filter syntax find nothing', async () => {
    assert.equal(await dir.findUserByAddress('nobody@example.test'), null);
    assert.equal(await dir.findUserByAddress('alice@unknown.test'), null);
    assert.equal(await dir.findUserByAddress('*'), null);
    assert.equal(await dir.findUserByAddress('*)(uid=*'), null);
    assert.equal(await dir.findUserByAddress('alice*@example.test'), null);
    assert.equal(await dir.findUserByAddress(''), null);
    assert.equal(await dir.findUserByAddress('staff@example.test'), null, 'a group is not a user');
    await assert.rejects(dir.getUserByAddress('nobody@example.test'), DirectoryNotFoundError);
  });

  test('bare names use the default domain', async () => {
    assert.equal((await dir.findUserByUid('alice'))?.dn, dns.alice);
    assert.equal((await dir.findUserByUid('bob', 'example.test'))?.dn, dns.bob);
    assert.equal((await dir.findUserByAddress('bob'))?.dn, dns.bob);
    assert.equal(await dir.findUserByUid('alice', 'unknown.test'), null);
  });

  test('finds the domain and its defaults', async () => {
    const domain = await dir.findDomain('EXAMPLE.TEST');
    assert.ok(domain);
    assert.equal(domain.dn, dns.domain);
    assert.equal(domain.name, 'example.test');
    assert.equal(domain.status, 'active');
    assert.equal(domain.defaultUserQuotaBytes, 100 * 1024 * 1024);
    assert.equal(await dir.findDomain('unknown.test'), null);
    await assert.rejects(dir.getDomain('unknown.test'), DirectoryNotFoundError);
  });

  test('a group resolves members given by address and by DN', async () => {
    const group = await dir.findGroup('staff@example.test');
    assert.ok(group);
    assert.equal(group.dn, dns.staff);
    assert.deepEqual(group.rfc822Members, ['alice@example.test']);
    assert.deepEqual(group.memberDns, [dns.bob]);
    const members = await dir.resolveGroupMembers(group);
    assert.deepEqual(members.addresses, ['alice@example.test']);
    assert.deepEqual(members.users.map((u) => u.uid), ['bob']);
    assert.equal(members.users[0]?.domain, 'example.test');
    assert.deepEqual(members.unresolved, []);
    assert.equal(await dir.findGroup('alice@example.test'), null, 'a user is not a group');
  });

  test('nested groups and dangling member DNs are reported, not followed', async () => {
    const client = await admin(slapd);
    const missing = `uid=ghost,${dns.people}`;
    try {
      await client.add(`cn=all,${dns.groups}`, {
        objectClass: ['top', 'tiermailGroup', 'inetMailGroup'],
        cn: 'all',
        mail: 'all@example.test',
        mailAlternateAddress: 'everyone@example.test',
        uniqueMember: [dns.staff, dns.alice, missing],
      });
    } finally {
      await client.unbind();
    }
    const all = await dir.getGroup('Everyone@example.test');
    const members = await dir.resolveGroupMembers(all);
    assert.deepEqual(members.groups.map((g) => g.mail), ['staff@example.test']);
    assert.deepEqual(members.users.map((u) => u.uid), ['alice']);
    assert.deepEqual(members.unresolved, [missing]);
    assert.deepEqual(members.addresses, []);
  });

  test('authenticates by address or uid, refuses wrong and empty passwords', async () => {
    assert.equal((await dir.authenticate('alice@example.test', 'demo-password'))?.dn, dns.alice);
    assert.equal((await dir.authenticate('alice.smith@example.test', 'demo-password'))?.dn, dns.alice);
    assert.equal((await dir.authenticate('bob', 'demo-password'))?.dn, dns.bob);
    assert.equal(await dir.authenticate('alice@example.test', 'wrong'), null);
    assert.equal(await dir.authenticate('alice@example.test', ''), null);
    assert.equal(await dir.authenticate('nobody@example.test', 'demo-password'), null);
  });

  test('a dead first server fails over to the second and is then skipped', async () => {
    const deadUrl = `ldap://127.0.0.1:${await freePort()}`;
    const failing = new Directory(config(slapd, { urls: [deadUrl, slapd.url] }));
    try {
      assert.equal((await failing.findUserByAddress('alice@example.test'))?.dn, dns.alice);
      const s1 = failing.stats();
      assert.equal(s1.failovers, 1);
      assert.deepEqual(s1.serversDown, [deadUrl]);
      assert.equal((await failing.findUserByAddress('bob@example.test'))?.dn, dns.bob);
      assert.equal(failing.stats().failovers, 1, 'a server marked down is not tried again at once');
    } finally {
      await failing.close();
    }
  });

  test('a repeated lookup is served from the cache, even while slapd is paused', async () => {
    const cached = new Directory(config(slapd));
    try {
      assert.ok(await cached.findUserByAddress('alice@example.test'));
      const before = cached.stats();
      assert.ok(before.requests > 0);
      slapd.pause();
      try {
        assert.equal((await cached.findUserByAddress('alice@example.test'))?.dn, dns.alice);
        assert.equal((await cached.findUserByAddress('ALICE@example.test'))?.dn, dns.alice);
      } finally {
        slapd.resume();
      }
      const after = cached.stats();
      assert.equal(after.requests, before.requests, 'no LDAP request for a cached answer');
      assert.equal(after.cacheHits, before.cacheHits + 2);
    } finally {
      await cached.close();
    }
  });

  test('"not found" is cached too, until invalidated', async () => {
    const d = new Directory(config(slapd));
    try {
      assert.equal(await d.findUserByAddress('carol@example.test'), null);
      const requests = d.stats().requests;
      await addUser(slapd, 'carol', { mailAlternateAddress: 'caroline@example.test' });
      assert.equal(await d.findUserByAddress('carol@example.test'), null, 'negative entry still valid');
      assert.equal(d.stats().requests, requests);
      assert.ok(d.invalidate('carol@example.test') >= 1);
      const carol = await d.findUserByAddress('carol@example.test');
      assert.equal(carol?.uid, 'carol');
      // Invalidating one address drops the other keys of the same entry.
      assert.ok(await d.findUserByAddress('caroline@example.test'));
      assert.ok(d.invalidate('caroline@example.test') >= 2);
    } finally {
      await d.close();
    }
  });

  test('two entries claiming one address is a data error, not a guess', async () => {
    await addUser(slapd, 'dave', { mailAlternateAddress: 'shared@example.test' });
    await addUser(slapd, 'erin', { mailAlternateAddress: 'shared@example.test' });
    const d = new Directory(config(slapd));
    try {
      const err = await d.findUserByAddress('shared@example.test').catch((e: unknown) => e);
      assert.ok(err instanceof DirectoryDataError, String(err));
      assert.equal(err.code, '451 4.3.5');
      assert.equal(err.dns.length, 2);
    } finally {
      await d.close();
    }
  });

  test('domain aliases, autoreply dates and a password set with hashPassword', async () => {
    const client = await admin(slapd);
    try {
      await client.modify(dns.domain, new Change({ operation: 'add', modification: new Attribute({ type: 'associatedDomain', values: ['alias.test'] }) }));
      await client.modify(dns.bob, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mailDeliveryOption', values: ['mailbox', 'AutoReply'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'vacationStartDate', values: ['20300101120000Z'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mailAutoReplyTimeOut', values: ['24'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mailAutoReplyText', values: ['Parti, retour lundi'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [hashPassword('new-secret')] }) }),
      ]);
    } finally {
      await client.unbind();
    }
    const d = new Directory(config(slapd));
    try {
      assert.equal((await d.findDomain('alias.test'))?.name, 'example.test');
      assert.equal((await d.findUserByAddress('alice@alias.test'))?.dn, dns.alice);
      const bob = await d.getUserByUid('bob');
      assert.deepEqual(bob.deliveryOptions, ['mailbox', 'autoreply']);
      assert.equal(bob.autoReply.start?.toISOString(), '2030-01-01T12:00:00.000Z');
      assert.equal(bob.autoReply.end, null);
      assert.equal(bob.autoReply.timeoutHours, 24);
      assert.equal(bob.autoReply.text, 'Parti, retour lundi');
      assert.ok(await d.authenticate('bob@example.test', 'new-secret'));
      assert.equal(await d.authenticate('bob@example.test', 'demo-password'), null);
    } finally {
      await d.close();
    }
  });
});

describe('directory when slapd fails', () => {
  let slapd: SlapdHandle;

  before(async () => {
    slapd = await startSlapd({ demo: true });
  });
  after(async () => {
    await slapd?.stop();
  });

  test('a paused slapd gives DirectoryUnavailableError within the timeout, then recovers', async () => {
    const warm = new Directory(config(slapd, { cache: { ttlMs: 0, negativeTtlMs: 0, maxEntries: 0 } }));
    const cold = new Directory(config(slapd));
    try {
      assert.ok(await warm.findUserByAddress('alice@example.test'), 'pool connections are open and bound');
      slapd.pause();
      try {
        for (const [name, d] of [['pooled connection', warm], ['new connection', cold]] as const) {
          const { ms, error } = await timed(() => d.findUserByAddress('bob@example.test'));
          assert.ok(error instanceof DirectoryUnavailableError, `${name}: ${String(error)}`);
          assert.equal(error.code, '451 4.4.3');
          assert.match(error.message, new RegExp(slapd.url.replace(/[.:/]/g, '\\$&')));
          // A hang detector, not a performance test: the bound is generous.
          assert.ok(ms < 3 * TIMEOUT_MS, `${name}: took ${Math.round(ms)} ms`);
        }
        const auth = await timed(() => cold.authenticate('alice@example.test', 'demo-password'));
        assert.ok(auth.error instanceof DirectoryUnavailableError, String(auth.error));
        assert.ok(auth.ms < 3 * TIMEOUT_MS, `authenticate took ${Math.round(auth.ms)} ms`);
      } finally {
        slapd.resume();
      }
      // The only server is marked down, but with nothing else to try it is tried anyway.
      assert.equal((await warm.findUserByAddress('bob@example.test'))?.uid, 'bob');
      assert.equal((await cold.findUserByAddress('bob@example.test'))?.uid, 'bob');
    } finally {
      await warm.close();
      await cold.close();
    }
  });

  test('a hung first server fails over to the second within the timeout', async () => {
    const second = await startSlapd({ demo: true });
    const d = new Directory(config(slapd, { urls: [slapd.url, second.url] }));
    try {
      assert.ok(await d.findDomain('example.test'), 'first server in use');
      slapd.pause();
      try {
        const { ms, result, error } = await timed(() => d.findUserByAddress('alice@example.test'));
        assert.equal(error, undefined);
        assert.equal(result?.dn, dns.alice);
        assert.ok(ms < 3 * TIMEOUT_MS, `took ${Math.round(ms)} ms`);
        assert.equal(d.stats().failovers, 1);
        assert.deepEqual(d.stats().serversDown, [slapd.url]);
      } finally {
        slapd.resume();
      }
    } finally {
      await d.close();
      await second.stop();
    }
  });

  test('a stopped slapd gives DirectoryUnavailableError; a restarted one is used again', async () => {
    const d = new Directory(config(slapd, { cache: { ttlMs: 0, negativeTtlMs: 0, maxEntries: 0 } }));
    try {
      assert.ok(await d.findUserByAddress('alice@example.test'));
      slapd.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const { ms, error } = await timed(() => d.findUserByAddress('alice@example.test'));
      assert.ok(error instanceof DirectoryUnavailableError, String(error));
      assert.ok(ms < 3 * TIMEOUT_MS, `took ${Math.round(ms)} ms`);
      assert.equal(await d.authenticate('alice@example.test', 'demo-password').catch((e: unknown) => e instanceof DirectoryUnavailableError), true);
      await slapd.restart();
      assert.equal((await d.findUserByAddress('alice@example.test'))?.uid, 'alice');
      assert.ok(await d.authenticate('alice@example.test', 'demo-password'));
    } finally {
      await d.close();
    }
  });
});
