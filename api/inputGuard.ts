/**
 * Client input that no route should ever see: refused with a 4xx and the stable error
 * body before any handler runs, so bad input costs nothing and writes nothing.
 *  - query parameters: one string each (a repeated one would silently drop a filter),
 *    no NUL bytes, no lone surrogates;
 *  - bodies: JSON only (uploads excepted), nested at most 64 deep, and the same string
 *    rules for every key and value, reported by JSON pointer.
 */
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

const MAX_DEPTH = 64;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/;

const escapeToken = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1');

function badString(s: string): string | null {
  if (NUL.test(s)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode (it has a lone surrogate)';
  return null;
}

/** Iterative, so a hostile depth cannot overflow the stack of the check itself. */
function checkJson(root: unknown): { pointer: string; message: string } | null {
  const stack: { v: unknown; pointer: string; depth: number }[] = [{ v: root, pointer: '', depth: 0 }];
  while (stack.length) {
    const { v, pointer, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const why = badString(v);
      if (why) return { pointer, message: why };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return { pointer, message: `is nested more than ${MAX_DEPTH} levels deep` };
    for (const [k, child] of Object.entries(v)) {
      const why = badString(k);
      if (why) return { pointer: `${pointer}/${escapeToken(k.replace(NUL, '\\0'))}`, message: `key ${why}` };
      stack.push({ v: child, pointer: `${pointer}/${escapeToken(k)}`, depth: depth + 1 });
    }
  }
  return null;
}

/** Before the body parser: a request with a body must send JSON (routes that take files excepted). */
export function requireJsonBodies(rawBodyRoutes: RegExp[]): RequestHandler {
  return (req, _res, next) => {
    const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
    if (hasBody && !['GET', 'HEAD', 'DELETE'].includes(req.method) && !rawBodyRoutes.some((r) => r.test(req.path)) && !req.is('application/json')) {
      throw new HttpError(415, 'unsupported_media_type', `send JSON (Content-Type: application/json), not ${req.header('content-type') ?? 'no content type'}`);
    }
    next();
  };
}

/** After the body parser. */
export const guardInput: RequestHandler = (req, _res, next) => {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    throw new HttpError(400, 'invalid_path', 'the request path is not valid percent-encoded UTF-8');
  }
  const pathWhy = badString(path);
  if (pathWhy) throw new HttpError(400, 'invalid_path', `the request path ${pathWhy}`);
  for (const [name, value] of Object.entries(req.query)) {
    if (typeof value !== 'string') {
      throw new HttpError(400, 'validation_failed', `query parameter '${name.slice(0, 64)}' must be given once, as a plain value`, [{ pointer: `/${escapeToken(name.slice(0, 64))}`, message: 'must be a single value' }]);
    }
    const why = badString(value) ?? badString(name);
    if (why) throw new HttpError(400, 'validation_failed', `query parameter '${name.slice(0, 64).replace(NUL, '\\0')}' ${why}`, [{ pointer: `/${escapeToken(name.slice(0, 64).replace(NUL, '\\0'))}`, message: why }]);
  }
  if (req.body !== undefined) {
    const bad = checkJson(req.body);
    if (bad) throw new HttpError(400, 'validation_failed', `request body ${bad.pointer || '(document)'} ${bad.message}`, [bad]);
  }
  next();
};

/** Only these fields: an unknown one is refused, never ignored. */
export function onlyFields(body: unknown, allowed: string[]): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'validation_failed', 'the request body must be a JSON object', [{ pointer: '', message: 'must be an object' }]);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    throw new HttpError(
      400,
      'validation_failed',
      `unknown field(s): ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
      unknown.slice(0, 20).map((k) => ({ pointer: `/${escapeToken(k.slice(0, 64))}`, message: `is not a known field (expected: ${allowed.join(', ') || 'none'})` })),
    );
  }
  return body as Record<string, unknown>;
}

/** A `contains` search taken literally: % and _ are not wildcards to the user. */
export const literalLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
