// A private Dovecot for the benchmarks (Debian dovecot-core and dovecot-lmtpd, and
// dovecot-imapd when IMAP is wanted, installed when missing): LMTP (and IMAP) on loopback ports,
// everything under one directory, maildir or sdbox.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { aptEnsure } from './apt.mjs';
import { freePort, waitGreeting } from './net.mjs';
import { start, stop } from './procs.mjs';


function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function dovecotBinary() {
  for (const p of [which('dovecot'), '/usr/sbin/dovecot']) if (p && existsSync(p)) return p;
  return '';
}

function dovecotPresent(imap) {
  return dovecotBinary() !== '' && existsSync('/usr/lib/dovecot/lmtp') && (!imap || existsSync('/usr/lib/dovecot/imap'));
}

/** Installs dovecot-core and dovecot-lmtpd (and dovecot-imapd with imap) from Debian when
 * missing (as root). */
export function ensureDovecot({ imap = false } = {}) {
  const packages = ['dovecot-core', 'dovecot-lmtpd', ...(imap ? ['dovecot-imapd'] : [])];
  aptEnsure({ packages, present: () => dovecotPresent(imap), service: 'dovecot', units: ['dovecot.service', 'dovecot.socket'] });
}

export function dovecotVersion() {
  try {
    return execFileSync(dovecotBinary(), ['--version'], { encoding: 'utf8' }).trim().split(' ')[0];
  } catch {
    return 'unknown';
  }
}

/**
 * A Dovecot of our own: LMTP, on a loopback port, everything (base_dir, state, logs, mail)
 * under dir. Any user@example.test is accepted (static passdb and userdb). Mail belongs to an
 * unprivileged user (nobody when run as root, else ourselves), as with a virtual-mail uid.
 * Everything else, fsync behaviour (mail_fsync = optimized) included, is Dovecot's default.
 * With imapPort, IMAP too (plaintext LOGIN allowed, any password: the passdb is static).
 */
export function dovecotConfig(dir, port, format, imapPort = 0) {
  const root = process.getuid?.() === 0;
  const me = userInfo();
  const mailUser = root ? 'nobody' : me.username;
  const mailGroup = root ? (spawnSync('getent', ['group', 'nogroup']).status === 0 ? 'nogroup' : 'nobody') : String(process.getgid());
  const location = format === 'sdbox' ? 'sdbox:~/sdbox' : 'maildir:~/Maildir';
  const lines = [
    `# written by bench/lmtp.mjs`,
    `instance_name = tiermail-bench-${process.pid}`,
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    imapPort ? `protocols = lmtp imap` : `protocols = lmtp`,
    `listen = 127.0.0.1`,
    `ssl = no`,
    ...(imapPort ? [`disable_plaintext_auth = no`] : []),
    `log_path = ${dir}/dovecot.log`,
    `mail_location = ${location}`,
    ...(root ? [] : [`default_internal_user = ${me.username}`, `default_login_user = ${me.username}`]),
    `passdb {`,
    `  driver = static`,
    `  args = nopassword=y`,
    `}`,
    `userdb {`,
    `  driver = static`,
    `  args = uid=${mailUser} gid=${mailGroup} home=${dir}/mail/%d/%n allow_all_users=yes`,
    `}`,
    `service lmtp {`,
    `  inet_listener lmtp {`,
    `    address = 127.0.0.1`,
    `    port = ${port}`,
    `  }`,
    `}`,
    ...(imapPort ? [`service imap-login {`, `  inet_listener imap {`, `    address = 127.0.0.1`, `    port = ${imapPort}`, `  }`, `  inet_listener imaps {`, `    port = 0`, `  }`, `}`] : []),
    ``,
  ];
  return { text: lines.join('\n'), mailUser, mailGroup };
}

/** opts.imap: serve IMAP too (on the returned imapPort). */
export async function startDovecot(dir, format, { imap = false } = {}) {
  const port = await freePort();
  const imapPort = imap ? await freePort() : 0;
  for (const d of ['run', 'state', 'mail']) mkdirSync(join(dir, d), { recursive: true });
  // Dovecot's unprivileged processes must reach base_dir and the mail directory.
  chmodSync(dir, 0o755);
  const conf = dovecotConfig(dir, port, format, imapPort);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', conf.mailUser], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('getent', ['group', conf.mailGroup], { encoding: 'utf8' }).split(':')[2]);
    chownSync(join(dir, 'mail'), uid, gid);
  }
  const file = join(dir, 'dovecot.conf');
  writeFileSync(file, conf.text);
  const child = start(dovecotBinary(), ['-F', '-c', file]);
  await waitGreeting(port, child, 'dovecot');
  return {
    port,
    imapPort,
    child,
    stop: () => stop(child, 10000),
    /** Messages on disk, per Dovecot's format: maildir files in new/ and cur/, sdbox m.* files. */
    count: () => {
      let n = 0;
      const domainDir = join(dir, 'mail', 'example.test');
      const users = existsSync(domainDir) ? readdirSync(domainDir) : [];
      for (const u of users) {
        if (format === 'maildir') {
          for (const sub of ['new', 'cur']) {
            const p = join(domainDir, u, 'Maildir', sub);
            if (existsSync(p)) n += readdirSync(p).length;
          }
        } else {
          const p = join(domainDir, u, 'sdbox', 'mailboxes', 'INBOX', 'dbox-Mails');
          if (existsSync(p)) n += readdirSync(p).filter((f) => f.startsWith('u.')).length;
        }
      }
      return n;
    },
    errors: () => {
      try {
        return readFileSync(join(dir, 'dovecot.log'), 'utf8')
          .split('\n')
          .filter((l) => /(Error|Fatal|Panic):/.test(l));
      } catch {
        return [];
      }
    },
  };
}

