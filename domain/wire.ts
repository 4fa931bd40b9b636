/**
 * The API's error body, shared by the server that writes it and the clients that read
 * it: `{ "error": { "code", "message", "details"? } }`. Codes are part of the contract;
 * messages are for people.
 */
export interface WireError {
  code: string;
  message: string;
  details?: unknown;
}

export interface WireErrorBody {
  error: WireError;
}

export function wireError(code: string, message: string, details?: unknown): WireErrorBody {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

/** The error of a response body, or null when the body is not the API's error shape. */
export function readWireError(body: unknown): WireError | null {
  const e = (body as Partial<WireErrorBody> | null)?.error;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.message !== 'string') return null;
  return e;
}

/** An error with the wire shape and its HTTP status: raised by the server, rebuilt by clients. */
export class WireFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
