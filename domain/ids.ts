/** Prefixed random ids: readable in logs and URLs, and they name the kind of object. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export type IdPrefix = 'org' | 'prd' | 'key' | 'task' | 'env' | 'iter' | 'run' | 'exp' | 'sec' | 'upl' | 'var' | 'whd';

export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(16);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % 36];
  return `${prefix}_${s}`;
}
