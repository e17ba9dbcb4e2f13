// A private Postfix for the relay benchmark (Debian's postfix package, installed when missing,
// its own service left off): its own config_directory, queue_directory and data_directory in a
// temporary directory, SMTP on a loopback port, every recipient of the bench domain handed to
// an LMTP server (Dovecot) with virtual_transport. Everything else is Postfix's default.
import { execFileSync } from 'node:child_process';
import { aptEnsure } from './apt.mjs';
import { trackPid, untrackPid, waitGone } from './procs.mjs';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function postfixPresent() {
  return existsSync('/usr/sbin/postfix') && existsSync('/usr/lib/postfix/sbin/master');
}

export function ensurePostfix() {
  // "No configuration": the package installs without setting up (or starting) a mail system.
  aptEnsure({ packages: ['postfix'], present: postfixPresent, service: 'postfix', preseed: 'postfix postfix/main_mailer_type select No configuration' });
}

export function postfixVersion() {
  try {
    return execFileSync('/usr/sbin/postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Starts Postfix with its files under dir: SMTP on smtpPort, mail for domain to LMTP lmtpPort. */
export function startPostfix(dir, { smtpPort, lmtpPort, domain }) {
  const conf = join(dir, 'etc');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  for (const d of [conf, queue, data]) mkdirSync(d, { recursive: true });
  // Postfix's daemons run as the postfix user and must reach the queue through dir.
  chmodSync(dir, 0o755);
  const main = [
    `# written by bench/lib/postfix.mjs`,
    `compatibility_level = 3.6`,
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    `mail_owner = postfix`,
    `setgid_group = postdrop`,
    `myhostname = postfix.bench.example`,
    `mydestination =`,
    `inet_interfaces = 127.0.0.1`,
    `inet_protocols = ipv4`,
    `mynetworks = 127.0.0.0/8`,
    `virtual_mailbox_domains = ${domain}`,
    `virtual_transport = lmtp:inet:127.0.0.1:${lmtpPort}`,
    // Any user of the domain: Dovecot's LMTP takes them all (as tiermail's directory has them all).
    `smtpd_reject_unlisted_recipient = no`,
    `smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination`,
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${join(dir, 'maillog')}`,
    `alias_maps =`,
    `alias_database =`,
    `local_recipient_maps =`,
    `biff = no`,
    `smtputf8_enable = no`,
    ``,
  ].join('\n');
  writeFileSync(join(conf, 'main.cf'), main);
  // The default master.cf services, not chrooted (the temporary queue has no chroot set up),
  // SMTP on the benchmark's port.
  const master = [
    `127.0.0.1:${smtpPort} inet n - n - - smtpd`,
    `pickup unix n - n 60 1 pickup`,
    `cleanup unix n - n - 0 cleanup`,
    `qmgr unix n - n 300 1 qmgr`,
    `tlsmgr unix - - n 1000? 1 tlsmgr`,
    `rewrite unix - - n - - trivial-rewrite`,
    `bounce unix - - n - 0 bounce`,
    `defer unix - - n - 0 bounce`,
    `trace unix - - n - 0 bounce`,
    `verify unix - - n - 1 verify`,
    `flush unix n - n 1000? 0 flush`,
    `proxymap unix - - n - - proxymap`,
    `proxywrite unix - - n - 1 proxymap`,
    `smtp unix - - n - - smtp`,
    `relay unix - - n - - smtp`,
    `showq unix n - n - - showq`,
    `error unix - - n - - error`,
    `retry unix - - n - - error`,
    `discard unix - - n - - discard`,
    `local unix - n n - - local`,
    `virtual unix - n n - - virtual`,
    `lmtp unix - - n - - lmtp`,
    `anvil unix - - n - 1 anvil`,
    `scache unix - - n - 1 scache`,
    `postlog unix-dgram n - n - 1 postlogd`,
    ``,
  ].join('\n');
  writeFileSync(join(conf, 'master.cf'), master);
  const run = (args) => execFileSync('/usr/sbin/postfix', ['-c', conf, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  // Postfix's own daemons write data_directory; `postfix start` creates the queue directories.
  execFileSync('chown', ['postfix', data]);
  try {
    run(['start']);
  } catch (err) {
    throw new Error(`postfix start failed: ${err.stderr || err.message}`);
  }
  const masterPid = () => {
    try {
      return Number(readFileSync(join(queue, 'pid', 'master.pid'), 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  };
  // The master detaches: tracked by pid, so that an interrupted benchmark still kills it.
  const pid = masterPid();
  trackPid(pid);
  return {
    /** The master daemon's pid. */
    masterPid: () => pid,
    /** postfix stop, then waits for the master (and its services) to be gone. */
    stop: async () => {
      try {
        run(['stop']);
      } catch {
        /* already down */
      }
      if (pid > 0) await waitGone(pid, 10000);
      untrackPid(pid);
    },
  };
}
