import { Router } from 'express';
import type { Prisma } from '../../prisma/client';
import { normalizeTask, validateDocument, type TaskDefinition, type TaskInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { taskView } from '../views';
import type { ApiDeps } from '../app';
import { launchIteration } from '../launch';
import { resolveUploads, uploadsOf } from '../uploads';
import { pageParams, stringParam } from './params';
import { literalLike, onlyFields } from '../inputGuard';

export function taskRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  /** Validated, uploads pinned, normalized: what is stored and later frozen into runs. */
  async function definitionOf(organizationId: string, doc: unknown): Promise<TaskDefinition> {
    const v = validateDocument<TaskInput>('task', doc);
    if (!v.ok) throw invalid('task', v.violations);
    return normalizeTask(await resolveUploads(prisma, organizationId, v.value));
  }

  /** A task of the caller's organization; a retired one only where `retired` allows it. */
  async function findTask(organizationId: string, id: string, opts: { allowRetired?: boolean } = {}) {
    const task = await prisma.task.findFirst({ where: { id, organizationId } });
    if (!task) throw notFound('task', id);
    if (task.retiredAt && !opts.allowRetired) throw new HttpError(409, 'retired', `task '${id}' was deleted (retired) on ${task.retiredAt.toISOString()}; its runs are kept`);
    return task;
  }

  async function view(task: Awaited<ReturnType<typeof findTask>>) {
    const links = await prisma.taskEnvironment.findMany({ where: { taskId: task.id }, orderBy: { createdAt: 'asc' }, select: { environmentId: true } });
    const uploads = await uploadsOf(prisma, task.organizationId, (task.definition as unknown as TaskDefinition).initFiles ?? []);
    return { ...taskView(task), environmentIds: links.map((l) => l.environmentId), uploads };
  }

  r.post('/products/:product/tasks', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const def = await definitionOf(organizationId, req.body);
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
    res.status(201).json(await view(task));
  });

  r.get('/products/:product/tasks', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const search = stringParam(req.query.search);
    const { limit } = pageParams(req.query);
    const tasks = await prisma.task.findMany({
      where: { organizationId, productId: product.id, retiredAt: null, ...(search ? { name: { contains: literalLike(search), mode: 'insensitive' } } : {}) },
      orderBy: { createdAt: 'desc' },
      take: limit,
    });
    res.json({ items: tasks.map(taskView) });
  });

  r.get('/tasks/:id', async (req, res) => {
    const { organizationId } = principal(req);
    res.json(await view(await findTask(organizationId, req.params.id, { allowRetired: true })));
  });

  // Metadata (name) or the whole definition; either way the version moves on and runs
  // already made keep the snapshot they froze.
  r.patch('/tasks/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await findTask(organizationId, req.params.id);
    const body = onlyFields(req.body, ['name', 'definition']) as { name?: unknown; definition?: unknown };
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
    const def = await definitionOf(organizationId, doc);
    const updated = await prisma.task.update({
      where: { id: task.id },
      data: { name: def.name, category: def.category, definition: def as unknown as Prisma.InputJsonValue, version: { increment: 1 } },
    });
    res.json(await view(updated));
  });

  // Retired, not deleted: runs and results that used it keep pointing at it.
  r.delete('/tasks/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await findTask(organizationId, req.params.id);
    const retired = await prisma.task.update({ where: { id: task.id }, data: { retiredAt: new Date() } });
    res.json(await view(retired));
  });

  r.post('/tasks/:id/environments', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await findTask(organizationId, req.params.id);
    const environmentId = onlyFields(req.body, ['environmentId']).environmentId;
    if (typeof environmentId !== 'string' || !environmentId) {
      throw new HttpError(400, 'validation_failed', 'environmentId is required', [{ pointer: '/environmentId', message: 'must be an environment id' }]);
    }
    const env = await prisma.environment.findFirst({ where: { id: environmentId, organizationId, productId: task.productId } });
    if (!env) throw notFound('environment', environmentId);
    if (env.retiredAt) throw new HttpError(409, 'retired', `environment '${env.id}' was deleted (retired)`);
    await prisma.taskEnvironment.upsert({ where: { taskId_environmentId: { taskId: task.id, environmentId: env.id } }, create: { taskId: task.id, environmentId: env.id }, update: {} });
    res.status(201).json(await view(task));
  });

  r.delete('/tasks/:id/environments/:environmentId', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await findTask(organizationId, req.params.id);
    const { count } = await prisma.taskEnvironment.deleteMany({ where: { taskId: task.id, environmentId: req.params.environmentId } });
    if (count === 0) throw notFound('link to environment', req.params.environmentId);
    res.json(await view(task));
  });

  r.post('/tasks/:id/runs', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await findTask(organizationId, req.params.id);
    const ids = onlyFields(req.body, ['environmentIds']).environmentIds;
    if (ids !== undefined && (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string' || !x))) {
      throw new HttpError(400, 'validation_failed', 'environmentIds must be a non-empty list of environment ids (leave it out to run the linked environments)', [
        { pointer: '/environmentIds', message: 'must be a non-empty array of non-empty strings' },
      ]);
    }
    const requested = ids as string[] | undefined;
    let environments: Awaited<ReturnType<typeof prisma.environment.findMany>>;
    if (requested) {
      environments = await prisma.environment.findMany({ where: { organizationId, productId: task.productId, id: { in: requested } }, orderBy: { createdAt: 'asc' } });
      const missing = requested.filter((id) => !environments!.some((e) => e.id === id));
      if (missing.length) throw notFound('environment', missing.slice(0, 20).join(', ') + (missing.length > 20 ? ` and ${missing.length - 20} more` : ''));
      const retired = environments.filter((e) => e.retiredAt);
      if (retired.length) throw new HttpError(409, 'retired', `environment(s) ${retired.map((e) => e.id).join(', ')} were deleted (retired)`);
    } else {
      // The reference: `task run TASK` runs "across the task's linked, enabled environments".
      environments = await prisma.environment.findMany({
        where: { organizationId, enabled: true, retiredAt: null, tasks: { some: { taskId: task.id } } },
        orderBy: { createdAt: 'asc' },
      });
      if (environments.length === 0) {
        throw new HttpError(409, 'no_environments', `task '${task.id}' has no linked, enabled environment: link one with \`simlab task env add ${task.id} ENV\`, or name one with --environment-id`);
      }
    }
    const launched = await launchIteration(deps, { organizationId, productId: task.productId, tasks: [task], environments });
    res.status(202).json(launched);
  });

  return r;
}
