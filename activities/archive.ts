/** The agent's home directory after the run, kept as a gzip tarball beside the run's other artifacts. */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import type { PrismaClient } from '../prisma/client';
import { AGENT_HOME } from './docker-exec';
import { containerName } from './sandbox';

/** An agent that fills its home must not fill the worker's disk too. */
export const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export interface ArchiveResult {
  archived: boolean;
  path?: string;
  bytes?: number;
}

export async function archiveSandbox(
  deps: { prisma: PrismaClient; docker: Docker; artifactsDir: string },
  runId: string,
): Promise<ArchiveResult> {
  const container = deps.docker.getContainer(containerName(runId));
  let tarStream: NodeJS.ReadableStream;
  try {
    tarStream = await container.getArchive({ path: AGENT_HOME });
  } catch (err) {
    // No sandbox (setup never created one): nothing to archive.
    if ((err as { statusCode?: number }).statusCode === 404) return { archived: false };
    throw err;
  }
  const dir = path.join(deps.artifactsDir, runId);
  await fs.mkdir(dir, { recursive: true });
  const final = path.join(dir, 'home.tar.gz');
  const partial = `${final}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes > MAX_ARCHIVE_BYTES) {
        cb(ApplicationFailure.nonRetryable(`the agent's home exceeds ${MAX_ARCHIVE_BYTES} bytes compressed; not archived`, 'ArchiveTooLarge'));
        return;
      }
      cb(null, chunk);
    },
  });
  try {
    await pipeline(tarStream, createGzip(), count, createWriteStream(partial));
  } catch (err) {
    await fs.rm(partial, { force: true });
    throw err;
  }
  // Renamed only when complete, so a crash never leaves a truncated archive under the final name.
  await fs.rename(partial, final);
  await deps.prisma.run.update({
    where: { id: runId },
    data: { archivePath: final, archiveBytes: bytes, archiveSha256: hash.digest('hex') },
  });
  return { archived: true, path: final, bytes };
}
