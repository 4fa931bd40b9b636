/**
 * One run's sandbox as a Docker container: commands through `docker exec`, files through
 * the archive API. Everything runs as the unprivileged agent user unless told otherwise.
 */
import type Docker from 'dockerode';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { TailBuffer } from '../tailBuffer';
import {
  AGENT_HOME,
  AGENT_UID,
  SIMLAB_DIR,
  type ExecOptions,
  type FileRead,
  type ExecResult,
  type ProcessSpec,
  type ProcessState,
  type ProcessWatch,
  type Sandbox,
  type SandboxFile,
  type SandboxUser,
  type AgentEnding,
  type EndAgentOptions,
} from '../types';
import { EnvironmentConfigError } from '../../domain/errors';
import { containerName } from './labels';

const userSpec = (u: SandboxUser = 'agent') => (u === 'root' ? '0:0' : `${AGENT_UID}:${AGENT_UID}`);
const uidOf = (u: SandboxUser = 'agent') => (u === 'root' ? 0 : AGENT_UID);
const envList = (env: Record<string, string> = {}) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

const PROCESS_BASELINE = `${SIMLAB_DIR}/pids.before`;

/** Lists every process but this shell itself, written by root where the agent cannot edit it. */
const RECORD_BASELINE = `for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] || echo "\${p#/proc/}"; done > ${PROCESS_BASELINE}.new && mv -f ${PROCESS_BASELINE}.new ${PROCESS_BASELINE}`;

/**
 * Ends every process that did not exist at the baseline, except this killer itself. Runs as
 * the agent's uid: without capabilities, only the owner of a process may signal it.
 * Builtins only until everything is dead (no fork per process: a fork bomb may have used
 * up the sandbox's process limit), and several rounds: it may have spawned more meanwhile.
 */
const KILL_SINCE_BASELINE = `
  keep=" "
  if [ -r ${PROCESS_BASELINE} ]; then while read -r p; do keep="$keep$p "; done < ${PROCESS_BASELINE}; fi
  for round in 1 2 3 4 5 6 7 8; do
    killed=0
    for p in /proc/[0-9]*; do
      pid="\${p#/proc/}"
      [ "$pid" = "$$" ] && continue
      case "$keep" in *" $pid "*) ;; *) kill -KILL "$pid" 2>/dev/null && killed=1 ;; esac
    done
    [ "$killed" = 0 ] && break
  done`;

/** The sandbox's own cgroup counters (v2 files, or their v1 places): how often it hit its limits. */
const CGROUP_EVENT_FILES = ['/sys/fs/cgroup/pids.events', '/sys/fs/cgroup/memory.events', '/sys/fs/cgroup/pids/pids.events', '/sys/fs/cgroup/memory/memory.oom_control'];

/**
 * What the agent step needs once the agent has ended, in one exec instead of four: every
 * process since the baseline ended, then a header of the cgroup counters (and the home's
 * free space), then the end of the agent's log. The header comes first and is printed by
 * this script alone, so nothing the agent wrote can pose as it; the log part is bounded.
 *   $1 log path, $2 bytes of its end, $3 1 to report the home's free space
 */
const END_AGENT = `${KILL_SINCE_BASELINE}
  echo "simlab-end 1"
  for f in ${CGROUP_EVENT_FILES.join(' ')}; do
    [ -r "$f" ] || continue
    while read -r k v; do echo "cg \${f##*/} $k $v"; done < "$f"
  done
  [ "$3" = 1 ] && df -P ${AGENT_HOME} 2>/dev/null | while read -r fs blocks used avail rest; do echo "df $avail"; done
  if [ -f "$1" ]; then
    for size in $(wc -c < "$1"); do :; done
    start=$(( size > $2 ? size - $2 : 0 ))
    echo "log $size $start"
    echo "--"
    tail -c "+$(( start + 1 ))" -- "$1"
  else
    echo "log -1 0"
    echo "--"
  fi`;

/**
 * The image must give the agent a home it can write, said plainly if not (exit 4). Run as
 * root with the baseline, where `test -w` would answer for root, not for the agent: the
 * home's owner and mode are read instead.
 */
