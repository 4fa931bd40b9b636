/**
 * The claude harness's tools. Each runs inside the sandbox as the agent user, so the
 * agent can touch exactly what its own shell could: a tool is never a way around the
 * sandbox's permissions. A tool's failure is its result (is_error), never an exception,
 * so the model can read it and recover.
 */
import * as path from 'node:path';
import { AGENT_HOME, shellArgv, type Sandbox } from '../sandbox';

/** Bytes of a tool's output the model sees; bash keeps the end, where failures are explained. */
export const OUTPUT_LIMIT = 30_000;
const READ_LIMIT = 100_000;
/** edit_file reads the whole file into the worker: larger files are edited with bash. */
const EDIT_LIMIT = 2 * 1024 * 1024;
const FILE_TIMEOUT_SECONDS = 60;
const LIST_DEPTH = 3;
const LIST_ENTRIES = 1000;

export interface ToolResult {
  output: string;
  isError: boolean;
}

export interface ToolEnv {
  sandbox: Sandbox;
  secretEnv: Record<string, string>;
  bashTimeoutSeconds: number;
  signal: AbortSignal;
  heartbeat(): void;
}

const str = { type: 'string' } as const;

export const TOOLS = [
  {
    name: 'bash',
    description: `Runs a bash command in ${AGENT_HOME} (a fresh shell each call: cd and exports do not carry over). Returns stdout and stderr interleaved (the last ${OUTPUT_LIMIT} bytes) and the exit code.`,
    input_schema: { type: 'object' as const, properties: { command: { ...str, description: 'The command to run.' } }, required: ['command'] },
  },
  {
    name: 'read_file',
    description: `Reads a text file (the first ${READ_LIMIT} bytes). Relative paths are relative to ${AGENT_HOME}.`,
    input_schema: { type: 'object' as const, properties: { path: str }, required: ['path'] },
  },
  {
    name: 'write_file',
    description: `Creates or replaces a file with the given content, creating missing parent directories. Relative paths are relative to ${AGENT_HOME}.`,
    input_schema: { type: 'object' as const, properties: { path: str, content: str }, required: ['path', 'content'] },
  },
  {
    name: 'edit_file',
    description: 'Replaces old_string with new_string in a file. old_string must occur exactly once: include enough surrounding text to make it unique.',
    input_schema: { type: 'object' as const, properties: { path: str, old_string: str, new_string: str }, required: ['path', 'old_string', 'new_string'] },
  },
  {
    name: 'list_files',
    description: `Lists files and directories under a path (default ${AGENT_HOME}), ${LIST_DEPTH} levels deep, skipping .git and node_modules contents.`,
    input_schema: { type: 'object' as const, properties: { path: str } },
  },
];

const fail = (output: string): ToolResult => ({ output, isError: true });
const resolve = (p: string) => path.posix.resolve(AGENT_HOME, p);

export async function runTool(name: string, input: unknown, env: ToolEnv): Promise<ToolResult> {
  const args = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const need = (...keys: string[]) => keys.find((k) => typeof args[k] !== 'string');
  const missing = (k: string) => fail(`${name}: '${k}' must be a string`);
  switch (name) {
    case 'bash': {
      const m = need('command');
      return m ? missing(m) : bash(args.command as string, env);
    }
    case 'read_file': {
      const m = need('path');
      return m ? missing(m) : readFile(resolve(args.path as string), env);
    }
    case 'write_file': {
      const m = need('path', 'content');
      return m ? missing(m) : writeFile(resolve(args.path as string), args.content as string, env);
    }
    case 'edit_file': {
      const m = need('path', 'old_string', 'new_string');
      return m ? missing(m) : editFile(resolve(args.path as string), args.old_string as string, args.new_string as string, env);
    }
    case 'list_files': {
      if (args.path !== undefined && typeof args.path !== 'string') return missing('path');
      return listFiles(resolve((args.path as string | undefined) ?? '.'), env);
    }
    default:
      return fail(`unknown tool '${name}'; the tools are ${TOOLS.map((t) => t.name).join(', ')}`);
  }
}

function sh(script: string, args: string[], env: ToolEnv, opts: { outputLimit?: number } = {}) {
  return env.sandbox.exec(['/bin/sh', '-c', script, 'simlab', ...args], {
    timeoutSeconds: FILE_TIMEOUT_SECONDS,
    user: 'agent',
    workingDir: AGENT_HOME,
    outputLimit: opts.outputLimit ?? OUTPUT_LIMIT,
    signal: env.signal,
    onProgress: env.heartbeat,
  });
}

async function bash(command: string, env: ToolEnv): Promise<ToolResult> {
  const res = await env.sandbox.exec(shellArgv(command), {
    timeoutSeconds: env.bashTimeoutSeconds,
    user: 'agent',
    workingDir: AGENT_HOME,
    env: env.secretEnv,
    outputLimit: OUTPUT_LIMIT,
    signal: env.signal,
    onProgress: env.heartbeat,
  });
  const truncated = res.bytes.length >= OUTPUT_LIMIT ? `[output truncated: the last ${OUTPUT_LIMIT} bytes follow]\n` : '';
  if (res.timedOut) return fail(`${truncated}${res.output}\n[timed out after ${env.bashTimeoutSeconds}s and was killed]`);
  return { output: `${truncated}${res.output}${res.output && !res.output.endsWith('\n') ? '\n' : ''}[exit code ${res.exitCode}]`, isError: false };
}

