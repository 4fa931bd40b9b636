import { Router } from 'express';
import type { Prisma } from '../../prisma/client';
import { normalizeEnvironment, validateDocument, type EnvironmentInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { principal } from '../auth';
import { invalid, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { environmentView } from '../views';
import type { ApiDeps } from '../app';
import { pageParams } from './params';

export function environmentRoutes({ prisma }: ApiDeps): Router {
  const r = Router();

  r.post('/products/:product/environments', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const v = validateDocument<EnvironmentInput>('environment', req.body);
    if (!v.ok) throw invalid('environment', v.violations);
    const def = normalizeEnvironment(v.value);
    const env = await prisma.environment.create({
      data: {
        id: newId('env'),
        organizationId,
        productId: product.id,
        name: def.name,
        enabled: def.enabled,
        definition: def as unknown as Prisma.InputJsonValue,
      },
    });
    res.status(201).json(environmentView(env));
  });

  r.get('/products/:product/environments', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const envs = await prisma.environment.findMany({
      where: { organizationId, productId: product.id },
      orderBy: { createdAt: 'desc' },
      take: pageParams(req.query).limit,
    });
    res.json({ items: envs.map(environmentView) });
  });

  r.get('/environments/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const env = await prisma.environment.findFirst({ where: { id: req.params.id, organizationId } });
    if (!env) throw notFound('environment', req.params.id);
    res.json(environmentView(env));
  });

  return r;
}
