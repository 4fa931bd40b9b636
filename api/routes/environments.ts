import { Router } from 'express';
import type { Prisma } from '../../prisma/client';
import { normalizeEnvironment, validateDocument, type EnvironmentDefinition, type EnvironmentInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { environmentView } from '../views';
import type { ApiDeps } from '../app';
import { pageParams } from './params';
import { onlyFields } from '../inputGuard';

export function environmentRoutes({ prisma }: ApiDeps): Router {
  const r = Router();

  function definitionOf(doc: unknown): EnvironmentDefinition {
    const v = validateDocument<EnvironmentInput>('environment', doc);
    if (!v.ok) throw invalid('environment', v.violations);
    return normalizeEnvironment(v.value);
  }

  async function findEnvironment(organizationId: string, id: string, opts: { allowRetired?: boolean } = {}) {
    const env = await prisma.environment.findFirst({ where: { id, organizationId } });
    if (!env) throw notFound('environment', id);
    if (env.retiredAt && !opts.allowRetired) throw new HttpError(409, 'retired', `environment '${id}' was deleted (retired) on ${env.retiredAt.toISOString()}; its runs are kept`);
    return env;
  }

  r.post('/products/:product/environments', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const def = definitionOf(req.body);
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
      where: { organizationId, productId: product.id, retiredAt: null },
      orderBy: { createdAt: 'desc' },
      take: pageParams(req.query).limit,
    });
    res.json({ items: envs.map(environmentView) });
  });

  r.get('/environments/:id', async (req, res) => {
    const { organizationId } = principal(req);
    res.json(environmentView(await findEnvironment(organizationId, req.params.id, { allowRetired: true })));
  });

  // A new version, like a task's: runs already made keep the snapshot they froze.
  r.patch('/environments/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const env = await findEnvironment(organizationId, req.params.id);
    const body = onlyFields(req.body, ['name', 'definition']) as { name?: unknown; definition?: unknown };
    if (body.definition === undefined && body.name === undefined) {
      throw new HttpError(400, 'validation_failed', 'nothing to update: give a name or a definition', [{ pointer: '', message: "must have 'name' or 'definition'" }]);
    }
    const base = body.definition !== undefined ? (body.definition as object) : (env.definition as object);
    const def = definitionOf(body.name !== undefined ? { ...base, name: body.name } : base);
    const updated = await prisma.environment.update({
      where: { id: env.id },
      data: { name: def.name, enabled: def.enabled, definition: def as unknown as Prisma.InputJsonValue, version: { increment: 1 } },
    });
    res.json(environmentView(updated));
  });

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    r.post(`/environments/:id/${verb}`, async (req, res) => {
      const { organizationId } = principal(req);
      const env = await findEnvironment(organizationId, req.params.id);
      const def = { ...(env.definition as object), enabled };
      const updated = await prisma.environment.update({ where: { id: env.id }, data: { enabled, definition: def as Prisma.InputJsonValue } });
      res.json(environmentView(updated));
    });
  }

  r.delete('/environments/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const env = await findEnvironment(organizationId, req.params.id);
    res.json(environmentView(await prisma.environment.update({ where: { id: env.id }, data: { retiredAt: new Date() } })));
  });

  return r;
}
