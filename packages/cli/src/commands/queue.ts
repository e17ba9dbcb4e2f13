// `tiermail queue ...`: the relay's queue as an operator sees it at 3 a.m. The spool is the
// truth (every accepted message, each recipient's state); bullmq only schedules. So list/show
// read the spool, summary adds each destination's state and the job counts from Redis, and the
// actions (queue-actions.ts) take ids or filters (queue-select.ts) to act on many at once.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isSpoolId, relaySettings, Spool, type Channel, type Envelope, type RelaySettings } from '@tiermail/mta';
import { UsageError, type CliContext } from '../context.js';
import { QueueActions, type ActionResult } from './queue-actions.js';
import { addFilterOptions, envelopes, filterFrom, hasFilter, matches, select } from './queue-select.js';

const CHANNELS: Channel[] = ['lmtp', 'smtp'];

interface QueueEnv {
  settings: RelaySettings;
  spool: Spool;
}

function relayOf(ctx: CliContext): QueueEnv {
  const loaded = ctx.load();
  const host = loaded.host ?? Object.entries(loaded.config.hosts).find(([, h]) => h.roles.includes('relay'))?.[0];
  if (!host) throw new UsageError('no relay host: pass --host NAME (a host with the relay role)');
  const settings = relaySettings(loaded.config, host);
  return { settings, spool: new Spool(settings.spoolDir) };
}

async function withActions<T>(ctx: CliContext, run: (a: QueueActions) => Promise<T>): Promise<T> {
  const { settings, spool } = relayOf(ctx);
  const actions = QueueActions.open(ctx.load().config, settings, spool);
  try {
    return await run(actions);
  } finally {
    await actions.close();
  }
}

function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
}

function pending(env: Envelope) {
  return env.recipients.filter((r) => r.status.state === 'pending');
}

function renderList(list: Envelope[]): string {
  if (list.length === 0) return 'queue empty';
  const lines: string[] = [];
  for (const env of list) {
    const held = env.held ? `  HELD since ${env.held.at}${env.held.reason ? ` (${env.held.reason})` : ''}` : '';
    lines.push(`${env.id}  ${age(env.receivedAt).padStart(4)}  ${String(env.size).padStart(8)}  <${env.from}>${held}`);
    for (const r of env.recipients) {
      const st = r.status;
      const detail =
        st.state === 'pending'
          ? `pending, ${st.attempts} attempts, next ${st.nextTryAt}${st.lastAnswer ? `, last: ${st.lastAnswer}` : ''}`
          : st.state === 'delivered'
            ? `delivered ${st.at}`
            : `failed ${st.at}: ${st.answer}`;
      lines.push(`    ${r.to} via ${r.channel}:${r.destination}  ${detail}`);
    }
  }
  return lines.join('\n');
}

/** Runs one action over the selected messages and reports what happened to each. */
async function act(
  c: CliContext,
  ids: string[],
  o: Record<string, unknown>,
  verb: string,
  run: (a: QueueActions, env: Envelope) => Promise<ActionResult>,
): Promise<void> {
  const { spool } = relayOf(c);
  const list = await select(spool, ids, o);
  const result: Record<ActionResult, string[]> = { done: [], busy: [], skipped: [] };
  await withActions(c, async (a) => {
    for (const env of list) result[await run(a, env)].push(env.id);
  });
  c.print({ [verb]: result.done, busy: result.busy, skipped: result.skipped }, () =>
    [
      `${result.done.length} message(s) ${verb}`,
      ...(result.busy.length ? [`${result.busy.length} being delivered right now, left alone (run again): ${result.busy.join(' ')}`] : []),
      ...(result.skipped.length ? [`${result.skipped.length} had nothing to ${verb.replace(/e?d$/, '')}: ${result.skipped.slice(0, 20).join(' ')}${result.skipped.length > 20 ? ' ...' : ''}`] : []),
    ].join('\n'),
  );
  if (result.busy.length > 0) process.exitCode = 1;
}

