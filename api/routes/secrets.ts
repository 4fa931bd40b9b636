/**
 * Secrets: set (the value goes in, never out), list (names, scopes, dates), delete.
 * Scoped to the caller's organization, or to one of its environments.
 */
import { Router } from 'express';
import { MIN_SECRET_LENGTH } from '../../domain/redact';
import { principal } from '../auth';
import { HttpError, notFound } from '../errors';
import type { ApiDeps } from '../app';
import { deleteSecret, listSecrets, setSecret } from '../../secrets/store';
import { stringParam } from './params';
import { onlyFields } from '../inputGuard';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_VALUE_BYTES = 64 * 1024;

export function secretRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  /** The environment named by the request, checked to be the caller's. */
  async function scope(organizationId: string, environmentId: unknown): Promise<string | null> {
    if (environmentId === undefined || environmentId === null) return null;
    if (typeof environmentId !== 'string' || !environmentId) {
      throw new HttpError(400, 'validation_failed', 'environmentId must be an environment id', [{ pointer: '/environmentId', message: 'must be a non-empty string' }]);
    }
    const env = await prisma.environment.findFirst({ where: { id: environmentId, organizationId }, select: { id: true } });
    if (!env) throw notFound('environment', environmentId);
    return env.id;
  }

  const checkName = (name: string) => {
    if (!NAME.test(name)) {
      throw new HttpError(400, 'validation_failed', `secret name '${name.slice(0, 130)}' is invalid`, [
        { pointer: '/name', message: 'must be letters, digits and _, not starting with a digit (it becomes an environment variable)' },
      ]);
    }
  };

  r.put('/secrets/:name', async (req, res) => {
    const { organizationId } = principal(req);
    checkName(req.params.name);
    const body = onlyFields(req.body, ['value', 'environmentId']) as { value?: unknown; environmentId?: unknown };
    if (typeof body.value !== 'string' || Buffer.byteLength(body.value) < MIN_SECRET_LENGTH || Buffer.byteLength(body.value) > MAX_VALUE_BYTES) {
      throw new HttpError(400, 'validation_failed', 'the secret value is missing or of the wrong size', [
        { pointer: '/value', message: `must be a string of ${MIN_SECRET_LENGTH} to ${MAX_VALUE_BYTES} bytes` },
      ]);
    }
    const environmentId = await scope(organizationId, body.environmentId);
    const { info, created } = await setSecret(prisma, deps.keyring, { organizationId, environmentId, name: req.params.name, value: body.value });
    res.status(created ? 201 : 200).json(info);
  });

  r.get('/secrets', async (req, res) => {
    const { organizationId } = principal(req);
    const environmentId = await scope(organizationId, stringParam(req.query.environmentId));
    res.json({ items: await listSecrets(prisma, organizationId, environmentId ?? undefined) });
  });

  r.delete('/secrets/:name', async (req, res) => {
    const { organizationId } = principal(req);
    checkName(req.params.name);
    const environmentId = await scope(organizationId, stringParam(req.query.environmentId));
    if (!(await deleteSecret(prisma, { organizationId, environmentId, name: req.params.name }))) throw notFound('secret', req.params.name);
    res.status(204).end();
  });

  return r;
}