async function readFile(p: string, env: ToolEnv): Promise<ToolResult> {
  // stderr only when it fails: the output is then the error message.
  const res = await sh(
    'if [ -d "$1" ]; then echo "$1 is a directory (use list_files)"; exit 2; fi; size=$(wc -c < "$1") || exit 1; head -c "$2" -- "$1"; ' +
      'if [ "$size" -gt "$2" ]; then printf "\\n[truncated: the file has %s bytes, the first %s are shown]" "$size" "$2"; fi',
    [p, String(READ_LIMIT)],
    env,
    { outputLimit: READ_LIMIT + 200 },
  );
  if (res.timedOut) return fail(`reading ${p} timed out`);
  return res.exitCode === 0 ? { output: res.bytes.toString('utf8'), isError: false } : fail(res.output.trim() || `cannot read ${p}`);
}

/**
 * Where the agent may write `p`: its real path, once the agent itself has created the
 * parent directories and shown it may write there. The content then goes through the
 * archive API (there is no stdin to exec), which would ignore permissions and symlinks.
 */
async function writableTarget(p: string, env: ToolEnv): Promise<{ target: string } | ToolResult> {
  const res = await sh(
    'd=$(dirname -- "$1"); mkdir -p -- "$d" || exit 1; t=$(readlink -f -- "$1") || { echo "cannot resolve $1"; exit 1; }; ' +
      'if [ -d "$t" ]; then echo "$1 is a directory"; exit 1; fi; ' +
      'if [ -e "$t" ]; then [ -w "$t" ] || { echo "$1: permission denied"; exit 1; }; else [ -w "$(dirname -- "$t")" ] || { echo "$1: permission denied"; exit 1; }; fi; printf %s "$t"',
    [p],
    env,
  );
  if (res.timedOut) return fail(`preparing ${p} timed out`);
  if (res.exitCode !== 0) return fail(res.output.trim() || `cannot write ${p}`);
  return { target: res.output };
}

async function putFile(p: string, content: string, env: ToolEnv): Promise<ToolResult | null> {
  const where = await writableTarget(p, env);
  if (!('target' in where)) return where;
  await env.sandbox.writeFiles(path.posix.dirname(where.target), [{ name: path.posix.basename(where.target), content, mode: 0o644, owner: 'agent' }]);
  return null;
}

async function writeFile(p: string, content: string, env: ToolEnv): Promise<ToolResult> {
  const failed = await putFile(p, content, env);
  return failed ?? { output: `wrote ${Buffer.byteLength(content)} bytes to ${p}`, isError: false };
}

async function editFile(p: string, oldString: string, newString: string, env: ToolEnv): Promise<ToolResult> {
  if (oldString === '') return fail('edit_file: old_string must not be empty (use write_file to create a file)');
  const res = await sh('size=$(wc -c < "$1") || exit 1; if [ "$size" -gt "$2" ]; then echo "$1 has $size bytes, more than edit_file handles ($2): use bash"; exit 1; fi; cat -- "$1"', [p, String(EDIT_LIMIT)], env, {
    outputLimit: EDIT_LIMIT + 1,
  });
  if (res.timedOut) return fail(`reading ${p} timed out`);
  if (res.exitCode !== 0) return fail(res.output.trim() || `cannot read ${p}`);
  const text = res.bytes.toString('utf8');
  const count = text.split(oldString).length - 1;
  if (count === 0) return fail(`old_string was not found in ${p}; nothing changed`);
  if (count > 1) return fail(`old_string occurs ${count} times in ${p}; nothing changed (include more context to make it unique)`);
  const i = text.indexOf(oldString);
  const failed = await putFile(p, text.slice(0, i) + newString + text.slice(i + oldString.length), env);
  return failed ?? { output: `edited ${p}: 1 replacement`, isError: false };
}

async function listFiles(p: string, env: ToolEnv): Promise<ToolResult> {
  const res = await sh(
    `cd -- "$1" || exit 1; find . -mindepth 1 -maxdepth ${LIST_DEPTH} \\( -name .git -o -name node_modules \\) -prune -printf '%y %P\\n' -o -printf '%y %P\\n' 2>&1 | sort -k2 | head -n ${LIST_ENTRIES + 1}`,
    [p],
    env,
    { outputLimit: 200_000 },
  );
  if (res.timedOut) return fail(`listing ${p} timed out`);
  if (res.exitCode !== 0) return fail(res.output.trim() || `cannot list ${p}`);
  const lines = res.output.split('\n').filter(Boolean);
  const shown = lines.slice(0, LIST_ENTRIES).map((l) => (l.startsWith('d ') ? `${l.slice(2)}/` : l.slice(2)));
  const more = lines.length > LIST_ENTRIES ? `\n[more than ${LIST_ENTRIES} entries: narrow the path]` : '';
  return { output: (shown.length ? shown.join('\n') : '(empty)') + more, isError: false };
}
