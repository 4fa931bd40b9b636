/**
 * What the agent changed in its home: the home right after setup against the home it left,
 * file by file (added, changed, deleted), with a unified diff for changed text files. Both
 * sides are read from tarballs in the artifact store, so the comparison needs no sandbox.
 */
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { createTwoFilesPatch } from 'diff';

const TEXT_LIMIT = 256 * 1024;
const DIFFS_LIMIT = 1024 * 1024;

interface FileState {
  sha256: string;
  size: number;
  /** Kept for text files small enough to diff. */
  text?: string;
}

export interface WorkspaceChanges {
  added: { path: string; size: number }[];
  changed: { path: string; size: number; diff?: string; diffOmitted?: string }[];
  deleted: { path: string }[];
}

/** Every regular file of a gzip'd tar of the home, by its path inside the home. */
export async function manifestOf(gzipped: Readable): Promise<Map<string, FileState>> {
  const files = new Map<string, FileState>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      // Docker's archive of /home/agent names every entry agent/...
      const rel = header.name.split('/').slice(1).join('/');
      if (header.type !== 'file' || !rel) {
        stream.resume();
        stream.on('end', () => next());
        return;
      }
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: unknown) => {
        const c = chunk as Buffer;
        hash.update(c);
        size += c.length;
        if (size <= TEXT_LIMIT) kept.push(c);
      });
      stream.on('end', () => {
        const body = size <= TEXT_LIMIT ? Buffer.concat(kept) : null;
        const text = body && !body.subarray(0, 8192).includes(0) ? body.toString('utf8') : undefined;
        files.set(rel, { sha256: hash.digest('hex'), size, ...(text !== undefined ? { text } : {}) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const gunzip = createGunzip();
  gunzip.on('error', (err) => extract.destroy(err));
  gzipped.on('error', (err) => extract.destroy(err));
  gzipped.pipe(gunzip).pipe(extract);
  await done;
  return files;
}

export function diffManifests(before: Map<string, FileState>, after: Map<string, FileState>): WorkspaceChanges {
  const changes: WorkspaceChanges = { added: [], changed: [], deleted: [] };
  let budget = DIFFS_LIMIT;
  for (const [p, a] of [...after].sort(([x], [y]) => x.localeCompare(y))) {
    const b = before.get(p);
    if (!b) changes.added.push({ path: p, size: a.size });
    else if (b.sha256 !== a.sha256) {
      if (b.text === undefined || a.text === undefined) changes.changed.push({ path: p, size: a.size, diffOmitted: 'binary or larger than 256 KiB' });
      else {
        const diff = createTwoFilesPatch(`a/${p}`, `b/${p}`, b.text, a.text, undefined, undefined, { context: 3 });
        if (diff.length > budget) changes.changed.push({ path: p, size: a.size, diffOmitted: 'the run\'s diffs exceed 1 MiB' });
        else {
          budget -= diff.length;
          changes.changed.push({ path: p, size: a.size, diff });
        }
      }
    }
  }
  for (const p of [...before.keys()].sort()) if (!after.has(p)) changes.deleted.push({ path: p });
  return changes;
}
