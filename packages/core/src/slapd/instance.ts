// Builds a slapd instance directory (cn=config plus data) with slapadd, so tests and the local
// stack start from identical, offline-built state. Starting and supervising the process is the
// caller's job (test harness, watcher); slapdArgs says how.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashPassword } from '../password.js';
import { slapdConfigLdif, type SlapdConfigOptions } from './config.js';
import { demoLdif, suffixLdif, type DemoOptions } from './demo.js';
import { ldifJoin } from './ldif.js';

const execFileAsync = promisify(execFile);

export interface SlapdBinaries {
  slapd: string;
  slapadd: string;
  modulePath: string;
  systemSchemaDir: string;
}

const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/libexec/openldap'];

/**
 * Finds slapd, slapadd, the module directory and the system schemas. Throws an error that
 * names the Debian packages to install, because that is the fix on every machine we target.
 */
export function locateSlapd(overrides: Partial<SlapdBinaries> = {}): SlapdBinaries {
  const found: SlapdBinaries = {
    slapd: overrides.slapd ?? '/usr/sbin/slapd',
    slapadd: overrides.slapadd ?? '/usr/sbin/slapadd',
    modulePath: overrides.modulePath ?? MODULE_DIRS.find((d) => existsSync(join(d, 'pw-sha2.so'))) ?? MODULE_DIRS[0]!,
    systemSchemaDir: overrides.systemSchemaDir ?? '/etc/ldap/schema',
  };
  const missing = [
    found.slapd,
    found.slapadd,
    join(found.modulePath, 'pw-sha2.so'),
    join(found.systemSchemaDir, 'core.ldif'),
  ].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `OpenLDAP is not installed (missing ${missing.join(', ')}): install the Debian packages ` +
        `slapd and ldap-utils (apt-get install slapd ldap-utils)`,
    );
  }
  return found;
}

/** deploy/ldap/tiermail-schema.ldif of this checkout (dist/slapd/ -> repository root). */
export function defaultSchemaPath(): string {
  return fileURLToPath(new URL('../../../../deploy/ldap/tiermail-schema.ldif', import.meta.url));
}

export interface InitSlapdOptions {
  /** Instance directory; created if missing. Gets slapd.d/ (cn=config), data/ and the LDIFs. */
  dir: string;
  suffix?: string;
  rootDn?: string;
  /** Clear text; only its {SSHA512} hash is written. */
  rootPassword: string;
  schemaPath?: string;
  /** Load the demo domain; false or absent loads the suffix entry only. */
  demo?: DemoOptions | boolean;
  /** More LDIF entries to load after the demo data. */
  extraLdif?: string;
  config?: Partial<Pick<SlapdConfigOptions, 'sizeLimit' | 'timeLimit' | 'ldapiManager' | 'dbMaxSize'>>;
  binaries?: SlapdBinaries;
}

export interface SlapdInstance {
  dir: string;
  confDir: string;
  dataDir: string;
  suffix: string;
  rootDn: string;
  binaries: SlapdBinaries;
}

async function run(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(cmd, args, { maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed: ${output || e.message}`);
  }
}

/** Writes config.ldif and data.ldif into `dir` and loads them with slapadd (slapd not running). */
export async function initSlapdDirectory(opts: InitSlapdOptions): Promise<SlapdInstance> {
  const binaries = opts.binaries ?? locateSlapd();
  const suffix = opts.suffix ?? 'o=tiermail';
  const rootDn = opts.rootDn ?? `cn=admin,${suffix}`;
  const confDir = join(opts.dir, 'slapd.d');
  const dataDir = join(opts.dir, 'data');
  await mkdir(confDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });

  const configLdif = slapdConfigLdif({
    dir: opts.dir,
    suffix,
    rootDn,
    rootPasswordHash: hashPassword(opts.rootPassword),
    schemaPath: opts.schemaPath ?? defaultSchemaPath(),
    systemSchemaDir: binaries.systemSchemaDir,
    modulePath: binaries.modulePath,
    // Debian builds back_mdb as a module; builds that link it in have no back_mdb.so.
    modules: existsSync(join(binaries.modulePath, 'back_mdb.so')) ? ['back_mdb', 'pw-sha2'] : ['pw-sha2'],
    ...opts.config,
  });
  const configPath = join(opts.dir, 'config.ldif');
  await writeFile(configPath, configLdif, { mode: 0o600 });
  await run(binaries.slapadd, ['-n0', '-F', confDir, '-l', configPath]);

  const blocks = [suffixLdif(suffix)];
  if (opts.demo) blocks.push(demoLdif({ suffix, ...(opts.demo === true ? {} : opts.demo) }));
  if (opts.extraLdif) blocks.push(opts.extraLdif);
  const dataPath = join(opts.dir, 'data.ldif');
  await writeFile(dataPath, ldifJoin(blocks), { mode: 0o600 });
  // -q skips consistency checks that only matter for untrusted input: this LDIF is ours.
  await run(binaries.slapadd, ['-q', '-n1', '-F', confDir, '-l', dataPath]);

  return { dir: opts.dir, confDir, dataDir, suffix, rootDn, binaries };
}

/**
 * Arguments that run slapd in the foreground on the given URLs (e.g. ldap://127.0.0.1:3389/),
 * so a supervisor owns the process. Any -d keeps slapd attached; level 32768 ("none") is the
 * one that still prints errors such as "bind failed errno=98" on stderr: with -d 0 slapd
 * exits 1 on a busy port without a word.
 */
export function slapdArgs(instance: Pick<SlapdInstance, 'confDir'>, urls: readonly string[]): string[] {
  return ['-F', instance.confDir, '-h', urls.join(' '), '-d', '32768'];
}
