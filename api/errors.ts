/**
 * Stable error bodies: `{ "error": { "code", "message", "details"? } }`. Codes are part of
 * the API contract; messages are for people.
 */
import type { ErrorRequestHandler } from 'express';
import type { Violation } from '../domain/contract';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new HttpError(404, 'not_found', `${what} '${id}' not found`);

export const invalid = (what: string, violations: Violation[]) =>
  new HttpError(400, 'validation_failed', `${what} is invalid: ${violations.length} violation(s)`, violations);

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    return;
  }
  // The run or workflow ended between the route's check and its action.
  if ((err as Error).name === 'RunStateError' || (err as Error).name === 'WorkflowNotFoundError') {
    res.status(409).json({ error: { code: 'conflict', message: (err as Error).message } });
    return;
  }
  // express.json() reports malformed bodies with a status and type of its own.
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: { code: 'invalid_json', message: `request body is not valid JSON: ${e.message}` } });
    return;
  }
  if (e.type === 'entity.too.large') {
    res.status(413).json({ error: { code: 'too_large', message: 'request body is too large' } });
    return;
  }
  console.error('[api] unhandled error:', err);
  res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
};
