/** API keys of the caller's organization: create (the key is shown this once), list, revoke. */
import { Router } from 'express';
import type { ApiKey } from '../../prisma/generated/client';
import { createApiKey, principal } from '../auth';
import { HttpError, notFound } from '../errors';
import type { ApiDeps } from '../app';
import { onlyFields } from '../inputGuard';

const keyView = (k: Pick<ApiKey, 'id' | 'name' | 'prefix' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export function apiKeyRoutes({ prisma }: ApiDeps): Router {
  const r = Router();

  r.post('/api-keys', async (req, res) => {
    const { organizationId } = principal(req);
    const { name } = onlyFields(req.body, ['name']);
    if (name !== undefined && (typeof name !== 'string' || !name.trim() || name.length > 200)) {
      throw new HttpError(400, 'validation_failed', 'invalid key name', [{ pointer: '/name', message: 'must be a non-empty string of at most 200 characters' }]);
    }
    const created = await createApiKey(prisma, organizationId, (name as string | undefined)?.trim() ?? 'unnamed');
    res.status(201).json({ ...keyView({ ...created, name: (name as string | undefined)?.trim() ?? 'unnamed', lastUsedAt: null, revokedAt: null }), key: created.key });
  });

  r.get('/api-keys', async (req, res) => {
    const { organizationId } = principal(req);
    const keys = await prisma.apiKey.findMany({ where: { organizationId }, orderBy: { createdAt: 'asc' } });
    res.json({ items: keys.map(keyView) });
  });

  // At once: every request checks the key against the database.
  r.delete('/api-keys/:id', async (req, res) => {
    const { organizationId, apiKeyId } = principal(req);
    const key = await prisma.apiKey.findFirst({ where: { id: req.params.id, organizationId } });
    if (!key) throw notFound('API key', req.params.id);
    if (key.id === apiKeyId && (await prisma.apiKey.count({ where: { organizationId, revokedAt: null } })) === 1) {
      throw new HttpError(409, 'last_key', 'this is the organization\'s last active key: create another before revoking it');
    }
    const revoked = key.revokedAt ? key : await prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
    res.json(keyView(revoked));
  });

  return r;
}
