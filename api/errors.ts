/**
 * Stable error bodies: `{ "error": { "code", "message", "details"? } }`. Codes are part of
 * the API contract; messages are for people.
 */
import type { ErrorRequestHandler, Response } from 'express';
import type { Violation } from '../domain/contract';
import { WireFailure, wireError } from '../domain/wire';

/** A client error the API answers with its status and the wire error body. */
export class HttpError extends WireFailure {
  constructor(status: number, code: string, message: string, details?: unknown, readonly headers?: Record<string, string>) {
    super(status, code, message, details);
  }
}

export const notFound = (what: string, id: string) => new HttpError(404, 'not_found', `${what} '${id}' not found`);

export const invalid = (what: string, violations: Violation[]) =>
  new HttpError(400, 'validation_failed', `${what} is invalid: ${violations.length} violation(s)`, violations);

const send = (res: Response, status: number, code: string, message: string, details?: unknown) => {
  res.status(status).json(wireError(code, message, details));
};

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof HttpError) {
    for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
    return send(res, err.status, err.code, err.message, err.details);
  }
  // The run or workflow ended between the route's check and its action.
  if ((err as Error).name === 'RunStateError' || (err as Error).name === 'WorkflowNotFoundError') {
    return send(res, 409, 'conflict', (err as Error).message);
  }
  // express.json() reports malformed bodies with a status and type of its own.
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.parse.failed') return send(res, 400, 'invalid_json', `request body is not valid JSON: ${e.message}`);
  if (e.type === 'entity.too.large') return send(res, 413, 'too_large', 'request body is too large');
  // A path that is not valid percent-encoding, say: the request's fault, whatever threw it.
  if (err instanceof URIError) return send(res, 400, 'invalid_path', 'the request path is not valid percent-encoded UTF-8');
  // Other client errors of the parsers (unsupported charset or content encoding, …).
  const status = e.status ?? (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return send(res, status, e.type ? e.type.replace(/\./g, '_') : 'bad_request', e.message ?? 'bad request');
  console.error('[api] unhandled error:', err);
  return send(res, 500, 'internal', 'internal error');
};
