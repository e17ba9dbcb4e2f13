// smtp-server adds an enhanced status code to each reply from a fixed table keyed by the reply
// code alone (550 is always 5.1.1), so "550 5.7.1 Relaying denied" would come out as
// "550 5.1.1 5.7.1 Relaying denied". Replies whose text already starts with an enhanced code
// are sent as they are; every other reply keeps the library's code. This patches the one
// method that writes replies, once per process, and is covered by the relay's SMTP tests.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
let installed = false;

type Send = (code: number, data?: string | string[], context?: string | false) => void;

export function installEnhancedCodePassThrough(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as { send: Send };
  const original = proto.send;
  proto.send = function send(this: unknown, code, data, context) {
    const own = typeof data === 'string' && ENHANCED.test(data);
    return original.call(this, code, data, own ? false : context);
  };
}
