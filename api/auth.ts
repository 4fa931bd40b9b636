/**
 * API keys: `sk_<random>`, shown once at creation, stored as sha256 only. Every request
 * resolves its key to one organization; every query below is scoped to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { PrismaClient } from '../prisma/client';
import { newId } from '../domain/ids';
import { HttpError } from './errors';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface Principal {
  organizationId: string;
  apiKeyId: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export async function createApiKey(prisma: PrismaClient, organizationId: string, name: string): Promise<{ id: string; key: string }> {
  const key = `sk_${randomBytes(24).toString('base64url')}`;
  const id = newId('key');
  await prisma.apiKey.create({ data: { id, organizationId, name, prefix: key.slice(0, 10), hash: hashKey(key) } });
  return { id, key };
}

/** lastUsedAt is a hint for people (which keys are still in use), not an audit log: one
 * write per key per minute at most, whatever the request rate. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function authenticate(prisma: PrismaClient): RequestHandler {
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
    if (!m) throw new HttpError(401, 'unauthenticated', 'missing API key: send "Authorization: Bearer <key>"');
    const key = await prisma.apiKey.findUnique({ where: { hash: hashKey(m[1]!) }, select: { id: true, organizationId: true, revokedAt: true } });
    if (!key || key.revokedAt) throw new HttpError(401, 'unauthenticated', 'invalid or revoked API key');
    req.principal = { organizationId: key.organizationId, apiKeyId: key.id };
    touch(key.id);
    next();
  };
}

export function principal(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new HttpError(401, 'unauthenticated', 'not authenticated');
  return req.principal;
}
