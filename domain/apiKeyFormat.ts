/**
 * API keys that say what they are: `slk_` + 30 random base62 characters + a 6-character
 * base62 CRC-32 of them. Secret scanners recognise the prefix and can check the checksum
 * without asking simlab, and a mistyped key is refused before any database lookup.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const KEY_PREFIX = 'slk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY = 30;
const CHECK = 6;

function base62(n: number, width: number): string {
  let s = '';
  for (let i = 0; i < width; i++) {
    s = BASE62[n % 62]! + s;
    n = Math.floor(n / 62);
  }
  return s;
}

function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECK);
}

export function generateApiKey(): string {
  const bytes = randomBytes(BODY * 2);
  let body = '';
  // Rejection sampling keeps every character equally likely.
  for (const b of bytes) if (b < 248 && body.length < BODY) body += BASE62[b % 62];
  while (body.length < BODY) body += BASE62[randomBytes(1)[0]! % 62];
  return `${KEY_PREFIX}${body}${checksum(body)}`;
}

/** Well-formed: a simlab key whose checksum holds. Keys of the first format (`sk_…`) still pass. */
export function isWellFormedApiKey(key: string): boolean {
  if (/^sk_[A-Za-z0-9_-]{20,64}$/.test(key)) return true;
  if (!key.startsWith(KEY_PREFIX) || key.length !== KEY_PREFIX.length + BODY + CHECK) return false;
  const body = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + BODY);
  if (!/^[0-9A-Za-z]+$/.test(body)) return false;
  return checksum(body) === key.slice(KEY_PREFIX.length + BODY);
}

/** What listings show: enough to recognise a key, never enough to use it. */
export const displayPrefix = (key: string) => key.slice(0, KEY_PREFIX.length + 6);
