/**
 * Experiments: tasks x environments x variants x repeats, triggered as numbered iterations
 * whose runs freeze what they used (variant overrides included).
 */
import { Router } from 'express';
import { Prisma } from '../../prisma/client';
import { environmentSchema, validateDocument } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { iterationProgress } from '../../store/iterations';
import { experimentInclude, findExperiment, type ExperimentRow } from '../../store/experiments';
import { experimentVariants, launchExperimentIteration, planExperimentIteration } from '../launch';
import { signalConfigViolations } from '../../analysis/signalConfig';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { onlyFields } from '../inputGuard';
import { findProduct } from '../tenancy';
import type { ApiDeps } from '../app';
import type { PrismaClient } from '../../prisma/client';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_SIGNAL_CONFIG = 256 * 1024;
const AGENT_FIELDS = Object.keys(environmentSchema.properties.agent.properties);

type V = { pointer: string; message: string };

export function experimentView(e: ExperimentRow) {
  return {
    id: e.id,
    productId: e.productId,
    name: e.name,
    repeats: e.repeats,
    taskIds: e.tasks.map((t) => t.taskId),
    environmentIds: e.environments.map((x) => x.environmentId),
    variants: e.variants.map((v) => ({ name: v.name, override: v.override })),
    signalConfig: e.signalConfig,
    lastIterationNumber: e.lastIterationNumber,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

/** Who started an iteration: `{ kind: 'schedule' | 'api_key', id }`, null before origins were recorded. */
const originView = (it: { origin: string | null; originId: string | null }) => (it.origin ? { kind: it.origin, id: it.originId } : null);

function idList(v: unknown, pointer: string, out: V[]): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) {
    out.push({ pointer, message: 'must be a list of ids' });
    return [];
  }
  return [...new Set(v as string[])];
}

function repeatsOf(v: unknown, pointer: string, out: V[]): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 100) out.push({ pointer, message: 'must be an integer from 1 to 100' });
  return v as number;
}

/** `{ agent?: {...agent fields}, prompt?: string }`, typed field by field as an environment's agent is. */
export function validateOverride(o: unknown): V[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [{ pointer: '/override', message: 'must be an object: { agent?, prompt? }' }];
  const out: V[] = [];
  for (const k of Object.keys(o)) if (k !== 'agent' && k !== 'prompt') out.push({ pointer: `/override/${k}`, message: 'is not a known field (expected: agent, prompt)' });
  const { agent, prompt } = o as { agent?: unknown; prompt?: unknown };
  if (prompt !== undefined && (typeof prompt !== 'string' || !prompt || prompt.length > 200000)) out.push({ pointer: '/override/prompt', message: 'must be a non-empty string' });
  if (agent !== undefined) {
    if (agent === null || typeof agent !== 'object' || Array.isArray(agent)) out.push({ pointer: '/override/agent', message: 'must be an object of agent fields' });
    else {
      for (const k of Object.keys(agent)) if (!AGENT_FIELDS.includes(k)) out.push({ pointer: `/override/agent/${k}`, message: `is not a known agent field (expected: ${AGENT_FIELDS.join(', ')})` });
      // Types and bounds: checked by the environment schema on a stand-in carrying every
      // field a harness may require, so only the override's own faults are reported.
      const v = validateDocument('environment', { name: 'variant', agent: { harness: 'command', command: 'true', model: 'm', ...agent } });
      if (!v.ok) for (const x of v.violations) if (x.pointer.startsWith('/agent/') && !out.some((y) => y.pointer === `/override${x.pointer}`)) out.push({ pointer: `/override${x.pointer}`, message: x.message });
    }
  }
  return out;
}

async function checkOwned(prisma: PrismaClient, organizationId: string, productId: string, taskIds: string[], envIds: string[]) {
  const [tasks, envs] = await Promise.all([
    prisma.task.findMany({ where: { organizationId, productId, id: { in: taskIds }, retiredAt: null }, select: { id: true } }),
    prisma.environment.findMany({ where: { organizationId, productId, id: { in: envIds }, retiredAt: null }, select: { id: true } }),
  ]);
  const missingTasks = taskIds.filter((id) => !tasks.some((t) => t.id === id));
  if (missingTasks.length) throw notFound('task', missingTasks.join(', '));
  const missingEnvs = envIds.filter((id) => !envs.some((e) => e.id === id));
  if (missingEnvs.length) throw notFound('environment', missingEnvs.join(', '));
}

