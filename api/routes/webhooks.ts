/**
 * An experiment's regression-alert webhook: `PUT /experiments/:id/webhook` { url,
 * rotateSecret? } (the signing secret is in the answer when it is new, and never again),
 * GET, DELETE, and `GET /experiments/:id/webhook/deliveries` (every attempt).
 */
import { Router } from 'express';
import { experimentOrNotFound } from './schedules';
import { deliveryView, setWebhook, webhookView } from '../../schedules/webhookStore';
import { webhookUrlProblem } from '../../schedules/webhookTarget';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../schedules/webhookSigning';
import { principal } from '../auth';
import { HttpError, invalid } from '../errors';
import { onlyFields } from '../inputGuard';
import { pageParams } from './params';
import type { ApiDeps } from '../app';

const SIGNING = {
  algorithm: 'HMAC-SHA256 of the raw request body, hex',
  headers: { signature: `${SIGNATURE_HEADER}: sha256=<hex>`, timestamp: TIMESTAMP_HEADER, delivery: DELIVERY_HEADER, event: EVENT_HEADER },
};

export function webhookRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;
  const allowPrivate = deps.webhookAllowPrivateTargets ?? false;

  const experimentOf = (organizationId: string, id: string) => experimentOrNotFound(prisma, organizationId, id);

  r.put('/experiments/:id/webhook', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const body = onlyFields(req.body, ['url', 'rotateSecret']);
    const violations = [];
    const problem = webhookUrlProblem(body.url, allowPrivate);
    if (problem) violations.push({ pointer: '/url', message: problem });
    if (body.rotateSecret !== undefined && typeof body.rotateSecret !== 'boolean') violations.push({ pointer: '/rotateSecret', message: 'must be true or false' });
    if (violations.length) throw invalid('webhook', violations);
    const { webhook, secret, created } = await setWebhook(prisma, deps.keyring, { organizationId, experimentId: e.id, url: body.url as string, rotateSecret: body.rotateSecret === true });
    res.status(created ? 201 : 200).json({ ...webhookView(webhook), ...(secret ? { secret } : {}), signing: SIGNING });
  });

  r.get('/experiments/:id/webhook', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const w = await prisma.experimentWebhook.findUnique({ where: { experimentId: e.id } });
    if (!w) throw new HttpError(404, 'not_found', `experiment '${e.id}' has no webhook`);
    res.json({ ...webhookView(w), signing: SIGNING });
  });

  r.delete('/experiments/:id/webhook', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const { count } = await prisma.experimentWebhook.deleteMany({ where: { experimentId: e.id } });
    if (!count) throw new HttpError(404, 'not_found', `experiment '${e.id}' has no webhook`);
    res.json({ experimentId: e.id, deleted: true });
  });

  r.get('/experiments/:id/webhook/deliveries', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const { limit } = pageParams(req.query as Record<string, unknown>);
    const rows = await prisma.webhookDelivery.findMany({ where: { experimentId: e.id, organizationId }, orderBy: [{ createdAt: 'desc' }, { attempt: 'desc' }], take: limit });
    res.json({ items: rows.map(deliveryView) });
  });

  return r;
}
