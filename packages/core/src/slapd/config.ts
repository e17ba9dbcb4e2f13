// The cn=config LDIF of a tiermail slapd. Tests (test/harness/slapd.ts) and the local stack
// (var/) both build their slapd from this function, so what the tests exercise is what
// `npm start` runs. Loaded with `slapadd -n0 -F <confDir> -l config.ldif`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ldifEntry, ldifJoin } from './ldif.js';

/** Attributes tiermail searches by equality; every one needs an index or slapd scans. */
export const TIERMAIL_EQ_INDEXES: readonly string[] = [
  'objectClass',
  'uid',
  'mail',
  'mailAlternateAddress',
  'mailEquivalentAddress',
  'associatedDomain',
  'uniqueMember',
  'mgrpRFC822MailMember',
];

export interface SlapdConfigOptions {
  /** Instance directory: holds the pid/args files and data/ (the mdb files). */
  dir: string;
  suffix: string;
  rootDn: string;
  /** Already hashed ({SSHA512}...), never clear text: cn=config is readable on disk. */
  rootPasswordHash: string;
  /** Path of deploy/ldap/tiermail-schema.ldif. */
  schemaPath: string;
  /** Where core.ldif, cosine.ldif, inetorgperson.ldif live (Debian: /etc/ldap/schema). */
  systemSchemaDir?: string;
  /** Directory of slapd modules (Debian: /usr/lib/ldap). */
  modulePath?: string;
  /** Modules to load; Debian builds back_mdb as a module, other builds may link it in. */
  modules?: readonly string[];
  /** Entries one ordinary search may return; paged searches may walk the whole tree. */
  sizeLimit?: number;
  /** Seconds one search may run on the server. */
  timeLimit?: number;
  /** Local user (peer credentials over ldapi://) allowed to manage cn=config at run time. */
  ldapiManager?: { uid: number; gid: number };
  /** Maximum size of the mdb map in bytes (a sparse file; the default of 10 MiB is too small). */
  dbMaxSize?: number;
}

// Schema files are inlined rather than referenced with "include:" so the generated file is
// self-contained (it is kept next to the instance as a record of how it was built).
function schemaBlock(path: string): string {
  const text = readFileSync(path, 'utf8');
  // Comment lines go: the files are concatenated, and the record of this instance should
  // show the definitions, not four licence headers.
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .trim() + '\n';
}

/** The whole cn=config tree: global settings, modules, schemas, frontend, config db, mdb. */
export function slapdConfigLdif(opts: SlapdConfigOptions): string {
  const systemSchemaDir = opts.systemSchemaDir ?? '/etc/ldap/schema';
  const modules = opts.modules ?? ['back_mdb', 'pw-sha2'];
  const sizeLimit = opts.sizeLimit ?? 1000;
  const rootDnQuoted = JSON.stringify(opts.rootDn);

  const blocks: string[] = [
    ldifEntry('cn=config', [
      ['objectClass', 'olcGlobal'],
      ['cn', 'config'],
      ['olcPidFile', join(opts.dir, 'slapd.pid')],
      ['olcArgsFile', join(opts.dir, 'slapd.args')],
      // Errors still reach stderr; per-operation logging would drown them in tests.
      ['olcLogLevel', 'none'],
    ]),
    ldifEntry('cn=module{0},cn=config', [
      ['objectClass', 'olcModuleList'],
      ['cn', 'module{0}'],
      ['olcModulePath', opts.modulePath ?? '/usr/lib/ldap'],
      ['olcModuleLoad', modules.map((m, i) => `{${i}}${m}`)],
    ]),
    ldifEntry('cn=schema,cn=config', [
      ['objectClass', 'olcSchemaConfig'],
      ['cn', 'schema'],
    ]),
    schemaBlock(join(systemSchemaDir, 'core.ldif')),
    schemaBlock(join(systemSchemaDir, 'cosine.ldif')),
    schemaBlock(join(systemSchemaDir, 'inetorgperson.ldif')),
    schemaBlock(opts.schemaPath),
    ldifEntry('olcDatabase={-1}frontend,cn=config', [
      ['objectClass', ['olcDatabaseConfig', 'olcFrontendConfig']],
      ['olcDatabase', '{-1}frontend'],
      // Password modify (ldappasswd) then stores salted SHA-512, as hashPassword does.
      ['olcPasswordHash', '{SSHA512}'],
      ['olcAccess', ['{0}to dn.base="" by * read', '{1}to dn.base="cn=Subschema" by * read']],
    ]),
    ldifEntry('olcDatabase={0}config,cn=config', [
      ['objectClass', 'olcDatabaseConfig'],
      ['olcDatabase', '{0}config'],
      [
        'olcAccess',
        opts.ldapiManager
          ? `{0}to * by dn.exact=gidNumber=${opts.ldapiManager.gid}+uidNumber=${opts.ldapiManager.uid},cn=peercred,cn=external,cn=auth manage by * none`
          : '{0}to * by * none',
      ],
    ]),
    ldifEntry('olcDatabase={1}mdb,cn=config', [
      ['objectClass', ['olcDatabaseConfig', 'olcMdbConfig']],
      ['olcDatabase', '{1}mdb'],
      ['olcSuffix', opts.suffix],
      ['olcRootDN', opts.rootDn],
      ['olcRootPW', opts.rootPasswordHash],
      ['olcDbDirectory', join(opts.dir, 'data')],
      ['olcDbMaxSize', opts.dbMaxSize ?? 1024 * 1024 * 1024],
      ['olcDbIndex', TIERMAIL_EQ_INDEXES.map((a) => `${a} eq`)],
      // Plain searches stop at sizeLimit; paged ones (admin listings) may walk everything.
      ['olcSizeLimit', `size.soft=${sizeLimit} size.hard=${sizeLimit} size.pr=${sizeLimit} size.prtotal=unlimited`],
      ['olcTimeLimit', opts.timeLimit ?? 30],
      [
        'olcAccess',
        [
          // Password hashes are never readable: binds use "auth", the owner and the manager
          // may replace them. Everything else is readable by any bound identity (services
          // bind as their account; users may read the address book) and by nobody anonymous.
          `{0}to attrs=userPassword by self write by dn.exact=${rootDnQuoted} write by anonymous auth by * none`,
          `{1}to * by dn.exact=${rootDnQuoted} write by self read by users read by * none`,
        ],
      ],
    ]),
  ];
  return ldifJoin(blocks);
}
