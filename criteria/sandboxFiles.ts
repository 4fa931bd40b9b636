/** Reading a file of the post-run sandbox for a criterion: a path relative to the agent's home, or absolute. */
import * as path from 'node:path';
import { EvaluationError } from '../domain/errors';
import { AGENT_HOME, type Sandbox } from '../sandbox';

export const READ_LIMIT = 10 * 1024 * 1024;
const MAX_LINKS = 8;

export type SandboxFile = { found: true; path: string; content: Buffer; size: number; truncated: boolean } | { found: false; path: string; why: string };

/** Follows symbolic links (as the agent's own tools would), at most a few deep. */
export async function readSandboxFile(sandbox: Sandbox, given: string, limit = READ_LIMIT): Promise<SandboxFile> {
  let p = path.posix.resolve(AGENT_HOME, given);
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const r = await sandbox.readFile(p, limit);
    switch (r.kind) {
      case 'file':
        return { found: true, path: p, content: r.content, size: r.size, truncated: r.truncated };
      case 'missing':
        return { found: false, path: p, why: `${given} does not exist` };
      case 'directory':
        return { found: false, path: p, why: `${given} is a directory, not a file` };
      case 'symlink':
        p = path.posix.resolve(path.posix.dirname(p), r.target);
    }
  }
  throw new EvaluationError(`${given}: more than ${MAX_LINKS} symbolic links deep`);
}

/** True when the bytes look binary (a NUL byte in the first 8 KiB, as git and grep decide). */
export const looksBinary = (b: Buffer) => b.subarray(0, 8192).includes(0);
