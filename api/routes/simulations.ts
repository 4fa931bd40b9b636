/**
 * `simlab create --file simulation.json`: a task, its environment links and its secrets in
 * one call and one transaction: all of it is created, or none.
 */
import { Router } from 'express';
import type { Prisma } from '../../prisma/client';
import { normalizeTask, validateDocument, type TaskInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { MIN_SECRET_LENGTH } from '../../domain/redact';
import { principal } from '../auth';
import { invalid, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { taskView } from '../views';
import type { ApiDeps } from '../app';
import { resolveUploads } from '../uploads';
import { onlyFields } from '../inputGuard';
import { sealedSecretRow } from '../../secrets/store';

interface SimulationBody {
  task?: unknown;
  environmentIds?: unknown;
  /** Values, not variable names: the CLI read them from the caller's shell. */
  secrets?: unknown;
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function simulationRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  r.post('/products/:product/simulations', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const body = onlyFields(req.body, ['task', 'environmentIds', 'secrets']) as SimulationBody;
    const v = validateDocument<TaskInput>('task', body.task);
    if (!v.ok) throw invalid('simulation', v.violations.map((x) => ({ ...x, pointer: `/task${x.pointer}` })));
    const violations: { pointer: string; message: string }[] = [];
    const envIds = body.environmentIds ?? [];
    if (!Array.isArray(envIds) || envIds.some((x) => typeof x !== 'string' || !x)) violations.push({ pointer: '/environmentIds', message: 'must be a list of environment ids' });
    const secrets = body.secrets ?? [];
    if (!Array.isArray(secrets)) violations.push({ pointer: '/secrets', message: 'must be a list of {name, value}' });
    else
      secrets.forEach((s: { name?: unknown; value?: unknown }, i) => {
        if (typeof s?.name !== 'string' || !SECRET_NAME.test(s.name)) violations.push({ pointer: `/secrets/${i}/name`, message: 'must be letters, digits and _, not starting with a digit' });
        if (typeof s?.value !== 'string' || Buffer.byteLength(s.value) < MIN_SECRET_LENGTH) violations.push({ pointer: `/secrets/${i}/value`, message: `must be a string of at least ${MIN_SECRET_LENGTH} bytes` });
      });
    if (violations.length) throw invalid('simulation', violations);
    const environments = await prisma.environment.findMany({ where: { organizationId, productId: product.id, id: { in: envIds as string[] }, retiredAt: null } });
    const missing = (envIds as string[]).filter((id) => !environments.some((e) => e.id === id));
    if (missing.length) throw notFound('environment', missing.join(', '));
    const def = normalizeTask(await resolveUploads(prisma, organizationId, v.value));
    const rows = (secrets as { name: string; value: string }[]).map((s) => sealedSecretRow(deps.keyring, { organizationId, environmentId: null, name: s.name, value: s.value }));
    const task = await prisma.$transaction(async (tx) => {
      const t = await tx.task.create({
        data: { id: newId('task'), organizationId, productId: product.id, name: def.name, category: def.category, definition: def as unknown as Prisma.InputJsonValue },
      });
      if (environments.length) await tx.taskEnvironment.createMany({ data: environments.map((e) => ({ taskId: t.id, environmentId: e.id })) });
      for (const row of rows) {
        // Organization-scoped: replace a secret of the same name, as `secret set` would.
        await tx.secret.deleteMany({ where: { organizationId, environmentId: null, name: row.name } });
        await tx.secret.create({ data: row });
      }
      return t;
    });
    res.status(201).json({ task: { ...taskView(task), environmentIds: environments.map((e) => e.id) }, secrets: rows.map((s) => s.name) });
  });

  return r;
}
