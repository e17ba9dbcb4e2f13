// The envelope file beside each spooled message: who sent it, every recipient with its own
// delivery state. It is JSON so an operator can read it with `cat`, and validated on read so
// a damaged file is reported, not half-delivered.
import { z } from 'zod';
import type { SpoolRecipient } from '../queue/recipient.js';

export const ENVELOPE_VERSION = 1;

const dsnState = z.enum(['pending', 'sent', 'none']);

const statusSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('pending'), attempts: z.number().int().min(0), nextTryAt: z.string(), lastAnswer: z.string().nullable() }),
  z.object({
    state: z.literal('delivered'),
    attempts: z.number().int().min(0),
    at: z.string(),
    answer: z.string(),
    dsn: dsnState.optional(),
    remote: z.string().optional(),
    action: z.enum(['delivered', 'relayed']).optional(),
  }),
  z.object({
    state: z.literal('failed'),
    attempts: z.number().int().min(0),
    at: z.string(),
    answer: z.string(),
    dsn: dsnState,
    remote: z.string().optional(),
  }),
]);

const recipientSchema = z.object({
  index: z.number().int().min(0),
  orcpt: z.string(),
  to: z.string(),
  channel: z.enum(['lmtp', 'smtp']),
  destination: z.string(),
  quotaBytes: z.number().int(),
  quotaMessages: z.number().int(),
  status: statusSchema,
  notify: z.array(z.enum(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY'])).optional(),
  orcptParam: z.string().optional(),
});

export const envelopeSchema = z.object({
  version: z.literal(ENVELOPE_VERSION),
  id: z.string(),
  receivedAt: z.string(),
  /** Envelope sender; '' for the null sender <>. */
  from: z.string(),
  /** Bytes of the spooled message (Received header included). */
  size: z.number().int().min(0),
  messageId: z.string().nullable(),
  /** MAIL FROM BODY= (7BIT or 8BITMIME), passed on to LMTP. */
  body: z.string().nullable(),
  client: z.object({ address: z.string(), helo: z.string(), hostname: z.string() }),
  /** MAIL FROM RET= and ENVID= (RFC 3461). */
  dsn: z.object({ ret: z.enum(['FULL', 'HDRS']).optional(), envid: z.string().optional() }).optional(),
  /** Delay notices sent so far (one per relay.channels.*.noticesDays period but the last). */
  delayNotices: z.number().int().min(0).optional(),
  /** Put on hold by an operator (`tiermail queue hold`): no delivery, no expiry, until released. */
  held: z.object({ at: z.string(), reason: z.string().optional() }).optional(),
  /** Who submitted it (587/465 AUTH), for the Received header and logs. */
  authUser: z.string().optional(),
  recipients: z.array(recipientSchema),
});

export type Envelope = Omit<z.infer<typeof envelopeSchema>, 'recipients'> & { recipients: SpoolRecipient[] };

export function parseEnvelope(text: string): Envelope {
  return envelopeSchema.parse(JSON.parse(text)) as Envelope;
}

export function serializeEnvelope(env: Envelope): string {
  return `${JSON.stringify(env, null, 1)}\n`;
}
