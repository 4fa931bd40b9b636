/**
 * Zip uploads: read whole (size-capped), checked entry by entry before anything is kept,
 * stored once per content (sha256) in the artifact store, scoped to the organization. A
 * task names an upload as `upload:<id>`; when the task is written its sha256 is pinned
 * into the definition, so a run freezes exactly that content.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { PrismaClient } from '../prisma/client';
import type { Upload } from '../prisma/generated/client';
import { newId } from '../domain/ids';
import { UPLOAD_PREFIX, type InitFile, type TaskInput } from '../domain/contract';
import { artifactKeys, type ArtifactStore } from '../artifacts';
import { inspectZip } from '../setup/initFiles/zip';
import { HttpError } from './errors';

export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

/** The request body, streamed and refused past the cap. */
export async function readBody(req: Request, max = MAX_UPLOAD_BYTES): Promise<Buffer> {
  const declared = Number(req.header('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > max) throw new HttpError(413, 'too_large', `uploads are limited to ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) {
      req.destroy();
      throw new HttpError(413, 'too_large', `uploads are limited to ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export const uploadView = (u: Upload) => ({
  id: u.id,
  name: u.name,
  sha256: u.sha256,
  bytes: u.bytes,
  entries: u.entries,
  totalBytes: Number(u.totalBytes),
  createdAt: u.createdAt.toISOString(),
  retired: u.retiredAt !== null,
});

export async function storeUpload(prisma: PrismaClient, artifacts: ArtifactStore, organizationId: string, name: string, zip: Buffer): Promise<Upload> {
  let checked;
  try {
    checked = await inspectZip(name, zip);
  } catch (err) {
    if ((err as Error).name === 'SetupError') throw new HttpError(400, 'unsafe_archive', (err as Error).message);
    throw err;
  }
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const existing = await prisma.upload.findUnique({ where: { organizationId_sha256: { organizationId, sha256 } } });
  if (existing && !existing.retiredAt) return existing;
  await artifacts.put(artifactKeys.upload(organizationId, sha256), zip);
  if (existing) return prisma.upload.update({ where: { id: existing.id }, data: { retiredAt: null, name } });
  try {
    return await prisma.upload.create({
      data: { id: newId('upl'), organizationId, name, sha256, bytes: zip.length, entries: checked.entries, totalBytes: BigInt(checked.totalBytes) },
    });
  } catch (err) {
    // The same content uploaded twice at once: one row wins, both callers get it.
    if ((err as { code?: string }).code === 'P2002') return prisma.upload.findUniqueOrThrow({ where: { organizationId_sha256: { organizationId, sha256 } } });
    throw err;
  }
}

/** Pins each zip init file's upload (by id) to its content hash; refuses unknown or retired uploads. */
export async function resolveUploads(prisma: PrismaClient, organizationId: string, task: TaskInput): Promise<TaskInput> {
  if (!task.initFiles?.some((f) => f.type === 'zip')) return task;
  const initFiles: InitFile[] = [];
  for (const [i, f] of task.initFiles.entries()) {
    if (f.type !== 'zip') {
      initFiles.push(f);
      continue;
    }
    const source = f.source ?? '';
    if (!source.startsWith(UPLOAD_PREFIX)) {
      throw new HttpError(400, 'validation_failed', 'a zip init file must name an upload', [
        { pointer: `/initFiles/${i}/source`, message: `must be '${UPLOAD_PREFIX}<id>' of an upload (POST /v1/uploads; the CLI uploads local paths for you)` },
      ]);
    }
    const id = source.slice(UPLOAD_PREFIX.length);
    const upload = await prisma.upload.findFirst({ where: { id, organizationId, retiredAt: null } });
    if (!upload) throw new HttpError(400, 'validation_failed', `upload '${id}' not found`, [{ pointer: `/initFiles/${i}/source`, message: `no upload '${id}' in this organization` }]);
    if (f.sha256 && f.sha256 !== upload.sha256) {
      throw new HttpError(400, 'validation_failed', 'sha256 does not match the upload', [{ pointer: `/initFiles/${i}/sha256`, message: `upload '${id}' has sha256 ${upload.sha256}` }]);
    }
    initFiles.push({ ...f, sha256: upload.sha256 });
  }
  return { ...task, initFiles };
}

/** Name, size and sha256 of the uploads a task uses, for `task get`. */
export async function uploadsOf(prisma: PrismaClient, organizationId: string, initFiles: InitFile[]) {
  const ids = initFiles.filter((f) => f.type === 'zip' && f.source?.startsWith(UPLOAD_PREFIX)).map((f) => f.source!.slice(UPLOAD_PREFIX.length));
  if (ids.length === 0) return [];
  const rows = await prisma.upload.findMany({ where: { organizationId, id: { in: ids } } });
  return rows.map(uploadView);
}
