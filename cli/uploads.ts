/**
 * Local zip sources in a task file: uploaded for the user, and replaced in the document by
 * the upload they became (`upload:<id>`), so the stored task names the upload.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UPLOAD_PREFIX } from '../domain/contract';
import type { Api } from '../client/http';
import { InputError, type LoadedDocument } from './files';

export async function uploadLocalSources(api: Api, doc: LoadedDocument, taskPointer = ''): Promise<unknown> {
  const root = doc.value as Record<string, unknown>;
  const task = (taskPointer ? root[taskPointer.slice(1)] : root) as { initFiles?: { type?: string; source?: string }[] } | undefined;
  if (!task?.initFiles?.length) return doc.value;
  const initFiles = [];
  for (const [i, f] of task.initFiles.entries()) {
    if (f.type !== 'zip' || !f.source || f.source.startsWith(UPLOAD_PREFIX)) {
      initFiles.push(f);
      continue;
    }
    const file = path.resolve(path.dirname(doc.file), f.source);
    let zip: Buffer;
    try {
      zip = fs.readFileSync(file);
    } catch (err) {
      throw new InputError(doc.describe([{ pointer: `${taskPointer}/initFiles/${i}/source`, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]));
    }
    const upload = await api.upload<{ id: string; sha256: string }>(`/uploads?name=${encodeURIComponent(path.basename(file))}`, zip);
    initFiles.push({ ...f, source: `${UPLOAD_PREFIX}${upload.id}` });
  }
  const updated = { ...task, initFiles };
  return taskPointer ? { ...root, [taskPointer.slice(1)]: updated } : updated;
}
