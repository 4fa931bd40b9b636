/** Shortens text for evidence and error messages; keepEnd keeps the tail, where failures are explained. */
export function truncate(s: string, n: number, keepEnd = false): string {
  if (s.length <= n) return s;
  return keepEnd ? `…${s.slice(s.length - n)}` : `${s.slice(0, n)}…`;
}

/**
 * What PostgreSQL can store: no NUL character, in text or in jsonb (agents print binary
 * output; `find -print0` alone would otherwise fail every write of the run). Deep, for JSON.
 */
export function storable<T>(v: T): T {
  if (typeof v === 'string') return (v.includes('\u0000') ? v.replace(/\u0000/g, '\uFFFD') : v) as T;
  if (Array.isArray(v)) return v.map(storable) as T;
  if (v && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v) && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), storable(x)])) as T;
  }
  return v;
}
