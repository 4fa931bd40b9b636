/**
 * Dashboard sign-in. The browser POSTs its API key once (as a Bearer header, so the
 * sign-in goes through the same authentication, failure limits included, as every API
 * call); the answer sets an HttpOnly, SameSite=Strict cookie holding a random token whose
 * sha256 names a server-side session. The key itself never reaches the browser's storage,
 * a URL or a log. A session stands for the key it was opened with: it resolves to the same
 * organization, and revoking the key ends it.
 *
 * CSRF: SameSite=Strict keeps the cookie off cross-site requests; on top of that, a
 * mutating request authenticated by the cookie must carry the dashboard's own header (a
 * cross-origin page cannot send one without a CORS preflight this server never grants)
 * and, when the browser says where it comes from, come from this origin.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { PrismaClient } from '../prisma/client';
import { principal, type Principal, type SessionResolver } from './auth';
import { HttpError } from './errors';
import type { ApiDeps } from './app';

export const SESSION_COOKIE = 'simlab_session';
/** The header every dashboard request sends; required on mutating cookie-authenticated ones. */
export const DASHBOARD_HEADER = 'x-simlab-dashboard';
/** A session idle this long ends; an active one is extended, up to MAX_AGE_MS after sign-in. */
export const IDLE_MS = 12 * 3600_000;
export const MAX_AGE_MS = 7 * 24 * 3600_000;
/** Extending on every request would write on every request: once a minute is plenty. */
const EXTEND_RESOLUTION_MS = 60_000;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The cookie's value, or undefined. Only ours is parsed; malformed pairs are skipped. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{20,100}$/.test(v) ? v : undefined;
  }
  return undefined;
}

/** Same-origin check for a mutating request: the browser's Origin (when sent) must be this host. */
function checkCsrf(req: Request): void {
  if (SAFE_METHODS.has(req.method)) return;
  if (req.header(DASHBOARD_HEADER) !== '1') {
    throw new HttpError(403, 'csrf_rejected', `a signed-in dashboard request that changes something must send the header ${DASHBOARD_HEADER}: 1`);
  }
  const origin = req.header('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.header('host')}`) {
    throw new HttpError(403, 'csrf_rejected', `request from another origin (${origin.slice(0, 100)}) refused`);
  }
}

export function sessionResolver(prisma: PrismaClient): SessionResolver {
  return async (req) => {
    const token = readCookie(req.header('cookie'), SESSION_COOKIE);
    if (!token) return null;
    const id = tokenHash(token);
    const s = await prisma.dashboardSession.findUnique({ where: { id } });
    const now = Date.now();
    if (!s || s.expiresAt.getTime() <= now) return null;
    const key = await prisma.apiKey.findUnique({ where: { id: s.apiKeyId }, select: { organizationId: true, revokedAt: true } });
    if (!key || key.revokedAt || key.organizationId !== s.organizationId) return null;
    checkCsrf(req);
    const extended = Math.min(now + IDLE_MS, s.createdAt.getTime() + MAX_AGE_MS);
    if (extended - s.expiresAt.getTime() > EXTEND_RESOLUTION_MS) {
      // Best effort: a failed extension only shortens the session.
      await prisma.dashboardSession.update({ where: { id }, data: { expiresAt: new Date(extended) } }).catch(() => undefined);
    }
    return { organizationId: s.organizationId, apiKeyId: s.apiKeyId, sessionId: id } satisfies Principal;
  };
}

function setCookie(req: Request, res: Response, token: string, maxAgeMs: number) {
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure, maxAge: maxAgeMs });
}

/** Under /v1, behind authenticate(). */
export function sessionRoutes({ prisma }: Pick<ApiDeps, 'prisma'>): Router {
  const r = Router();

  r.post('/session', async (req, res) => {
    const p = principal(req);
    if (p.sessionId) throw new HttpError(400, 'api_key_required', 'sign in with an API key: send it as "Authorization: Bearer <key>"');
    if (req.body !== undefined && req.body !== null && (typeof req.body !== 'object' || Object.keys(req.body).length)) {
      throw new HttpError(400, 'validation_failed', 'the sign-in takes no body: the key goes in the Authorization header', [{ pointer: '', message: 'must be empty' }]);
    }
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    // Expired sessions are swept as new ones open: the table stays the size of its live sessions.
    await prisma.dashboardSession.deleteMany({ where: { expiresAt: { lt: new Date(now) } } });
    await prisma.dashboardSession.create({ data: { id: tokenHash(token), organizationId: p.organizationId, apiKeyId: p.apiKeyId, expiresAt: new Date(now + IDLE_MS) } });
    setCookie(req, res, token, MAX_AGE_MS);
    res.status(201).json(await whoAmI(prisma, p));
  });

  r.get('/session', async (req, res) => {
    res.json(await whoAmI(prisma, principal(req)));
  });

  r.delete('/session', async (req, res) => {
    const p = principal(req);
    if (p.sessionId) await prisma.dashboardSession.deleteMany({ where: { id: p.sessionId } });
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure });
    res.status(204).end();
  });

  return r;
}

/** Who the caller is, for the dashboard's header: the organization, the key's name and prefix, the products. */
async function whoAmI(prisma: PrismaClient, p: Principal) {
  const [org, key, products] = await Promise.all([
    prisma.organization.findUnique({ where: { id: p.organizationId }, select: { id: true, slug: true, name: true } }),
    prisma.apiKey.findUnique({ where: { id: p.apiKeyId }, select: { prefix: true, name: true } }),
    prisma.product.findMany({ where: { organizationId: p.organizationId }, orderBy: { createdAt: 'asc' }, select: { id: true, slug: true, name: true } }),
  ]);
  return { organization: org, apiKey: key, products, session: p.sessionId !== undefined };
}
