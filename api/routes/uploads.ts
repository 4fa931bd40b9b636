import { Router } from 'express';
import { principal } from '../auth';
import { HttpError, notFound } from '../errors';
import type { ApiDeps } from '../app';
import { readBody, storeUpload, uploadView } from '../uploads';
import { stringParam } from './params';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/;

export function uploadRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  // The zip is the raw body (any content type but JSON); its name comes in ?name=.
  r.post('/uploads', async (req, res) => {
    const { organizationId } = principal(req);
    const name = stringParam(req.query.name) ?? 'upload.zip';
    if (!NAME.test(name)) throw new HttpError(400, 'validation_failed', 'invalid upload name', [{ pointer: '/name', message: 'must be 1-200 letters, digits, spaces, dots, dashes or underscores' }]);
    if (req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send the zip itself as the body (Content-Type: application/zip)');
    const zip = await readBody(req);
    if (zip.length === 0) throw new HttpError(400, 'validation_failed', 'the upload is empty', [{ pointer: '', message: 'must be a zip archive' }]);
    const upload = await storeUpload(prisma, deps.artifacts, organizationId, name, zip);
    res.status(201).json(uploadView(upload));
  });

  r.get('/uploads', async (req, res) => {
    const { organizationId } = principal(req);
    const rows = await prisma.upload.findMany({ where: { organizationId, retiredAt: null }, orderBy: { createdAt: 'desc' }, take: 1000 });
    res.json({ items: rows.map(uploadView) });
  });

  r.get('/uploads/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const u = await prisma.upload.findFirst({ where: { id: req.params.id, organizationId } });
    if (!u) throw notFound('upload', req.params.id);
    res.json(uploadView(u));
  });

  // Retired, not erased: runs that froze it still find its content by sha256.
  r.delete('/uploads/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const u = await prisma.upload.findFirst({ where: { id: req.params.id, organizationId } });
    if (!u) throw notFound('upload', req.params.id);
    res.json(uploadView(await prisma.upload.update({ where: { id: u.id }, data: { retiredAt: new Date() } })));
  });

  return r;
}
