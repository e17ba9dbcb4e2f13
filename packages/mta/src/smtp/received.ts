// The trace header the relay prepends to every message it accepts (RFC 5321 4.4).
export interface ReceivedInfo {
  helo: string;
  clientHostname: string;
  clientAddress: string;
  /** Our name, as in the banner. */
  hostname: string;
  /** ESMTP, ESMTPS, SMTP ... as smtp-server reports it. */
  protocol: string;
  id: string;
  /** Named only when there is exactly one (more would disclose a distribution list). */
  recipient: string | null;
  date?: Date;
}

/** Printable ASCII only: client-supplied names must not break the header. */
function clean(text: string, max = 255): string {
  return text.replace(/[^\x21-\x7e]/g, '').slice(0, max) || 'unknown';
}

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function buildReceivedHeader(info: ReceivedInfo): string {
  const from = `from ${clean(info.helo)} (${clean(info.clientHostname)} [${clean(info.clientAddress, 64)}])`;
  const by = `by ${clean(info.hostname)} (tiermail) with ${clean(info.protocol, 16)} id ${info.id}`;
  const forPart = info.recipient ? `\r\n\tfor <${clean(info.recipient, 320)}>` : '';
  return `Received: ${from}\r\n\t${by}${forPart};\r\n\t${rfc5322Date(info.date ?? new Date())}\r\n`;
}
