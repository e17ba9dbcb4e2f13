// Loading order: YAML file, then TIERMAIL_* environment overrides, then the running host's
// `overrides`, then zod validation. Relative paths are taken from the config file's directory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type Config, type HostConfig } from './schema.js';
import { ConfigError, problemsFromZod, type ConfigProblem } from './errors.js';
import { resolvePath, setIn, wantsString } from './walk.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Variables the loader itself reads; every other TIERMAIL_* names a config key. */
export const RESERVED_ENV = ['TIERMAIL_CONFIG', 'TIERMAIL_HOST'] as const;

export interface LoadOptions {
  /** Config file; default from TIERMAIL_CONFIG, ./var/tiermail.yaml, /etc/tiermail/tiermail.yaml. */
  file?: string;
  /** Host whose overrides apply; default TIERMAIL_HOST. */
  host?: string;
  env?: Env;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  file: string;
  host: string | undefined;
  hostConfig: HostConfig | undefined;
}

export function defaultConfigPath(env: Env = {}, cwd = process.cwd()): string {
  if (env.TIERMAIL_CONFIG) return resolve(cwd, env.TIERMAIL_CONFIG);
  const local = resolve(cwd, 'var/tiermail.yaml');
  if (existsSync(local)) return local;
  return '/etc/tiermail/tiermail.yaml';
}

export function parseYamlText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : '(top level)';
      throw new ConfigError(source, [{ path: where, value: undefined, expected: `not valid YAML: ${err.code}` }]);
    }
    throw err;
  }
}

export function readConfigFile(file: string): unknown {
  if (!existsSync(file)) {
    throw new ConfigError(file, [
      { path: '(file)', value: undefined, expected: 'config file not found; set --config or TIERMAIL_CONFIG' },
    ]);
  }
  return parseYamlText(readFileSync(file, 'utf8'), file);
}

/** Parse an env or CLI value: YAML scalars and flow lists, but strings stay strings where wanted. */
export function parseValue(text: string, wantString: boolean): unknown {
  if (wantString) return text;
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

export function applyEnv(raw: Record<string, unknown>, env: Env): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env)
    .filter((n) => n.startsWith('TIERMAIL_') && !(RESERVED_ENV as readonly string[]).includes(n))
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const segments = name.slice('TIERMAIL_'.length).split('__');
    const found = resolvePath(configSchema, segments, raw);
    if (!found) {
      problems.push({
        path: name,
        value,
        expected: 'no such config key (use __ between levels, e.g. TIERMAIL_DIRECTORY__TIMEOUT_MS)',
      });
      continue;
    }
    setIn(raw, found.path, parseValue(value, wantsString(found.schema)));
  }
  return problems;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const tls = { ...config.tls };
  if (tls.cert) tls.cert = abs(tls.cert);
  if (tls.key) tls.key = abs(tls.key);
  if (tls.ca) tls.ca = abs(tls.ca);
  const paths = { var: abs(config.paths.var), log: abs(config.paths.log), run: abs(config.paths.run) };
  // Partition paths are relative to the state directory, not to the config file.
  const partitions = Object.fromEntries(
    Object.entries(config.store.partitions).map(([name, p]) => [
      name,
      { ...p, path: isAbsolute(p.path) ? p.path : resolve(paths.var, p.path) },
    ]),
  );
  return { ...config, tls, paths, store: { ...config.store, partitions } };
}

/** Validate a raw object (already merged) and return the typed config, or throw ConfigError. */
export function parseConfig(raw: unknown, source: string, baseDir?: string): Config {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(source, problemsFromZod(result.error.issues, raw));
  return baseDir ? resolvePaths(result.data, baseDir) : result.data;
}

/** Apply env and host overrides to a raw file object, then validate it. */
export function buildConfig(
  fileRaw: unknown,
  source: string,
  opts: { env?: Env; host?: string; baseDir?: string } = {},
): Omit<LoadedConfig, 'file'> {
  if (!isPlainObject(fileRaw)) {
    throw new ConfigError(source, [{ path: '(top level)', value: fileRaw, expected: 'expected a mapping of sections' }]);
  }
  const raw = structuredClone(fileRaw);
  const envProblems = applyEnv(raw, opts.env ?? {});
  if (envProblems.length > 0) throw new ConfigError(`${source} (environment)`, envProblems);

  const host = opts.host ?? opts.env?.TIERMAIL_HOST;
  let merged = raw;
  if (host !== undefined) {
    const hosts = isPlainObject(raw.hosts) ? raw.hosts : {};
    const entry = hosts[host];
    if (!isPlainObject(entry)) {
      throw new ConfigError(source, [
        { path: `hosts.${host}`, value: undefined, expected: `this host is not in hosts (known: ${Object.keys(hosts).join(', ') || 'none'})` },
      ]);
    }
    if (isPlainObject(entry.overrides)) merged = deepMerge(raw, entry.overrides);
  }
  const config = parseConfig(merged, source, opts.baseDir);
  return { config, host, hostConfig: host !== undefined ? config.hosts[host] : undefined };
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? {};
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.file ? resolve(cwd, opts.file) : defaultConfigPath(env, cwd);
  const raw = readConfigFile(file);
  const built = buildConfig(raw, file, { env, ...(opts.host !== undefined ? { host: opts.host } : {}), baseDir: dirname(file) });
  return { ...built, file };
}
