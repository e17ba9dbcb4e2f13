// Opens a Provisioner for one command and always closes its LDAP connection, so the
// process exits as soon as the command is done.
import { Provisioner } from '@tiermail/core';
import type { CliContext } from './context.js';
import { UsageError } from './context.js';

export async function withProvisioner<T>(ctx: CliContext, fn: (p: Provisioner) => Promise<T>): Promise<T> {
  const p = new Provisioner(ctx.load().config.directory);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

/** The password from --password, or the first line of standard input with --password-stdin. */
export async function readPassword(opts: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (opts.password !== undefined) return opts.password;
  if (!opts.passwordStdin) throw new UsageError('give --password-stdin (recommended) or --password');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('no password on standard input');
  return line;
}

export function collect(value: string, previous: string[] = []): string[] {
  return previous.concat([value]);
}

export function renderEntry(entry: Record<string, string | string[]>): string {
  return Object.entries(entry)
    .map(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`).join('\n') : `${k}: ${v}`))
    .join('\n');
}
