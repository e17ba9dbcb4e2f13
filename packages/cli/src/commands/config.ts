// tiermail config check | get KEY | set KEY VALUE | diff [A [B]] | history | rollback N
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigHistory, getIn, resolvePath, splitDotted, configSchema } from '@tiermail/core';
import { UsageError, type CliContext } from '../context.js';

function versionArg(text: string): number {
  const n = Number(text.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`not a version number: ${text}`);
  return n;
}

export function registerConfig(program: Command, ctx: () => CliContext): void {
  const config = program.command('config').description('check, read and change the configuration (keeps 100 versions)');

  config
    .command('check')
    .description('validate the config file (with environment and host overrides)')
    .action(() => {
      const c = ctx();
      const loaded = c.load();
      const hosts = Object.entries(loaded.config.hosts).map(([n, h]) => `${n} (${h.roles.join(', ')})`);
      c.print({ ok: true, file: loaded.file, hosts: Object.keys(loaded.config.hosts) }, () =>
        [`${loaded.file}: ok`, `hosts: ${hosts.join('; ')}`].join('\n'),
      );
    });

  config
    .command('get')
    .argument('[key]', 'dotted key, e.g. directory.timeoutMs or directory.urls[0]; none for all')
    .description('print the effective value of a key (defaults, environment and host overrides applied)')
    .action((key?: string) => {
      const c = ctx();
      const { config: cfg } = c.load();
      if (!key) {
        c.print(cfg, () => stringify(cfg).trimEnd());
        return;
      }
      const found = resolvePath(configSchema, splitDotted(key), cfg);
      if (!found) throw new UsageError(`no such config key: ${key} (see docs/config.md)`);
      const value = getIn(cfg, found.path);
      if (value === undefined) throw new UsageError(`${key} is not set`, 1);
      c.print(value, () => (typeof value === 'object' ? stringify(value).trimEnd() : String(value)));
    });

  config
    .command('set')
    .argument('<key>', 'dotted key')
    .argument('<value>', 'YAML value: 30, true, "[a, b]", text')
    .description('change a key in the file after validating the whole result; records a version')
    .action((key: string, value: string) => {
      const c = ctx();
      const h = new ConfigHistory(c.configFile, c.env);
      const r = h.set(key, value);
      c.print({ version: r.version, key: r.path }, () => `${r.path} set; now version ${r.version}`);
    });

  config
    .command('diff')
    .argument('[from]', 'version to compare from (default: the previous version)')
    .argument('[to]', 'version to compare to (default: the current file)')
    .description('show what changed between versions')
    .action((from?: string, to?: string) => {
      const c = ctx();
      const h = new ConfigHistory(c.configFile, c.env);
      c.out(h.diff(from ? versionArg(from) : undefined, to ? versionArg(to) : undefined).trimEnd());
    });

  config
    .command('history')
    .description('list the kept versions')
    .action(() => {
      const c = ctx();
      const list = new ConfigHistory(c.configFile, c.env).list();
      c.print(list, () =>
        list.length === 0 ? 'no versions recorded yet' : list.map((v) => `v${v.version}  ${v.time}  ${v.action}`).join('\n'),
      );
    });

  config
    .command('rollback')
    .argument('<version>', 'version to restore')
    .description('make an earlier version current again (recorded as a new version)')
    .action((version: string) => {
      const c = ctx();
      const v = new ConfigHistory(c.configFile, c.env).rollback(versionArg(version));
      c.print({ version: v }, () => `rolled back to v${versionArg(version)}; now version ${v}`);
    });
}
