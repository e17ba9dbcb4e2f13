// userPassword values in the RFC 2307 "{SCHEME}base64" form that OpenLDAP (with pw-sha2),
// Sun/Oracle DS and 389-DS all understand. New hashes are always salted SHA-512, so a value
// written by provisioning is accepted by slapd's own bind and by verifyPassword alike.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const SALT_BYTES = 16;

type Algorithm = 'sha1' | 'sha256' | 'sha512';

interface Scheme {
  algorithm: Algorithm;
  /** Digest length in bytes; anything after it in the decoded value is the salt. */
  digestBytes: number;
  salted: boolean;
}

// Only hashed schemes: a stored value without a known scheme never verifies, because
// accepting clear text would let anyone who can write userPassword skip hashing silently.
const SCHEMES: Readonly<Record<string, Scheme>> = {
  SSHA512: { algorithm: 'sha512', digestBytes: 64, salted: true },
  SSHA256: { algorithm: 'sha256', digestBytes: 32, salted: true },
  SSHA: { algorithm: 'sha1', digestBytes: 20, salted: true },
  SHA512: { algorithm: 'sha512', digestBytes: 64, salted: false },
  SHA256: { algorithm: 'sha256', digestBytes: 32, salted: false },
  SHA: { algorithm: 'sha1', digestBytes: 20, salted: false },
};

function digest(algorithm: Algorithm, plain: string, salt: Buffer): Buffer {
  return createHash(algorithm).update(Buffer.from(plain, 'utf8')).update(salt).digest();
}

/** `{SSHA512}` base64(sha512(password + salt) + salt) with a fresh 16-byte salt. */
export function hashPassword(plain: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const hash = digest('sha512', plain, salt);
  return `{SSHA512}${Buffer.concat([hash, salt]).toString('base64')}`;
}

/** The scheme name of a stored value (upper case), or null when it has none. */
export function passwordScheme(stored: string): string | null {
  const m = /^\{([A-Za-z0-9.-]+)\}/.exec(stored);
  return m?.[1] ? m[1].toUpperCase() : null;
}

/**
 * True when `plain` matches `stored`. Supports {SSHA512}, {SSHA256}, {SSHA}, {SHA512},
 * {SHA256}, {SHA} (scheme names are case-insensitive). Unknown schemes, clear text and
 * malformed values are false, never an exception: callers treat them as a wrong password.
 */
export function verifyPassword(plain: string, stored: string): boolean {
  const name = passwordScheme(stored);
  if (name === null) return false;
  const scheme = SCHEMES[name];
  if (!scheme) return false;
  const encoded = stored.slice(name.length + 2).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  const raw = Buffer.from(encoded, 'base64');
  if (scheme.salted ? raw.length <= scheme.digestBytes : raw.length !== scheme.digestBytes) return false;
  const expected = raw.subarray(0, scheme.digestBytes);
  const salt = raw.subarray(scheme.digestBytes);
  return timingSafeEqual(digest(scheme.algorithm, plain, salt), expected);
}
