import { HttpError } from '../errors';

export function stringParam(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
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
