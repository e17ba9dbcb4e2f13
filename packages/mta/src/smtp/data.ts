// DATA: stream the message into the spool behind our Received header while scanning it, refuse
// what must be refused (too big, a loop, malformed), and make the rest durable before the 250.
// Nothing is acknowledged that is not on disk; nothing half-written is left in the queue.
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Envelope } from '../spool/envelope.js';
import { ENVELOPE_VERSION } from '../spool/envelope.js';
import { newSpoolId } from '../spool/ids.js';
import type { IncomingMessage } from '../spool/spool.js';
import { HeaderHold } from './header-hold.js';
import { MessageScanner, type MessageProblem } from './message-scan.js';
import { buildReceivedHeader } from './received.js';
import { replies, SmtpReply } from './replies.js';
import { transactionOf, type SmtpContext } from './context.js';

const PROBLEM_TEXT: Record<Exclude<MessageProblem, 'empty'>, string> = {
  nul: 'NUL character in message',
  'bare-lf': 'bare LF (line ending without CR); use CRLF',
  'bare-cr': 'bare CR (CR without LF)',
  'bad-header': 'malformed header line',
};

/** Reads the rest of the DATA stream so the reply can be sent (smtp-server waits for 'end'). */
async function drain(stream: SMTPServerDataStream): Promise<void> {
  for await (const _ of stream) void _;
}

export async function handleData(ctx: SmtpContext, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
  const tx = transactionOf(session.envelope);
  const routes = [...tx.routes.values()];
  const id = newSpoolId();
  let message: IncomingMessage | undefined;
  try {
    message = await ctx.spool.openMessage(id);
  } catch (err) {
    ctx.logger.error({ err, queueId: id }, 'cannot create a spool file');
    await drain(stream);
    throw replies.localError();
  }
  try {
    const received = buildReceivedHeader({
      helo: session.hostNameAppearsAs,
      clientHostname: session.clientHostname,
      clientAddress: session.remoteAddress,
      hostname: ctx.hostname,
      protocol: session.transmissionType,
      id,
      recipient: routes.length === 1 && session.envelope.rcptTo.length === 1 ? (session.envelope.rcptTo[0]?.address ?? null) : null,
    });
    const scanner = new MessageScanner();
    let size = Buffer.byteLength(received);
    await message.write(received);
    // Submitted mail gets the Message-ID and Date its client left out (RFC 6409 8.3, 8.1).
    const hold = typeof session.user === 'string' ? new HeaderHold(ctx.hostname) : undefined;
    const take = async (bytes: Buffer): Promise<void> => {
      if (bytes.length === 0) return;
      scanner.push(bytes);
      size += bytes.length;
      await message!.write(bytes);
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Past the limit, keep reading (the client is still sending) but stop writing to disk.
      if (stream.sizeExceeded) continue;
      await take(hold ? hold.push(chunk) : chunk);
    }
    if (hold && !stream.sizeExceeded) await take(hold.end());
    if (stream.sizeExceeded) throw replies.tooBig(ctx.maxMessageSize);
    const scan = scanner.result();
    if (scan.problem === 'empty') throw replies.empty();
    if (scan.problem) throw replies.malformed(PROBLEM_TEXT[scan.problem]);
    if (scan.receivedCount > ctx.maxReceived) throw replies.loop(scan.receivedCount);
    if (scan.headerOpen) {
      // A header-only message is legal (RFC 5322 3.5: the body is optional), but the store
      // wants the blank line that ends the header: add it rather than refuse the message.
      await message.write('\r\n');
      size += 2;
    }
    await message.finish();
    const now = new Date().toISOString();
    const given = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const from = given === '' ? '' : ctx.rewriteSenders.rewrite(given);
    const env: Envelope = {
      version: ENVELOPE_VERSION,
      id,
      receivedAt: now,
      from,
      size,
      messageId: scan.messageId,
      body: session.envelope.bodyType ? session.envelope.bodyType.toUpperCase() : null,
      client: { address: session.remoteAddress, helo: session.hostNameAppearsAs, hostname: session.clientHostname },
      ...(typeof session.user === 'string' ? { authUser: session.user } : {}),
      recipients: routes.map((r, index) => ({
        index,
        orcpt: r.orcpt,
        to: r.to,
        channel: r.channel,
        destination: r.destination,
        quotaBytes: r.quotaBytes,
        quotaMessages: r.quotaMessages,
        status: { state: 'pending', attempts: 0, nextTryAt: now, lastAnswer: null },
        ...(r.notify ? { notify: r.notify } : {}),
        ...(r.orcptParam ? { orcptParam: r.orcptParam } : {}),
      })),
      ...dsnParams(session),
    };
    await ctx.spool.commit(message, env);
    message = undefined;
    ctx.onAccepted(env);
    return `2.0.0 Ok queued as ${id}`;
  } catch (err) {
    await message?.discard().catch(() => undefined);
    if (!stream.readableEnded) await drain(stream).catch(() => undefined);
    if (err instanceof SmtpReply) {
      for (const r of routes) ctx.mailLog.rejected({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcpt: r.orcpt, answer: err.toString(), remote: session.remoteAddress });
      throw err;
    }
    ctx.logger.error({ err, queueId: id }, 'spooling failed');
    throw replies.localError();
  }
}

/** MAIL FROM RET= and ENVID= (RFC 3461), when given. */
function dsnParams(session: SMTPServerSession): Pick<Envelope, 'dsn'> {
  const d = (session.envelope as { dsn?: { ret?: string | null; envid?: string | null } }).dsn;
  const ret = d?.ret === 'FULL' || d?.ret === 'HDRS' ? d.ret : undefined;
  const envid = d?.envid ?? undefined;
  if (!ret && !envid) return {};
  return { dsn: { ...(ret ? { ret } : {}), ...(envid ? { envid } : {}) } };
}
