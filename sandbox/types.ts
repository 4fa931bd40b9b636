/**
 * What simlab needs of a sandbox, whatever runs it. Docker is the implementation today
 * (sandbox/docker); a Kubernetes pod or a remote sandbox service would be one more
 * implementation of these two interfaces, and nothing above this folder would change.
 */

/**
 * The sandbox's user, `agent` in simlab's images, always given by number: an image's
 * passwd could map the name to root, a number cannot.
 */
export const AGENT_UID = 1000;
export const AGENT_HOME = '/home/agent';
/**
 * simlab's own files inside the sandbox (prompt, agent log, process baseline), outside the
 * archived home. Owned by root, so the agent can read what it must but replace nothing
 * simlab relies on after the agent has run.
 */
export const SIMLAB_DIR = '/tmp/.simlab';

/** `agent` is the unprivileged uid 1000; `root` is uid 0 with every capability dropped. */
export type SandboxUser = 'agent' | 'root';

export interface SandboxIdentity {
  runId: string;
  iterationId: string;
  organizationId: string;
  hostId: string;
  deploymentId: string;
}

export interface SandboxSpec {
  image: string;
  resources: { cpus: number; memoryMb: number; pids: number; diskMb?: number };
  /** `allow`: the only destinations reachable (through the egress proxy); absent: any public one. */
  network: { enabled: boolean; allow?: string[] };
  env: Record<string, string>;
}

export interface ExecOptions {
  /** Enforced inside the sandbox (the whole command is killed) and, as a backstop, outside. */
  timeoutSeconds: number;
  user?: SandboxUser;
  workingDir?: string;
  env?: Record<string, string>;
  /** Bytes of output kept: the end, where failures are explained. */
  outputLimit?: number;
  signal?: AbortSignal;
  /** Called every few seconds while the command runs (activities heartbeat here). */
  onProgress?: () => void;
  /** Every chunk of output as it arrives. */
  onOutput?: (chunk: Buffer) => void;
}

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr interleaved, at most `outputLimit` bytes of the end. */
  output: string;
  bytes: Buffer;
  timedOut: boolean;
  durationMs: number;
}

/** A long-lived process started apart from its creation, so its id can be recorded before it runs. */
export interface ProcessSpec {
  argv: string[];
  user?: SandboxUser;
  workingDir?: string;
  env?: Record<string, string>;
}

export type ProcessState = { state: 'created' } | { state: 'running' } | { state: 'exited'; exitCode: number | null };

export interface SandboxFile {
  name: string;
  content?: string | Buffer;
  mode?: number;
  type?: 'file' | 'directory';
  /** Who owns the entry: the agent (default) or root, which the agent cannot overwrite. */
  owner?: SandboxUser;
}

export interface ProcessWatch {
  exited: Promise<void>;
  close(): void;
}

export interface Sandbox {
  readonly runId: string;
  /** The provider's own id for it (a container id). */
  readonly id: string;
  /** The exact image it was made from (a content digest), when just created. */
  readonly imageId?: string;
  /** Runs a command to completion. */
  exec(argv: string[], opts: ExecOptions): Promise<ExecResult>;
  createProcess(spec: ProcessSpec): Promise<string>;
  startProcess(processId: string): Promise<void>;
  processState(processId: string): Promise<ProcessState>;
  /** Whether the sandbox's container still runs: a step that failed asks, to tell a lost sandbox from a passing fault. */
  liveness(): Promise<'running' | 'stopped' | 'oom-killed' | 'missing'>;
  /** Settles when the process ends (or may have: callers still check processState). Close it when done. */
  watchProcessExit(processId: string): ProcessWatch;
  /** Writes files into an existing directory. */
  writeFiles(dir: string, files: SandboxFile[]): Promise<void>;
  /** Unpacks a tar stream (already checked: relative names, owners set) into an existing directory. */
  writeArchive(dir: string, tar: NodeJS.ReadableStream): Promise<void>;
  /**
   * A file's size, or null when it does not exist, read from outside the sandbox without
   * running anything in it (Docker: a stat through the archive API, not an exec).
   */
  fileSize(path: string): Promise<number | null>;
  /** At most `limit` bytes of a file from byte `offset` on, or null when it does not exist. */
  readFileFrom(path: string, offset: number, limit: number): Promise<Buffer | null>;
  /** The last `limit` bytes of a file, or null when it does not exist. */
  readFileTail(path: string, limit: number, onProgress?: () => void): Promise<{ content: Buffer; truncated: boolean } | null>;
  /**
   * A file's first `limit` bytes, read from outside the sandbox (nothing the agent put on
   * its PATH is involved, and its permissions do not hide the file). Says when the path
   * is missing, a directory, or a symbolic link (with its target) instead.
   */
  readFile(path: string, limit: number): Promise<FileRead>;
  /** A tar stream of a directory, or null when the sandbox is gone. */
  exportDirectory(path: string): Promise<NodeJS.ReadableStream | null>;
  /**
   * Notes which processes exist now (PID 1, services of init commands); first proves that
   * the image gives the agent a writable home (EnvironmentConfigError if not).
   */
  recordProcessBaseline(): Promise<void>;
  /** Ends every process started since the baseline, background ones included, even when
   * the agent has used up the sandbox's process limit. */
  stopProcessesSinceBaseline(): Promise<void>;
  /**
   * Once the agent has ended: every process since the baseline ended, how often the sandbox
   * hit its limits, and the end of the agent's log, all at once.
   */
  endAgent(opts: EndAgentOptions): Promise<AgentEnding>;
}

export interface EndAgentOptions {
  logPath: string;
  /** Bytes of the log's end to return. */
  tailLimit: number;
  /** Also report the free space of the home's own filesystem (a quota'd home disk). */
  homeDisk: boolean;
  onProgress?: () => void;
}

export interface AgentEnding {
  /** Processes refused at the sandbox's process limit. */
  pidsLimitHit: number;
  /** Processes the kernel killed at the sandbox's memory limit. */
  oomKills: number;
  /** KiB free in the home, when asked for and known. */
  homeAvailableKb: number | null;
  /** The log's end: `content` is its bytes from `start` to `size`; null when there is no log. */
  log: { size: number; start: number; content: Buffer } | null;
}

export type FileRead =
  | { kind: 'file'; content: Buffer; size: number; truncated: boolean }
  | { kind: 'missing' }
  | { kind: 'directory' }
  | { kind: 'symlink'; target: string };

export interface SandboxFilter {
  runId?: string;
  iterationId?: string;
  hostId?: string;
  deploymentId?: string;
}

export interface SandboxInfo {
  id: string;
  runId?: string;
  iterationId?: string;
}

export interface SandboxProvider {
  /** A fresh, hardened, labelled sandbox for one run. */
  create(identity: SandboxIdentity, spec: SandboxSpec): Promise<Sandbox>;
  /** The run's existing sandbox (it may have gone: calls then fail). */
  attach(runId: string): Sandbox;
  list(filter: SandboxFilter): Promise<SandboxInfo[]>;
  /** The one place sandboxes die. Idempotent: one already gone counts as destroyed. */
  destroy(filter: SandboxFilter): Promise<string[]>;
  /** Releases what sandboxes left on this host without a sandbox any more (home disks); returns how many. */
  sweep?(): Promise<number>;
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
