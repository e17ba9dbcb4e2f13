// `tiermail trace QUERY`: the life of a message from mail.log, across relay and store records.
// QUERY is a queue id (the store's "<id>.<n>" records follow from the relay's), a Message-ID,
// or an address (envelope sender, original or routed recipient). Reads mail.log and the files
// logrotate leaves beside it (mail.log.1, ...; compressed ones are skipped and named).
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseMailLogLine, type MailLogRecord } from '@tiermail/core';
import { UsageError, type CliContext } from '../context.js';

/** mail.log and its rotated siblings, oldest first. */
async function logFiles(path: string): Promise<{ files: string[]; skipped: string[] }> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new UsageError(`no mail.log at ${path}`, 1);
  }
  const rotated = names
    .filter((n) => n.startsWith(`${base}.`))
    .map((n) => ({ n, k: Number(n.slice(base.length + 1).replace(/\.gz$/, '')) }))
    .filter((x) => Number.isInteger(x.k))
    .sort((a, b) => b.k - a.k);
  const skipped = rotated.filter((x) => x.n.endsWith('.gz')).map((x) => x.n);
  const files = [...rotated.filter((x) => !x.n.endsWith('.gz')).map((x) => join(dir, x.n)), ...(names.includes(base) ? [path] : [])];
  return { files, skipped };
}

export function traceMatches(r: MailLogRecord, query: string): boolean {
  const q = query.toLowerCase();
  if (r.queueId && (r.queueId === query || r.queueId.startsWith(`${query}.`))) return true;
  if (r.messageId && r.messageId.replace(/^<|>$/g, '') === query.replace(/^<|>$/g, '')) return true;
  return [r.from, r.orcpt, r.to].some((a) => a.toLowerCase() === q);
}

function render(r: MailLogRecord): string {
  const route = `${r.source || '-'}→${r.dest || '-'}`;
  const who = `<${r.from}> → ${r.to}${r.orcpt && r.orcpt !== r.to ? ` (${r.orcpt})` : ''}`;
  return [r.time, r.host, r.code.padEnd(3), route.padEnd(12), r.queueId ?? '-', who, r.answer ?? '', r.remote ? `[${r.remote}]` : '']
    .filter((x) => x !== '')
    .join('  ');
}

export function registerTrace(program: Command, ctx: () => CliContext): void {
  program
    .command('trace <query>')
    .description('follow a message through mail.log by queue id, Message-ID or address')
    .option('--log <file>', 'mail.log to read (default: paths.log/mail.log of the config)')
    .action(async (query: string, o: { log?: string }) => {
      const c = ctx();
      const path = o.log ?? join(c.load().config.paths.log, 'mail.log');
      const { files, skipped } = await logFiles(path);
      const found: MailLogRecord[] = [];
      for (const f of files) {
        const lines = createInterface({ input: createReadStream(f, 'utf8'), crlfDelay: Infinity });
        for await (const line of lines) {
          const r = parseMailLogLine(line);
          if (r && traceMatches(r, query)) found.push(r);
        }
      }
      // A queue id found by address pulls in the store's records of the same message.
      const ids = new Set(found.map((r) => r.queueId?.split('.')[0]).filter((x): x is string => !!x));
      if (ids.size > 0 && !ids.has(query)) {
        for (const f of files) {
          const lines = createInterface({ input: createReadStream(f, 'utf8'), crlfDelay: Infinity });
          for await (const line of lines) {
            const r = parseMailLogLine(line);
            if (r?.queueId && ids.has(r.queueId.split('.')[0]!) && !found.some((x) => x.time === r.time && x.code === r.code && x.to === r.to)) found.push(r);
          }
        }
      }
      found.sort((a, b) => a.time.localeCompare(b.time));
      c.print({ records: found, skipped }, () =>
        [
          ...(found.length ? found.map(render) : [`nothing in ${files.length} file(s) matches ${query}`]),
          ...(skipped.length ? [`(compressed, not read: ${skipped.join(', ')})`] : []),
        ].join('\n'),
      );
    });
}
