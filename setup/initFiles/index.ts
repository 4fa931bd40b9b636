/**
 * Init files, placed in the sandbox before the init commands run, in the task's order:
 * zip uploads (checked entry by entry and streamed into the sandbox, never extracted on
 * the worker) and git checkouts (cloned on the worker, since the sandbox has no network,
 * with the credential kept out of the sandbox). Every failure is the setup's: SetupError,
 * with no secret in its message.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { SetupError } from '../../domain/errors';
import { UPLOAD_PREFIX, type InitFile } from '../../domain/contract';
import { artifactKeys, type ArtifactStore } from '../../artifacts';
import { AGENT_HOME, type Sandbox } from '../../sandbox';
import type { RunRecord } from '../../store/runs';
import type { RunSecrets } from '../../secrets/runSecrets';
import { zipToTar } from './zip';
import { gitCheckout } from './git';
import type { TranscriptWriter } from '../../transcript/types';

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function targetOf(f: InitFile): string {
  if (f.target) return path.posix.resolve(AGENT_HOME, f.target);
  if (f.type === 'git') {
    const base = path.posix.basename(new URL(f.url!).pathname).replace(/\.git$/, '') || 'repo';
    return path.posix.join(AGENT_HOME, base);
  }
  return AGENT_HOME;
}

async function makeDir(sandbox: Sandbox, dir: string, signal: AbortSignal): Promise<void> {
  const res = await sandbox.exec(['mkdir', '-p', '--', dir], { timeoutSeconds: 30, signal });
  if (res.exitCode !== 0) throw new SetupError(`cannot create the init files' target ${dir}: ${res.output.trim().slice(0, 300)}`);
}

export async function placeInitFiles(
  deps: { artifacts: ArtifactStore; transcript: TranscriptWriter },
  sandbox: Sandbox,
  run: RunRecord,
  secrets: RunSecrets,
  control: { signal: AbortSignal; onProgress: () => void },
): Promise<void> {
  for (const [i, f] of run.task.initFiles.entries()) {
    const target = targetOf(f);
    const what = `init file ${i + 1} (${f.type})`;
    try {
      if (f.type === 'zip') {
        if (!f.sha256) throw new SetupError(`${what}: no upload content pinned; update the task so simlab can resolve ${f.source}`);
        const found = await deps.artifacts.get(artifactKeys.upload(run.organizationId, f.sha256));
        if (!found) throw new SetupError(`${what}: the uploaded archive ${f.sha256.slice(0, 12)}… is no longer in the artifact store`);
        const zip = await readAll(found.stream);
        if (createHash('sha256').update(zip).digest('hex') !== f.sha256) throw new SetupError(`${what}: the stored archive does not match its sha256`);
        const name = f.source?.startsWith(UPLOAD_PREFIX) ? f.source.slice(UPLOAD_PREFIX.length) : (f.source ?? 'archive.zip');
        const tar = await zipToTar(name, zip);
        await makeDir(sandbox, target, control.signal);
        await sandbox.writeArchive(target, tar);
        await deps.transcript.append({ type: 'setup', data: { step: 'init_file', type: 'zip', source: f.source, sha256: f.sha256, target } });
      } else {
        const token = f.secretRef ? secrets.gitTokens[f.secretRef] : undefined;
        if (f.secretRef && token === undefined) throw new SetupError(`${what}: secret ${f.secretRef} is not set`);
        const checkout = await gitCheckout({ url: f.url!, ...(f.ref ? { ref: f.ref } : {}), ...(token ? { token } : {}) }, { signal: control.signal });
        try {
          await makeDir(sandbox, target, control.signal);
          await sandbox.writeArchive(target, checkout.tar);
          await deps.transcript.append({ type: 'setup', data: { step: 'init_file', type: 'git', url: f.url, ref: f.ref ?? null, commit: checkout.commit, target } });
        } finally {
          await checkout.cleanup();
        }
      }
    } catch (err) {
      if (err instanceof SetupError) throw new SetupError(secrets.redactor.redact(err.message.startsWith('init file') ? err.message : `${what}: ${err.message}`));
      throw err;
    }
    control.onProgress();
  }
}
