/**
 * Running commands and moving files in a sandbox container through the Docker API.
 * Everything here runs as the sandbox's unprivileged user unless told otherwise.
 */
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar-stream';

/**
 * The sandbox's user, `agent` in simlab's images, always given by number: an image's
 * passwd could map the name to root, a number cannot.
 */
export const AGENT_UID = 1000;
export const AGENT_USER = `${AGENT_UID}:${AGENT_UID}`;
export const AGENT_HOME = '/home/agent';
/** simlab's own files inside the sandbox: prompt, agent log. Outside the archived home. */
export const SIMLAB_DIR = '/tmp/.simlab';

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr interleaved, at most `outputLimit` bytes of the end. */
  output: string;
  bytes: Buffer;
  timedOut: boolean;
  durationMs: number;
}

/**
 * argv for a shell command in a working directory: bash when the image has it (the sandbox
 * image does), else sh (tiny test images), so tasks can rely on bash without breaking
 * minimal images. A missing directory is the command's failure, reported in its output.
 */
export function shellArgv(command: string, workingDir: string = AGENT_HOME): string[] {
  return [
    '/bin/sh',
    '-c',
    'cd -- "$2" || exit 1; if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$1"; fi',
    'simlab',
    command,
    workingDir,
  ];
}

/** Keeps the last `limit` bytes: the end of a log is where failures are explained. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }
  toBuffer(): Buffer {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return all;
    this.truncated = true;
    return all.subarray(all.length - this.limit);
  }
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

/**
 * Runs a command to completion with a time limit enforced inside the container (`timeout`
 * kills the whole command) and, as a backstop, on this side.
 */
export async function execCommand(
  container: Docker.Container,
  argv: string[],
  opts: {
    timeoutSeconds: number;
    workingDir?: string;
    env?: string[];
    outputLimit?: number;
    signal?: AbortSignal;
    /** Called every few seconds while the command runs: an activity heartbeats here, so a
     * command longer than the heartbeat timeout is not mistaken for a dead worker. */
    onProgress?: () => void;
  },
): Promise<ExecResult> {
  const started = Date.now();
  const exec = await container.exec({
    Cmd: ['timeout', '-s', 'KILL', String(opts.timeoutSeconds), ...argv],
    User: AGENT_USER,
    WorkingDir: opts.workingDir ?? AGENT_HOME,
    Env: opts.env ?? [],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const buf = new TailBuffer(opts.outputLimit ?? 64 * 1024);
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => buf.push(d));
  container.modem.demuxStream(stream, sink, sink);

  let backstop: NodeJS.Timeout | undefined;
  const progress = opts.onProgress ? setInterval(opts.onProgress, 5000) : undefined;
  let hostTimedOut = false;
  let onAbort = () => {};
  await new Promise<void>((resolve, reject) => {
    onAbort = () => {
      stream.destroy();
      reject(opts.signal!.reason ?? new Error('aborted'));
    };
    const done = () => resolve();
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', reject);
    backstop = setTimeout(() => {
      hostTimedOut = true;
      stream.destroy();
      resolve();
    }, (opts.timeoutSeconds + 15) * 1000);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  }).finally(() => {
    clearTimeout(backstop);
    clearInterval(progress);
    opts.signal?.removeEventListener('abort', onAbort);
  });

  const durationMs = Date.now() - started;
  const info = await exec.inspect();
  // `timeout -s KILL` ends the command with 137 (coreutils and busybox alike); only a run
  // that also used up its time counts as timed out, so an agent's own SIGKILL exit does not.
  const exitCode = info.ExitCode ?? -1;
  const timedOut = hostTimedOut || (exitCode === 137 && durationMs >= opts.timeoutSeconds * 1000 - 250);
  const bytes = buf.toBuffer();
  return { exitCode, output: bytes.toString('utf8'), bytes, timedOut, durationMs };
}

/** Writes files into the container as the agent user; `dir` must exist. */
export async function putFiles(
  container: Docker.Container,
  dir: string,
  files: { name: string; content: string | Buffer; mode?: number; type?: 'file' | 'directory' }[],
): Promise<void> {
  const pack = tar.pack();
  for (const f of files) {
    const header = { name: f.name, mode: f.mode ?? 0o600, uid: AGENT_UID, gid: AGENT_UID };
    if (f.type === 'directory') pack.entry({ ...header, type: 'directory', mode: f.mode ?? 0o700 });
    else pack.entry(header, typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content);
  }
  pack.finalize();
  await container.putArchive(pack as unknown as Readable, { path: dir });
}

/** The last `limit` bytes of a file in the container, or null when it does not exist. */
export async function readTail(container: Docker.Container, path: string, limit: number, onProgress?: () => void): Promise<{ content: Buffer; truncated: boolean } | null> {
  const res = await execCommand(container, ['/bin/sh', '-c', 'test -f "$1" || exit 3; tail -c "$2" -- "$1"', 'simlab', path, String(limit)], {
    timeoutSeconds: 120,
    outputLimit: limit,
    ...(onProgress ? { onProgress } : {}),
  });
  if (res.exitCode === 3) return null;
  if (res.exitCode !== 0) throw new Error(`reading ${path} failed with exit ${res.exitCode}: ${res.output.slice(0, 200)}`);
  return { content: res.bytes, truncated: res.bytes.length >= limit };
}
