/**
 * API keys: `sk_<random>`, shown once at creation, stored as sha256 only. Every request
 * resolves its key to one organization; every query below is scoped to it.
 */
import { createHash } from 'node:crypto';
import { displayPrefix, generateApiKey, isWellFormedApiKey } from '../domain/apiKeyFormat';
import type { Request, RequestHandler } from 'express';
import type { PrismaClient } from '../prisma/client';
import { newId } from '../domain/ids';
import { HttpError } from './errors';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface Principal {
  organizationId: string;
  apiKeyId: string;
  /** Set when the request came from a signed-in dashboard (cookie) rather than a Bearer key. */
  sessionId?: string;
}

/** The dashboard's cookie session: the principal of the key it was opened with, or null. */
export type SessionResolver = (req: Request) => Promise<Principal | null>;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export async function createApiKey(prisma: PrismaClient, organizationId: string, name: string): Promise<{ id: string; key: string; prefix: string; createdAt: Date }> {
  const key = generateApiKey();
  const id = newId('key');
  const row = await prisma.apiKey.create({ data: { id, organizationId, name, prefix: displayPrefix(key), hash: hashKey(key) } });
  return { id, key, prefix: row.prefix, createdAt: row.createdAt };
}

/**
 * Failed authentications, per client address and per key prefix, in a sliding minute: a
 * guesser is slowed to a trickle, a client with a good key is never affected.
 */
class FailureLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly limit: number, private readonly windowMs = 60_000) {}
  blocked(key: string, now = Date.now()): number {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    this.hits.set(key, recent);
    return recent.length >= this.limit ? Math.ceil((recent[0]! + this.windowMs - now) / 1000) : 0;
  }
  fail(key: string, now = Date.now()) {
    const recent = this.hits.get(key) ?? [];
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > 10_000) this.hits.delete(this.hits.keys().next().value!);
  }
}

/** lastUsedAt is a hint for people (which keys are still in use), not an audit log: one
 * write per key per minute at most, whatever the request rate. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function authenticate(prisma: PrismaClient, limits: { perAddress?: number; perPrefix?: number } = {}, session?: SessionResolver): RequestHandler {
  const byAddress = new FailureLimiter(limits.perAddress ?? 30);
  const byPrefix = new FailureLimiter(limits.perPrefix ?? 10);
  const lastWritten = new Map<string, number>();
  const touch = (keyId: string) => {
    const now = Date.now();
    if (now - (lastWritten.get(keyId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    lastWritten.set(keyId, now);
    // Best effort and off the request's path: a failed write costs only the hint.
    prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } }).catch(() => lastWritten.delete(keyId));
  };
  return async (req, _res, next) => {
    const header = req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const address = req.socket.remoteAddress ?? 'unknown';
    const prefix = m ? m[1]!.slice(0, 10) : '';
    // Only failures are limited: a client with a good key is never slowed by a guesser
    // behind the same address.
    function refuse(message: string): never {
      const wait = Math.max(byAddress.blocked(address), m ? byPrefix.blocked(prefix) : 0);
      if (wait > 0) throw new HttpError(429, 'too_many_failed_attempts', `too many failed authentications; retry in ${wait}s`, undefined, { 'retry-after': String(wait) });
      byAddress.fail(address);
      if (m) byPrefix.fail(prefix);
      throw new HttpError(401, 'unauthenticated', message);
    }
    // A Bearer key wins over a cookie; without one, a dashboard session stands for its key.
    const fromSession = !m && session ? await session(req) : null;
    if (fromSession) {
      req.principal = fromSession;
      touch(fromSession.apiKeyId);
      return next();
    }
    if (!m) refuse('missing API key: send "Authorization: Bearer <key>"');
    // A key that is not even well formed is refused without a database lookup.
    if (!isWellFormedApiKey(m![1]!)) refuse('invalid API key');
    const key = await prisma.apiKey.findUnique({ where: { hash: hashKey(m![1]!) }, select: { id: true, organizationId: true, revokedAt: true } });
    if (!key || key.revokedAt) refuse('invalid or revoked API key');
    req.principal = { organizationId: key.organizationId, apiKeyId: key.id };
    touch(key.id);
    next();
  };
}

export function principal(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new HttpError(401, 'unauthenticated', 'not authenticated');
  return req.principal;
}
