// Telling "this server failed" (fail over, mark it down) from "the server answered" (an LDAP
// result such as noSuchObject, which is an answer about the data) and from our own bugs
// (which must surface, not be blamed on a server).
import { MessageParserError, ResultCodeError } from 'ldapts';

/** Our deadline fired: the server accepted the request but did not answer in time. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
}

/** The connection cannot be used: closed under us, or the service bind was refused. */
export class ServerUnusableError extends Error {
  override readonly name = 'ServerUnusableError';
}

// LDAP result codes that say "this server cannot serve now", not "no such data":
// timeLimitExceeded(3), busy(51), unavailable(52), unwillingToPerform(53, e.g. a replica that is
// still loading), loopDetect(54), other(80).
const SERVER_RESULT_CODES = new Set([3, 51, 52, 53, 54, 80]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

// ldapts reports socket trouble as plain Errors; these are its messages (ldapts 8, Client.ts).
const LDAPTS_CONNECTION_MESSAGES =
  /Socket error|Connection closed|Connection timeout|Operation timed out|Socket connection not established/;

export function isServerFailure(err: unknown): boolean {
  if (err instanceof OperationTimeoutError || err instanceof ServerUnusableError) return true;
  if (err instanceof ResultCodeError) return SERVER_RESULT_CODES.has(err.code);
  if (err instanceof MessageParserError) return true; // garbage on the wire
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
    return true;
  }
  return LDAPTS_CONNECTION_MESSAGES.test(err.message);
}

/** A deadline passed (ours or ldapts's): the server may be hung, so retrying it now is futile. */
export function isTimeout(err: unknown): boolean {
  if (err instanceof OperationTimeoutError) return true;
  return err instanceof Error && /Operation timed out|Connection timeout/.test(err.message);
}

/** One line for logs and DirectoryUnavailableError.attempts. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const first = err.message.split('\n')[0] ?? '';
    return typeof code === 'string' && !first.includes(code) ? `${code} ${first}` : first;
  }
  return String(err);
}