export function experimentRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  const load = async (organizationId: string, id: string) => {
    const e = await findExperiment(prisma, organizationId, id);
    if (!e) throw notFound('experiment', id);
    return e;
  };

  r.post('/products/:product/experiments', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const body = onlyFields(req.body, ['name', 'taskIds', 'environmentIds', 'repeats', 'signalConfig']);
    const violations: V[] = [];
    if (typeof body.name !== 'string' || !body.name.trim() || body.name.length > 200) violations.push({ pointer: '/name', message: 'must be a non-empty string of at most 200 characters' });
    const taskIds = idList(body.taskIds, '/taskIds', violations);
    const envIds = idList(body.environmentIds, '/environmentIds', violations);
    const repeats = repeatsOf(body.repeats, '/repeats', violations) ?? 1;
    // Stored as written (the file's text), once it parses and validates.
    const signalConfig = body.signalConfig;
    if (signalConfig !== undefined && (typeof signalConfig !== 'string' || signalConfig.length > MAX_SIGNAL_CONFIG)) violations.push({ pointer: '/signalConfig', message: `must be the file's text, at most ${MAX_SIGNAL_CONFIG} characters` });
    else if (typeof signalConfig === 'string') violations.push(...signalConfigViolations(signalConfig));
    if (violations.length) throw invalid('experiment', violations);
    await checkOwned(prisma, organizationId, product.id, taskIds, envIds);
    const id = newId('exp');
    await prisma.experiment.create({
      data: {
        id,
        organizationId,
        productId: product.id,
        name: (body.name as string).trim(),
        repeats,
        signalConfig: (signalConfig as string | undefined) ?? null,
        tasks: { create: taskIds.map((taskId) => ({ taskId })) },
        environments: { create: envIds.map((environmentId) => ({ environmentId })) },
      },
    });
    res.status(201).json(experimentView(await load(organizationId, id)));
  });

  r.get('/products/:product/experiments', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const rows = await prisma.experiment.findMany({
      where: { organizationId, productId: product.id },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 1000,
      include: experimentInclude,
    });
    res.json({ items: rows.map(experimentView) });
  });

  r.get('/experiments/:id', async (req, res) => {
    const { organizationId } = principal(req);
    res.json(experimentView(await load(organizationId, req.params.id)));
  });

  // Membership: editing the experiment changes future iterations only; started ones froze theirs.
  for (const [kind, field, table] of [['tasks', 'taskId', 'experimentTask'], ['environments', 'environmentId', 'experimentEnvironment']] as const) {
    r.post(`/experiments/:id/${kind}`, async (req, res) => {
      const { organizationId } = principal(req);
      const e = await load(organizationId, req.params.id);
      const body = onlyFields(req.body, [field]);
      const ref = body[field];
      if (typeof ref !== 'string' || !ref) throw invalid('request', [{ pointer: `/${field}`, message: 'must be an id' }]);
      await checkOwned(prisma, organizationId, e.productId, kind === 'tasks' ? [ref] : [], kind === 'environments' ? [ref] : []);
      if (table === 'experimentTask') await prisma.experimentTask.createMany({ data: { experimentId: e.id, taskId: ref }, skipDuplicates: true });
      else await prisma.experimentEnvironment.createMany({ data: { experimentId: e.id, environmentId: ref }, skipDuplicates: true });
      await prisma.experiment.update({ where: { id: e.id }, data: { updatedAt: new Date() } });
      res.json(experimentView(await load(organizationId, e.id)));
    });
    r.delete(`/experiments/:id/${kind}/:ref`, async (req, res) => {
      const { organizationId } = principal(req);
      const e = await load(organizationId, req.params.id);
      const ref = req.params.ref;
      const removed =
        table === 'experimentTask'
          ? await prisma.experimentTask.deleteMany({ where: { experimentId: e.id, taskId: ref } })
          : await prisma.experimentEnvironment.deleteMany({ where: { experimentId: e.id, environmentId: ref } });
      if (!removed.count) throw notFound(kind === 'tasks' ? 'task of the experiment' : 'environment of the experiment', ref);
      await prisma.experiment.update({ where: { id: e.id }, data: { updatedAt: new Date() } });
      res.json(experimentView(await load(organizationId, e.id)));
    });
  }

  r.post('/experiments/:id/variants', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await load(organizationId, req.params.id);
    const body = onlyFields(req.body, ['name', 'override']);
    const violations: V[] = [];
    if (typeof body.name !== 'string' || !NAME.test(body.name)) violations.push({ pointer: '/name', message: 'must be 1-64 letters, digits, _ . - (starting with a letter or digit)' });
    violations.push(...validateOverride(body.override));
    if (violations.length) throw invalid('variant', violations);
    try {
      await prisma.experimentVariant.create({ data: { id: newId('var'), experimentId: e.id, name: body.name as string, override: body.override as Prisma.InputJsonValue } });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw new HttpError(409, 'variant_exists', `experiment '${e.id}' already has a variant '${body.name}'`);
      throw err;
    }
    await prisma.experiment.update({ where: { id: e.id }, data: { updatedAt: new Date() } });
    res.status(201).json(experimentView(await load(organizationId, e.id)));
  });

  r.post('/experiments/:id/iterations', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await load(organizationId, req.params.id);
    const body = onlyFields(req.body, ['variants', 'repeats']);
    const violations: V[] = [];
    const names = idList(body.variants, '/variants', violations);
    const repeats = repeatsOf(body.repeats, '/repeats', violations) ?? e.repeats;
    if (violations.length) throw invalid('iteration', violations);
    const defined = experimentVariants(e);
    const unknown = names.filter((n) => !defined.some((v) => v.name === n));
    if (unknown.length) throw new HttpError(400, 'validation_failed', `unknown variant(s): ${unknown.join(', ')}`, unknown.map((n) => ({ pointer: '/variants', message: `'${n}' is not a variant of the experiment (have: ${defined.map((v) => v.name).join(', ')})` })));
    const variants = names.length ? defined.filter((v) => names.includes(v.name)) : defined;
    const specs = await planExperimentIteration(prisma, { organizationId, experiment: e, variants, repeats });
    const it = await launchExperimentIteration(deps, { organizationId, productId: e.productId, experimentId: e.id, specs, origin: { kind: 'api_key', id: principal(req).apiKeyId } });
    res.status(202).json({ iterationId: it.iterationId, experimentId: e.id, number: it.number, runCount: it.runIds.length, variants: variants.map((v) => v.name), repeats });
  });

  r.get('/experiments/:id/iterations', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await load(organizationId, req.params.id);
    const rows = await prisma.iteration.findMany({ where: { organizationId, experimentId: e.id }, orderBy: { number: 'desc' }, take: 1000 });
    res.json({ items: rows.map((it) => ({ id: it.id, number: it.number, status: it.status, runCount: it.runCount, origin: originView(it), createdAt: it.createdAt.toISOString(), finishedAt: it.finishedAt?.toISOString() ?? null })) });
  });

  // By number, or `latest`: counts from the database, never every run in memory.
  r.get('/experiments/:id/iterations/:number', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await load(organizationId, req.params.id);
    const ref = req.params.number;
    if (ref !== 'latest' && !/^[1-9]\d{0,8}$/.test(ref)) throw new HttpError(400, 'validation_failed', 'iteration must be a number or latest', [{ pointer: '/number', message: 'must be a positive integer or latest' }]);
    const it = await prisma.iteration.findFirst({ where: { organizationId, experimentId: e.id, ...(ref === 'latest' ? {} : { number: Number(ref) }) }, orderBy: { number: 'desc' } });
    if (!it) throw notFound(`iteration of experiment '${e.id}'`, ref);
    const progress = await iterationProgress(prisma, it.id);
    res.json({
      id: it.id,
      experimentId: e.id,
      number: it.number,
      status: it.status,
      total: it.runCount,
      counts: progress.byStatus,
      ended: progress.ended,
      passed: progress.passed,
      meanScore: progress.meanScore,
      origin: originView(it),
      createdAt: it.createdAt.toISOString(),
      finishedAt: it.finishedAt?.toISOString() ?? null,
    });
  });

  return r;
}
