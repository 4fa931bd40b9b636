import { Router } from 'express';
import { CONTRACT } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { principal } from '../auth';
import { HttpError } from '../errors';
import type { ApiDeps } from '../app';
import { onlyFields } from '../inputGuard';

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function productRoutes({ prisma }: ApiDeps): Router {
  const r = Router();

  r.get('/spec', (_req, res) => {
    res.json(CONTRACT);
  });

  r.get('/products', async (req, res) => {
    const { organizationId } = principal(req);
    const products = await prisma.product.findMany({ where: { organizationId }, orderBy: { createdAt: 'asc' } });
    res.json({ items: products.map((p) => ({ id: p.id, slug: p.slug, name: p.name, createdAt: p.createdAt.toISOString() })) });
  });

  r.post('/products', async (req, res) => {
    const { organizationId } = principal(req);
    const { slug, name } = onlyFields(req.body, ['slug', 'name']) as { slug?: unknown; name?: unknown };
    const violations = [];
    if (typeof slug !== 'string' || !SLUG.test(slug)) violations.push({ pointer: '/slug', message: 'must be lowercase letters, digits and dashes' });
    if (name !== undefined && (typeof name !== 'string' || !name.trim())) violations.push({ pointer: '/name', message: 'must be a non-empty string' });
    if (violations.length) throw new HttpError(400, 'validation_failed', 'product is invalid', violations);
    let p;
    try {
      p = await prisma.product.create({ data: { id: newId('prd'), organizationId, slug: slug as string, name: (name as string) ?? slug } });
    } catch (err) {
      // The unique (organization, slug) index decides, so two concurrent creates cannot both win.
      if ((err as { code?: string }).code === 'P2002') throw new HttpError(409, 'conflict', `product '${slug}' already exists`);
      throw err;
    }
    res.status(201).json({ id: p.id, slug: p.slug, name: p.name, createdAt: p.createdAt.toISOString() });
  });

  return r;
}
