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

export const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export async function archiveHome(artifacts: ArtifactStore, sandbox: Sandbox, redactor: Redactor = new Redactor([])): Promise<ArtifactInfo | null> {
  const exported = await sandbox.exportDirectory(AGENT_HOME);
  // No sandbox (setup never created one): nothing to archive.
  if (!exported) return null;
  const tar = redactTar(exported, redactor);
  const gzip = createGzip();
  tar.on('error', (err: Error) => gzip.destroy(err));
  return artifacts.put(artifactKeys.homeArchive(sandbox.runId), tar.pipe(gzip), { maxBytes: MAX_ARCHIVE_BYTES });
}
