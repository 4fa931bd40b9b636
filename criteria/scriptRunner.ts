/**
 * Running a criterion's own script in the post-run sandbox (python_script, script_judge):
 * placed under simlab's root-owned directory, where the agent cannot write, and run with a
 * clean environment (`env -i`: a fixed PATH, no login shell, nothing the agent exported),
 * so nothing the agent left behind decides its verdict. Exit 0 passes; a last output line
 * `{"score": n, "reason": "..."}` gives partial credit instead.
 */
import * as path from 'node:path';
import { EvaluationError } from '../domain/errors';
import { truncate } from '../domain/text';
import { AGENT_HOME, SIMLAB_DIR } from '../sandbox';
import { AGENT_LOG, PROMPT_FILE } from '../harnesses/command';
import type { CriterionOutcome } from '../domain/scoring';
import { EVIDENCE_LIMIT, type CriterionContext } from './types';

export const CRITERIA_DIR = `${SIMLAB_DIR}/criteria`;
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ScriptSpec {
  script: string;
  timeoutSeconds: number;
  maxScore: number;
  /** How to run the placed file: the interpreter's argv before the file's path. */
  interpreter: (file: string) => string[];
  extension: string;
}

/** The documented variables a script sees, and nothing else. */
function scriptEnv(ctx: CriterionContext, maxScore: number): Record<string, string> {
  const m = ctx.metrics;
  const vars: Record<string, string | null> = {
    PATH: CLEAN_PATH,
    HOME: AGENT_HOME,
    LANG: 'C.UTF-8',
    SIMLAB_RUN_ID: ctx.run.id,
    SIMLAB_AGENT_LOG: AGENT_LOG,
    SIMLAB_PROMPT_FILE: PROMPT_FILE,
    SIMLAB_MAX_SCORE: String(maxScore),
    SIMLAB_AGENT_EXIT_CODE: m.agentExitCode === null ? null : String(m.agentExitCode),
    SIMLAB_AGENT_DURATION_SECONDS: m.agentDurationMs === null ? null : (m.agentDurationMs / 1000).toFixed(3),
    SIMLAB_RUN_DURATION_SECONDS: m.runDurationMs === null ? null : (m.runDurationMs / 1000).toFixed(3),
  };
  return { ...ctx.secretEnv, ...Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => e[1] !== null)) };
}

export async function runCriterionScript(spec: ScriptSpec, ctx: CriterionContext): Promise<CriterionOutcome> {
  const name = `g${ctx.position.goal}c${ctx.position.criterion}${spec.extension}`;
  // The directory and the script belong to root: the agent can neither replace nor edit them.
  await ctx.sandbox.writeFiles(SIMLAB_DIR, [
    { name: path.posix.basename(CRITERIA_DIR), type: 'directory', mode: 0o755, owner: 'root' },
    { name: `${path.posix.basename(CRITERIA_DIR)}/${name}`, content: spec.script, mode: 0o555, owner: 'root' },
  ]);
  const file = `${CRITERIA_DIR}/${name}`;
  const env = Object.entries(scriptEnv(ctx, spec.maxScore)).map(([k, v]) => `${k}=${v}`);
  const res = await ctx.sandbox.exec(['/usr/bin/env', '-i', ...env, ...spec.interpreter(file), file], {
    timeoutSeconds: spec.timeoutSeconds,
    workingDir: AGENT_HOME,
    signal: ctx.signal,
    onProgress: ctx.onProgress,
  });
  const output = res.output.trim();
  const tail = output ? `\n${truncate(output, EVIDENCE_LIMIT, true)}` : '';
  if (res.timedOut) return { status: 'evaluated', score: 0, evidence: `timed out after ${spec.timeoutSeconds}s${tail}` };
  // env's own codes: the interpreter is missing (127) or cannot be executed (126).
  if (res.exitCode === 127 || res.exitCode === 126) {
    throw new EvaluationError(`the script could not be started (exit ${res.exitCode}): ${truncate(output, 500, true)}`);
  }
  const scored = scoreLine(output, spec.maxScore);
  if (scored) {
    return { status: 'evaluated', score: scored.score, evidence: `exit ${res.exitCode}, score ${scored.score}/${spec.maxScore}${scored.reason ? `: ${scored.reason}` : ''}${tail}` };
  }
  return { status: 'evaluated', score: res.exitCode === 0 ? spec.maxScore : 0, evidence: `exit ${res.exitCode}${tail}` };
}

/** The optional last line `{"score": n, "reason": "..."}`; a score outside 0..maxScore is the script's error, not the agent's. */
export function scoreLine(output: string, maxScore: number): { score: number; reason?: string } | null {
  const last = output.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  if (!last?.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    return null;
  }
  const p = parsed as { score?: unknown; reason?: unknown };
  if (typeof p?.score !== 'number') return null;
  if (!Number.isFinite(p.score) || p.score < 0 || p.score > maxScore) {
    throw new EvaluationError(`the script's score ${p.score} is outside 0..${maxScore}`);
  }
  return { score: p.score, ...(typeof p.reason === 'string' ? { reason: truncate(p.reason, 1000) } : {}) };
}
