/**
 * The archiving step: the agent's home after the run, as a gzip tarball in the artifact
 * store, capped in size so an agent that fills its home cannot fill the store too
 * (ArtifactTooLargeError past the cap, and nothing is kept).
 */
import { createGzip } from 'node:zlib';
import { AGENT_HOME, type Sandbox } from '../sandbox';
import { artifactKeys, type ArtifactInfo, type ArtifactStore } from './types';
import { Redactor } from '../domain/redact';
import { redactTar } from './redactTar';
import { diffManifests, manifestOf, type WorkspaceChanges } from './workspaceChanges';

export const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export async function archiveHome(
  artifacts: ArtifactStore,
  sandbox: Sandbox,
  redactor: Redactor = new Redactor([]),
  key: string = artifactKeys.homeArchive(sandbox.runId),
  bounds: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<ArtifactInfo | null> {
  const exported = await sandbox.exportDirectory(AGENT_HOME);
  // No sandbox (setup never created one): nothing to archive.
  if (!exported) return null;
  const tar = redactTar(exported, redactor);
  const gzip = createGzip();
  tar.on('error', (err: Error) => gzip.destroy(err));
  const abort = () => gzip.destroy(new ArchiveTimeoutError('out of time'));
  bounds.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await artifacts.put(key, tar.pipe(gzip), { maxBytes: bounds.maxBytes ?? MAX_ARCHIVE_BYTES });
  } finally {
    bounds.signal?.removeEventListener('abort', abort);
    (exported as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

export class ArchiveTimeoutError extends Error {
  override readonly name = 'ArchiveTimeoutError';
}

/** The agent's changes since setup, or null when either side was not archived. */
export async function changesSinceSetup(artifacts: ArtifactStore, runId: string): Promise<WorkspaceChanges | null> {
  const before = await artifacts.get(artifactKeys.setupArchive(runId));
  const after = await artifacts.get(artifactKeys.homeArchive(runId));
  if (!before || !after) {
    before?.stream.destroy();
    after?.stream.destroy();
    return null;
  }
  return diffManifests(await manifestOf(before.stream), await manifestOf(after.stream));
}
