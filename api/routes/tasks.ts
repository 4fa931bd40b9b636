import { Router } from 'express';
import type { Prisma } from '../../prisma/client';
import { normalizeTask, validateDocument, type TaskInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { taskView } from '../views';
import type { ApiDeps } from '../app';
import { launchIteration } from '../launch';
import { pageParams, stringParam } from './params';

export function taskRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  r.post('/products/:product/tasks', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const v = validateDocument<TaskInput>('task', req.body);
    if (!v.ok) throw invalid('task', v.violations);
    const def = normalizeTask(v.value);
    const task = await prisma.task.create({
      data: {
        id: newId('task'),
        organizationId,
        productId: product.id,
        name: def.name,
        category: def.category,
        definition: def as unknown as Prisma.InputJsonValue,
      },
    });
    res.status(201).json(taskView(task));
  });

  r.get('/products/:product/tasks', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const search = stringParam(req.query.search);
    const { limit } = pageParams(req.query);
    const tasks = await prisma.task.findMany({
      where: { organizationId, productId: product.id, ...(search ? { name: { contains: search, mode: 'insensitive' } } : {}) },
      orderBy: { createdAt: 'desc' },
      take: limit,
    });
    res.json({ items: tasks.map(taskView) });
  });

  r.get('/tasks/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await prisma.task.findFirst({ where: { id: req.params.id, organizationId } });
    if (!task) throw notFound('task', req.params.id);
    res.json(taskView(task));
  });

  // Metadata (name) or the whole definition; either way the version moves on and runs
  // already made keep the snapshot they froze.
  r.patch('/tasks/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await prisma.task.findFirst({ where: { id: req.params.id, organizationId } });
    if (!task) throw notFound('task', req.params.id);
    const body = (req.body ?? {}) as { name?: unknown; definition?: unknown };
    let doc: unknown;
    if (body.definition !== undefined) {
      doc = body.name !== undefined ? { ...(body.definition as object), name: body.name } : body.definition;
    } else if (body.name !== undefined) {
      // A stored definition is itself a valid task document (normalization only adds defaults).
      doc = { ...(task.definition as object), name: body.name };
    } else {
      throw new HttpError(400, 'validation_failed', 'nothing to update: give a name or a definition', [
        { pointer: '', message: "must have 'name' or 'definition'" },
      ]);
    }
    const v = validateDocument<TaskInput>('task', doc);
    if (!v.ok) throw invalid('task', v.violations);
    const def = normalizeTask(v.value);
    const updated = await prisma.task.update({
      where: { id: task.id },
      data: { name: def.name, category: def.category, definition: def as unknown as Prisma.InputJsonValue, version: { increment: 1 } },
    });
    res.json(taskView(updated));
  });

  r.post('/tasks/:id/runs', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await prisma.task.findFirst({ where: { id: req.params.id, organizationId } });
    if (!task) throw notFound('task', req.params.id);
    const ids = (req.body?.environmentIds ?? undefined) as unknown;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string' || !x))) {
      throw new HttpError(400, 'validation_failed', 'environmentIds must be a list of environment ids', [
        { pointer: '/environmentIds', message: 'must be an array of non-empty strings' },
      ]);
    }
    const requested = ids as string[] | undefined;
    const environments = await prisma.environment.findMany({
      where: requested?.length
        ? { organizationId, productId: task.productId, id: { in: requested } }
        : { organizationId, productId: task.productId, enabled: true },
      orderBy: { createdAt: 'asc' },
    });
    if (requested?.length) {
      const missing = requested.filter((id) => !environments.some((e) => e.id === id));
      if (missing.length) throw notFound('environment', missing.join(', '));
    }
    if (environments.length === 0) {
      throw new HttpError(409, 'no_environments', `task '${task.id}' has no enabled environment in its product to run on`);
    }
    const launched = await launchIteration(deps, { organizationId, productId: task.productId, tasks: [task], environments });
    res.status(202).json(launched);
  });

  return r;
}
