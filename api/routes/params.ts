import { HttpError } from '../errors';

export function stringParam(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** An optional integer query parameter within bounds; a bad one is a 400 naming it. */
export function intParam(v: unknown, name: string, min: number, max: number): number | undefined {
  const raw = stringParam(v);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new HttpError(400, 'validation_failed', `${name} must be an integer from ${min} to ${max}`, [{ pointer: `/${name}`, message: `must be ${min}..${max}` }]);
  }
  return n;
}

export function pageParams(q: Record<string, unknown>): { limit: number } {
  const raw = stringParam(q.limit);
  if (raw === undefined) return { limit: 100 };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new HttpError(400, 'validation_failed', 'limit must be an integer from 1 to 1000', [{ pointer: '/limit', message: 'must be 1..1000' }]);
  }
  return { limit: n };
}
