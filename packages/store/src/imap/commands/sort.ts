// SORT and THREAD (RFC 5256), with their UID forms: the SEARCH criteria pick the messages,
// then SORT orders them by its keys (ties by sequence number) and THREAD groups them by
// ORDEREDSUBJECT or REFERENCES. Headers are read from each message file once.
import { bad } from '../errors.js';
import { headerOf, headerValues } from '../message-parts.js';
import type { ImapSession } from '../session.js';
import { baseSubject, compareText, firstMailbox, messageIds, sentDate } from '../sort-keys.js';
import { orderedSubject, referencesThreads, type ThreadMessage } from '../threading.js';
import type { Args } from './args.js';
import { checkCharset, collectMatches } from './search.js';
import { SearchParser } from './search-keys.js';
import { ok, SELECTED, type CommandSpec } from './types.js';

const KEYS = new Set(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO']);

interface Picked {
  seq: number;
  uid: number;
  size: number;
  arrival: number;
  header: Buffer;
}

/** The messages the search criteria select, with their headers. */
async function pick(session: ImapSession, args: Args): Promise<Picked[]> {
  checkCharset(args.astring('charset'));
  const rest = [];
  while (args.remaining > 0) rest.push(args.next('search key'));
  const hits = await collectMatches(session, new SearchParser(rest).parseAll(), true);
  return hits.map((h) => ({ seq: h.seq, uid: h.uid, size: h.info.size, arrival: h.info.internalDate.getTime(), header: headerOf(h.msg!) }));
}

function compareBy(key: string, a: Picked, b: Picked): number {
  switch (key) {
    case 'ARRIVAL':
      return a.arrival - b.arrival;
    case 'SIZE':
      return a.size - b.size;
    case 'DATE':
      return (sentDate(a.header) ?? a.arrival) - (sentDate(b.header) ?? b.arrival);
    case 'SUBJECT':
      return compareText(baseSubject(headerValues(a.header, 'Subject')[0] ?? ''), baseSubject(headerValues(b.header, 'Subject')[0] ?? ''));
    default:
      return compareText(firstMailbox(a.header, key), firstMailbox(b.header, key));
  }
}

export const sortCommand: CommandSpec = {
  name: 'SORT',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const criteria = args.list('sort criteria');
    const keys: Array<{ key: string; reverse: boolean }> = [];
    for (let i = 0; i < criteria.length; i++) {
      let name = criteria[i]?.type === 'atom' ? (criteria[i] as { value: string }).value.toUpperCase() : '';
      let reverse = false;
      if (name === 'REVERSE') {
        reverse = true;
        const next = criteria[++i];
        name = next?.type === 'atom' ? next.value.toUpperCase() : '';
      }
      if (!KEYS.has(name)) throw bad(`Unknown sort key ${name || '?'}`);
      keys.push({ key: name, reverse });
    }
    if (keys.length === 0) throw bad('Empty sort criteria');
    const picked = await pick(session, args);
    picked.sort((a, b) => {
      for (const k of keys) {
        const c = compareBy(k.key, a, b);
        if (c !== 0) return k.reverse ? -c : c;
      }
      return a.seq - b.seq;
    });
    session.send(`* SORT${picked.map((p) => ` ${uid ? p.uid : p.seq}`).join('')}`);
    return ok(`${uid ? 'UID ' : ''}SORT completed`);
  },
};

export const threadCommand: CommandSpec = {
  name: 'THREAD',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const algorithm = args.atom('threading algorithm').toUpperCase();
    if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES') throw bad(`Unknown threading algorithm ${algorithm}`);
    const picked = await pick(session, args);
    const msgs: ThreadMessage[] = picked.map((p) => {
      const subject = headerValues(p.header, 'Subject')[0] ?? '';
      const base = baseSubject(subject);
      const refs = messageIds(headerValues(p.header, 'References')[0]);
      return {
        id: uid ? p.uid : p.seq,
        messageId: messageIds(headerValues(p.header, 'Message-ID')[0])[0] ?? null,
        references: refs.length > 0 ? refs : messageIds(headerValues(p.header, 'In-Reply-To')[0]).slice(0, 1),
        baseSubject: base,
        isReply: base !== subject.replace(/\s+/g, ' ').trim(),
        date: sentDate(p.header) ?? p.arrival,
      };
    });
    const threads = algorithm === 'ORDEREDSUBJECT' ? orderedSubject(msgs) : referencesThreads(msgs);
    session.send(`* THREAD${threads ? ` ${threads}` : ''}`);
    return ok(`${uid ? 'UID ' : ''}THREAD completed`);
  },
};
