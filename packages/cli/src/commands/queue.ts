// `tiermail queue ...`: the relay's queue as an operator sees it at 3 a.m. The spool is the
// truth (every accepted message, each recipient's state); bullmq only schedules. So list/show
// read the spool, summary adds the job counts from Redis, retry promotes the scheduled jobs,
// and delete sets a message aside (spool/deleted/) rather than destroying it.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import { createRedis, type RedisClient } from '@tiermail/core';
import { isSpoolId, jobId, queueName, relaySettings, Spool, type Channel, type Envelope, type RelaySettings } from '@tiermail/mta';
import { UsageError, type CliContext } from '../context.js';

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

async function withQueues<T>(ctx: CliContext, settings: RelaySettings, run: (q: Record<Channel, Queue>) => Promise<T>): Promise<T> {
  const redis: RedisClient = createRedis(ctx.load().config.redis, { forQueue: true, usePrefix: false, connectionName: 'tiermail-cli-queue' });
  const queues = Object.fromEntries(
    CHANNELS.map((c) => [c, new Queue(queueName(settings.host, c), { connection: redis, prefix: settings.queuePrefix })]),
  ) as Record<Channel, Queue>;
  try {
    return await run(queues);
  } finally {
    await Promise.all(Object.values(queues).map((q) => q.close()));
    redis.disconnect();
  }
}

async function envelopes(spool: Spool): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const id of spool.ids()) {
    const env = await spool.readEnvelope(id).catch(() => null);
    if (env) out.push(env);
  }
  return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
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
    lines.push(`${env.id}  ${age(env.receivedAt).padStart(4)}  ${String(env.size).padStart(8)}  <${env.from}>`);
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

async function setAside(spool: Spool, id: string): Promise<void> {
  const dir = join(spool.dir, 'deleted');
  await mkdir(dir, { recursive: true });
  // Envelope first: without it the relay no longer considers the message queued.
  await rename(spool.envelopePath(id), join(dir, `${id}.json`));
  await rename(spool.messagePath(id), join(dir, `${id}.eml`)).catch(() => undefined);
}

export function registerQueue(program: Command, ctx: () => CliContext): void {
  const queue = program.command('queue').description("inspect and act on the relay's queue (spool and scheduled jobs)");

  queue
    .command('list')
    .description('every queued message with the state of each recipient, oldest first')
    .action(async () => {
      const c = ctx();
      const { spool } = relayOf(c);
      const list = await envelopes(spool);
      c.print(list, () => renderList(list));
    });

  queue
    .command('summary')
    .description('messages and recipients waiting per channel and destination, and the job counts')
    .action(async () => {
      const c = ctx();
      const { spool, settings } = relayOf(c);
      const list = await envelopes(spool);
      const byDest = new Map<string, { recipients: number; oldest: string }>();
      for (const env of list) {
        for (const r of pending(env)) {
          const key = `${r.channel}:${r.destination}`;
          const cur = byDest.get(key);
          byDest.set(key, { recipients: (cur?.recipients ?? 0) + 1, oldest: cur && cur.oldest < env.receivedAt ? cur.oldest : env.receivedAt });
        }
      }
      const jobs = await withQueues(c, settings, async (q) =>
        Object.fromEntries(await Promise.all(CHANNELS.map(async (ch) => [ch, await q[ch].getJobCounts('waiting', 'delayed', 'active', 'failed')] as const))),
      );
      const result = { messages: list.length, destinations: Object.fromEntries(byDest), jobs };
      c.print(result, () =>
        [
          `${list.length} message(s) in the spool`,
          ...[...byDest].map(([d, v]) => `  ${d}: ${v.recipients} recipient(s) waiting, oldest ${age(v.oldest)}`),
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

  queue
    .command('retry [id]')
    .option('--all', 'every queued message')
    .description('try the waiting recipients now instead of at their next scheduled time')
    .action(async (id: string | undefined, o: { all?: boolean }) => {
      const c = ctx();
      const { spool, settings } = relayOf(c);
      if (!id && !o.all) throw new UsageError('give a queue id or --all');
      const list = o.all ? await envelopes(spool) : [await spool.readEnvelope(id!)].filter((e): e is Envelope => e !== null);
      if (!o.all && list.length === 0) throw new UsageError(`${id} is not in the queue`, 1);
      const promoted = await withQueues(c, settings, async (q) => {
        let n = 0;
        for (const env of list) {
          const dests = new Set(pending(env).map((r) => `${r.channel}\u0000${r.destination}`));
          for (const d of dests) {
            const [channel, destination] = d.split('\u0000') as [Channel, string];
            const job = await q[channel].getJob(jobId({ id: env.id, channel, destination }));
            if (job && (await job.getState()) === 'delayed') {
              await job.promote();
              n++;
            }
          }
        }
        return n;
      });
      c.print({ promoted }, () => `${promoted} delivery job(s) moved to now (jobs already running or missing are left to the relay)`);
    });

  queue
    .command('delete <id>')
    .description('take a message out of the queue without delivering it (kept in spool/deleted/)')
    .action(async (id: string) => {
      const c = ctx();
      const { spool, settings } = relayOf(c);
      if (!isSpoolId(id)) throw new UsageError(`${id} is not a queue id`);
      const env = await spool.readEnvelope(id);
      if (!env) throw new UsageError(`${id} is not in the queue`, 1);
      await withQueues(c, settings, async (q) => {
        for (const r of env.recipients) {
          const job = await q[r.channel].getJob(jobId({ id, channel: r.channel, destination: r.destination }));
          if (!job) continue;
          if ((await job.getState()) === 'active') throw new UsageError(`${id} is being delivered right now; try again in a moment`, 1);
          await job.remove();
        }
      });
      await setAside(spool, id);
      c.print({ deleted: id }, () => `${id} taken out of the queue (files in ${join(spool.dir, 'deleted')})`);
    });
}