const CHECK_HOME = `
  [ -d ${AGENT_HOME} ] || { echo "${AGENT_HOME} does not exist"; exit 4; }
  # An image without stat cannot be checked here: its agent learns of an unwritable home itself.
  set -- $(stat -c '%u %g %a' ${AGENT_HOME} 2>/dev/null) || true
  if [ $# = 3 ] && ! { [ "$1" = ${AGENT_UID} ] && [ $(( 0$3 & 0200 )) != 0 ]; } && ! { [ "$2" = ${AGENT_UID} ] && [ $(( 0$3 & 020 )) != 0 ]; } && [ $(( 0$3 & 02 )) = 0 ]; then
    echo "${AGENT_HOME} is owned by $1:$2 with mode $3"; exit 4
  fi`;

/** Room for simlab's own execs when the agent has used up the sandbox's process limit. */
const PIDS_HEADROOM = 64;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DockerSandbox implements Sandbox {
  private readonly container: Docker.Container;

  readonly id: string;

  /** `id`: the container's id when known (just created), else its name, which Docker accepts too. */
  constructor(
    private readonly docker: Docker,
    readonly runId: string,
    id?: string,
    readonly imageId?: string,
  ) {
    this.id = id ?? containerName(runId);
    this.container = docker.getContainer(this.id);
  }

  async exec(argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const exec = await this.container.exec({
      Cmd: ['timeout', '-s', 'KILL', String(opts.timeoutSeconds), ...argv],
      User: userSpec(opts.user),
      WorkingDir: opts.workingDir ?? AGENT_HOME,
      Env: envList(opts.env),
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const buf = new TailBuffer(opts.outputLimit ?? 64 * 1024);
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => {
      buf.push(d);
      opts.onOutput?.(d);
    });
    this.container.modem.demuxStream(stream, sink, sink);

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

  async createProcess(spec: ProcessSpec): Promise<string> {
    const exec = await this.container.exec({
      Cmd: spec.argv,
      User: userSpec(spec.user),
      WorkingDir: spec.workingDir ?? AGENT_HOME,
      Env: envList(spec.env),
    });
    return exec.id;
  }

  async startProcess(processId: string): Promise<void> {
    await this.docker.getExec(processId).start({ Detach: true });
  }

  async processState(processId: string): Promise<ProcessState> {
    const info = await this.docker.getExec(processId).inspect();
    if (info.Running) return { state: 'running' };
    // Docker reports a created-but-never-started exec as not running, no exit code, no pid.
    if (info.ExitCode === null && !info.Pid) return { state: 'created' };
    return { state: 'exited', exitCode: info.ExitCode ?? null };
  }

  async liveness(): Promise<'running' | 'stopped' | 'oom-killed' | 'missing'> {
    try {
      const { State } = await this.container.inspect();
      // Stopped by the kernel's OOM killer inside its memory limit: the agent's doing, not a lost sandbox.
      if (State.OOMKilled) return 'oom-killed';
      return State.Running ? 'running' : 'stopped';
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return 'missing';
      throw err;
    }
  }

  /**
   * Resolves when the process (a detached exec) ends, from Docker's `exec_die` event: a
   * waiting harness learns of the end at once instead of at its next poll. Never rejects;
   * a lost event stream only means the caller's poll notices instead.
   */
  watchProcessExit(processId: string): ProcessWatch {
    let stream: NodeJS.ReadableStream & { destroy?: () => void } | undefined;
    let closed = false;
    const exited = new Promise<void>((resolve) => {
      this.docker
        .getEvents({ filters: { container: [this.id], event: ['exec_die'] } })
        .then((s) => {
          stream = s as typeof stream;
          if (closed) return stream!.destroy?.();
          let pending = '';
          s.on('data', (d: Buffer) => {
            pending += d.toString('utf8');
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) {
              try {
                if ((JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } }).Actor?.Attributes?.execID === processId) resolve();
              } catch {
                // not an event line: ignore
              }
            }
          });
          s.on('error', () => undefined);
        })
        .catch(() => undefined);
    });
    return {
      exited,
      close: () => {
        closed = true;
        stream?.destroy?.();
      },
    };
  }

  async writeFiles(dir: string, files: SandboxFile[]): Promise<void> {
    const pack = tar.pack();
    for (const f of files) {
      const uid = uidOf(f.owner);
      const header = { name: f.name, uid, gid: uid };
      if (f.type === 'directory') pack.entry({ ...header, type: 'directory', mode: f.mode ?? 0o700 });
      else pack.entry({ ...header, mode: f.mode ?? 0o600 }, typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : (f.content ?? Buffer.alloc(0)));
    }
    pack.finalize();
    await this.container.putArchive(pack as unknown as Readable, { path: dir });
  }

  async writeArchive(dir: string, tarStream: NodeJS.ReadableStream): Promise<void> {
    // Docker resolves `dir` and every entry inside the container's root: nothing lands on the host.
    await this.container.putArchive(tarStream as unknown as Readable, { path: dir });
  }

  async readFileFrom(path: string, offset: number, limit: number): Promise<Buffer | null> {
    const res = await this.exec(['/bin/sh', '-c', 'test -f "$1" || exit 3; tail -c "+$(( $2 + 1 ))" -- "$1" | head -c "$3"', 'simlab', path, String(offset), String(limit)], {
      timeoutSeconds: 60,
      outputLimit: limit,
    });
    if (res.exitCode === 3) return null;
    if (res.exitCode !== 0) throw new Error(`reading ${path} from ${offset} failed with exit ${res.exitCode}`);
    return res.bytes;
  }

  async fileSize(path: string): Promise<number | null> {
    let res: IncomingMessage;
    try {
      res = (await this.container.infoArchive({ path })) as IncomingMessage;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
    res.resume();
    const stat = res.headers['x-docker-container-path-stat'];
    if (typeof stat !== 'string') return null;
    const size = (JSON.parse(Buffer.from(stat, 'base64').toString('utf8')) as { size?: unknown }).size;
    return typeof size === 'number' ? size : null;
  }

  async readFileTail(path: string, limit: number, onProgress?: () => void): Promise<{ content: Buffer; truncated: boolean } | null> {
    const res = await this.exec(['/bin/sh', '-c', 'test -f "$1" || exit 3; tail -c "$2" -- "$1"', 'simlab', path, String(limit)], {
      timeoutSeconds: 120,
      outputLimit: limit,
      ...(onProgress ? { onProgress } : {}),
    });
    if (res.exitCode === 3) return null;
    if (res.exitCode !== 0) throw new Error(`reading ${path} failed with exit ${res.exitCode}: ${res.output.slice(0, 200)}`);
    return { content: res.bytes, truncated: res.bytes.length >= limit };
  }

  async readFile(path: string, limit: number): Promise<FileRead> {
    let tarStream: NodeJS.ReadableStream;
    try {
      tarStream = await this.container.getArchive({ path });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { kind: 'missing' };
      throw err;
    }
    return new Promise<FileRead>((resolve, reject) => {
      const extract = tar.extract();
      let result: FileRead | undefined;
      extract.on('entry', (header, stream, next) => {
        if (result) {
          stream.resume();
          stream.on('end', next);
          return;
        }
        if (header.type === 'directory') result = { kind: 'directory' };
        else if (header.type === 'symlink') result = { kind: 'symlink', target: header.linkname ?? '' };
        if (result || header.type !== 'file') {
          result ??= { kind: 'missing' };
          stream.resume();
          stream.on('end', next);
          return;
        }
        const size = header.size ?? 0;
        const chunks: Buffer[] = [];
        let kept = 0;
        stream.on('data', (chunk: unknown) => {
          const d = chunk as Buffer;
          if (kept < limit) {
            const part = d.subarray(0, limit - kept);
            chunks.push(part);
            kept += part.length;
          }
        });
        stream.on('end', () => {
          result = { kind: 'file', content: Buffer.concat(chunks), size, truncated: size > kept };
          next();
        });
      });
      extract.on('finish', () => resolve(result ?? { kind: 'missing' }));
      extract.on('error', reject);
      tarStream.on('error', reject);
      tarStream.pipe(extract);
    });
  }

  async exportDirectory(path: string): Promise<NodeJS.ReadableStream | null> {
    try {
      return await this.container.getArchive({ path });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async recordProcessBaseline(): Promise<void> {
    const res = await this.exec(['/bin/sh', '-c', `${CHECK_HOME}\n${RECORD_BASELINE}`], { timeoutSeconds: 60, user: 'root', workingDir: '/' });
    if (res.exitCode === 4) throw new EnvironmentConfigError(`the sandbox's image has no ${AGENT_HOME} writable by uid ${AGENT_UID} (the agent user): ${res.output.trim().slice(0, 200)}`);
    if (res.exitCode !== 0) throw new Error(`recording the sandbox's processes failed (exit ${res.exitCode}): ${res.output.slice(0, 200)}`);
  }

  async stopProcessesSinceBaseline(): Promise<void> {
    // An agent that used up its process limit (a fork bomb) leaves no room for the exec
    // that stops it: raise the limit for the moment it takes, then put it back.
    const limit = (await this.container.inspect()).HostConfig.PidsLimit ?? 0;
    if (limit > 0) await this.container.update({ PidsLimit: limit + PIDS_HEADROOM });
    try {
      const id = await this.createProcess({ argv: ['/bin/sh', '-c', `${KILL_SINCE_BASELINE}\n  exit 0`], workingDir: '/' });
      await this.startProcess(id);
      // Detached: wait for the kill itself to have run before anything reads the sandbox.
      for (let i = 0; i < 100 && (await this.processState(id)).state === 'running'; i++) await sleep(50);
      await sleep(100);
    } finally {
      if (limit > 0) await this.container.update({ PidsLimit: limit });
    }
  }

  async endAgent(opts: EndAgentOptions): Promise<AgentEnding> {
    const run = () =>
      this.exec(['/bin/sh', '-c', END_AGENT, 'simlab', opts.logPath, String(opts.tailLimit), opts.homeDisk ? '1' : '0'], {
        timeoutSeconds: 120,
        workingDir: '/',
        outputLimit: opts.tailLimit + 64 * 1024,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }).then((r) => parseAgentEnding(r.bytes));
    // Without a header the script could not run: the agent used up its process limit (a
    // fork bomb). Stopping it then takes the slower way that makes room first.
    const first = await run().catch(() => null);
    if (first) return first;
    await this.stopProcessesSinceBaseline();
    const second = await run();
    if (!second) throw new Error("reading the agent's end from the sandbox failed: the script printed no report");
    return second;
  }
}

/** The report of END_AGENT, or null when its header is missing or cut. */
export function parseAgentEnding(out: Buffer): AgentEnding | null {
  const head = Buffer.from('simlab-end 1\n');
  if (!out.subarray(0, head.length).equals(head)) return null;
  const sep = out.indexOf('\n--\n');
  if (sep < 0) return null;
  const lines = out.subarray(head.length, sep).toString('utf8').split('\n');
  const counter = (file: string, key: string) => {
    const line = lines.find((l) => l.startsWith(`cg ${file} ${key} `));
    return line ? Number(line.split(' ')[3]) || 0 : 0;
  };
  const df = lines.filter((l) => l.startsWith('df ')).map((l) => Number(l.slice(3))).filter(Number.isFinite).pop();
  const log = lines.find((l) => l.startsWith('log '))?.split(' ').map(Number);
  if (!log || log.length !== 3) return null;
  const [, size, start] = log as [number, number, number];
  const content = out.subarray(sep + 4);
  return {
    pidsLimitHit: counter('pids.events', 'max'),
    oomKills: counter('memory.events', 'oom_kill') + counter('memory.oom_control', 'oom_kill'),
    homeAvailableKb: df ?? null,
    // A log that grew after the size was read (a process of the baseline writing to it) is cut where it was.
    log: size < 0 ? null : { size, start, content: content.subarray(0, size - start) },
  };
}