export function registerQueue(program: Command, ctx: () => CliContext): void {
  const queue = program.command('queue').description("inspect and act on the relay's queue (spool and scheduled jobs)");

  addFilterOptions(queue.command('list'))
    .description('queued messages with the state of each recipient, oldest first (filters narrow it)')
    .action(async (o: Record<string, unknown>) => {
      const c = ctx();
      const { spool } = relayOf(c);
      const f = filterFrom(o);
      const list = (await envelopes(spool)).filter((e) => matches(e, f));
      c.print(list, () => renderList(list));
    });

  queue
    .command('summary')
    .description('messages and recipients waiting per channel and destination, and the job counts')
    .action(async () => {
      const c = ctx();
      const { spool } = relayOf(c);
      const list = await envelopes(spool);
      const byDest = new Map<string, { recipients: number; held: number; oldest: string; nextTry: string | null; lastError: string | null }>();
      for (const env of list) {
        for (const r of pending(env)) {
          const key = `${r.channel}:${r.destination}`;
          const cur = byDest.get(key) ?? { recipients: 0, held: 0, oldest: env.receivedAt, nextTry: null, lastError: null };
          const st = r.status.state === 'pending' ? r.status : null;
          cur.recipients += 1;
          if (env.held) cur.held += 1;
          if (env.receivedAt < cur.oldest) cur.oldest = env.receivedAt;
          if (st && !env.held && (cur.nextTry === null || st.nextTryAt < cur.nextTry)) cur.nextTry = st.nextTryAt;
          // The answer of the most recent attempt at this destination is its state.
          if (st?.lastAnswer) cur.lastError = st.lastAnswer;
          byDest.set(key, cur);
        }
      }
      const jobs = await withActions(c, async (a) =>
        Object.fromEntries(await Promise.all(CHANNELS.map(async (ch) => [ch, await a.queues[ch].getJobCounts('waiting', 'delayed', 'active', 'failed')] as const))),
      );
      const result = { messages: list.length, destinations: Object.fromEntries(byDest), jobs };
      c.print(result, () =>
        [
          `${list.length} message(s) in the spool`,
          ...[...byDest].map(
            ([d, v]) =>
              `  ${d}: ${v.recipients} recipient(s) waiting${v.held ? ` (${v.held} held)` : ''}, oldest ${age(v.oldest)}` +
              `${v.nextTry ? `, next try ${v.nextTry}` : ''}${v.lastError ? `\n      last answer: ${v.lastError}` : ''}`,
          ),
          ...CHANNELS.map((ch) => `  jobs ${ch}: ${Object.entries(jobs[ch] ?? {}).map(([k, n]) => `${k} ${n}`).join(', ')}`),
        ].join('\n'),
      );
    });

  queue
    .command('show <id>')
    .description('the envelope and the header of one queued message')
    .action(async (id: string) => {
      const c = ctx();
      const { spool } = relayOf(c);
      if (!isSpoolId(id)) throw new UsageError(`${id} is not a queue id`);
      const env = await spool.readEnvelope(id);
      if (!env) throw new UsageError(`${id} is not in the queue`, 1);
      const text = await readFile(spool.messagePath(id), 'latin1').catch(() => '');
      const end = text.search(/\r?\n\r?\n/);
      const header = end >= 0 ? text.slice(0, end) : text;
      c.print({ envelope: env, header }, () => `${renderList([env])}\n\n${header}`);
    });

  addFilterOptions(queue.command('retry [ids...]'))
    .option('--all', 'every queued message')
    .description('try the waiting recipients now instead of at their next scheduled time')
    .action((ids: string[], o: Record<string, unknown>) => act(ctx(), ids, o, 'retried', (a, env) => a.retry(env)));

  addFilterOptions(queue.command('hold [ids...]'))
    .option('--all', 'every queued message')
    .option('--reason <text>', 'why (kept in the envelope and mail.log)')
    .description('stop delivering these messages (no retries, no expiry) until released; H records')
    .action((ids: string[], o: Record<string, unknown>) =>
      act(ctx(), ids, o, 'held', (a, env) => a.hold(env, typeof o.reason === 'string' ? o.reason : undefined)),
    );

  addFilterOptions(queue.command('release [ids...]'))
    .option('--all', 'every held message')
    .description('deliver held messages again (due recipients at once)')
    .action((ids: string[], o: Record<string, unknown>) => {
      // Filters (or --all) pick among the held messages only.
      const chosen = ids.length === 0 && (o.all || hasFilter(filterFrom(o))) ? { ...o, held: true } : o;
      return act(ctx(), ids, chosen, 'released', (a, env) => a.release(env));
    });

  addFilterOptions(queue.command('return [ids...]'))
    .option('--all', 'every queued message')
    .option('--reason <text>', 'told to the sender in the DSN')
    .description('give up on the waiting recipients: a DSN goes to the sender; R records')
    .action((ids: string[], o: Record<string, unknown>) =>
      act(ctx(), ids, o, 'returned', (a, env) => a.returnToSender(env, typeof o.reason === 'string' ? o.reason : undefined)),
    );

  addFilterOptions(queue.command('delete [ids...]'))
    .option('--all', 'every queued message')
    .description('take messages out of the queue without delivering them (kept in spool/deleted/); K records')
    .action((ids: string[], o: Record<string, unknown>) => act(ctx(), ids, o, 'deleted', (a, env) => a.delete(env)));
}
