/**
 * The deterministic friction analyser: where a run's agent struggled, read from its
 * transcript alone: error lines and failed tool calls, non-zero exits, commands repeated in
 * a loop, long stalls, a timeout. It always runs, and is the fallback when no model finds
 * friction points (or the model fails).
 */
import { normalizeCommand } from './builtins';
import { normalizeSignature } from './signature';
import { actionsOfRun } from './transcriptText';
import type { FrictionKind, FrictionPoint, RunFacts } from './types';

/** A silence this long between two events of the agent step is a stall. */
export const STALL_MS = 60_000;
/** A command run this many times is a loop, or twice when it had already failed. */
export const REPEAT_THRESHOLD = 3;
const MAX_POINTS = 50;

const ERROR_LINE = /\b(error|errno|exception|traceback|fatal|panic|failed|failure|denied|not found|no such file|cannot|can't|unable to|refused|unauthori[sz]ed|forbidden)\b/i;
const NOT_AN_ERROR = /\b(0|no) (errors?|failures?)\b|\berror(s)?: 0\b/i;
const EXIT = /\bexit(?:ed)?(?: with)? (?:code|status)[: ]+(-?[1-9]\d*)/i;

const KINDS: [FrictionKind, RegExp][] = [
  ['auth', /\b(401|403|unauthori[sz]ed|forbidden|invalid (api[ _-]?)?(key|token)|authentication|not authenticated|bad credentials|credentials? (missing|invalid|expired))\b/i],
  ['missing_docs', /\b(404|not found)\b.*\b(docs?|documentation|readme|guide|manual)\b|\bno (documentation|docs) (for|found)\b|no manual entry/i],
  ['timeout', /\btimed? ?out\b|deadline exceeded|ETIMEDOUT/i],
  ['wrong_tool', /unknown tool|no such tool|invalid tool|string (to replace )?(was )?not found|is a directory|unrecognized (option|argument)|invalid option|unknown (option|flag|command)/i],
  ['environment', /command not found|no such file or directory|ENOENT|ENOSPC|no space left|connection refused|network is unreachable|could not resolve|temporary failure in name resolution|modulenotfounderror|no module named|permission denied|read-only file system|EACCES|cannot allocate memory/i],
];

export function classify(text: string, fallback: FrictionKind = 'error'): FrictionKind {
  return KINDS.find(([, re]) => re.test(text))?.[0] ?? fallback;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const excerpt = (s: string, n = 160) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

function firstErrorLine(text: string): string | null {
  for (const line of text.split('\n')) if (ERROR_LINE.test(line) && !NOT_AN_ERROR.test(line)) return line;
  return null;
}

export function deterministicFriction(run: RunFacts): FrictionPoint[] {
  const points: FrictionPoint[] = [];
  const bySeq = new Set<number>();
  const add = (kind: FrictionKind, description: string, seqs: number[], errorText: string) => {
    if (points.length >= MAX_POINTS) return;
    points.push({ kind, description: excerpt(description), seqs, signature: normalizeSignature(errorText) });
    for (const s of seqs) bySeq.add(s);
  };

  for (const e of run.events) {
    if (e.type === 'error') {
      const m = str(e.data.message);
      add(classify(m), `error: ${m}`, [e.seq], m);
    } else if (e.type === 'tool_result' && (e.data.isError || e.data.interrupted)) {
      const out = str(e.data.output);
      const line = firstErrorLine(out) ?? out.split('\n').find((l) => l.trim()) ?? '';
      add(classify(out), `${str(e.data.name) || 'tool'} failed: ${line}`, [e.seq], line);
    } else if (e.type === 'command_output' || e.type === 'tool_result') {
      const text = str(e.type === 'command_output' ? e.data.text : e.data.output);
      const line = firstErrorLine(text);
      if (line) add(classify(line), line, [e.seq], line);
      const exit = EXIT.exec(text);
      if (exit && !bySeq.has(e.seq)) add('non_zero_exit', `exited with code ${exit[1]}`, [e.seq], `exit code ${exit[1]}`);
    }
  }

  // A plain command agent has one action: its own command, whose exit code is the run's.
  if (run.agentExitCode !== null && run.agentExitCode !== 0 && !run.events.some((e) => e.type === 'tool_call')) {
    const lastOutput = [...run.events].reverse().find((e) => e.type === 'command_output');
    add('non_zero_exit', `the agent exited with code ${run.agentExitCode}`, lastOutput ? [lastOutput.seq] : [], `agent exit code ${run.agentExitCode}`);
  }

  const occurrences = new Map<string, { seqs: number[]; failedBefore: boolean; failures: number }>();
  for (const a of actionsOfRun(run)) {
    if (a.kind !== 'command_run' || a.seq === 0) continue;
    const key = normalizeCommand(a.target);
    const o = occurrences.get(key) ?? { seqs: [], failedBefore: false, failures: 0 };
    if (o.failures > 0) o.failedBefore = true;
    o.seqs.push(a.seq);
    if (a.outcome === 'error') o.failures++;
    occurrences.set(key, o);
  }
  for (const [command, o] of occurrences) {
    if (o.seqs.length >= REPEAT_THRESHOLD || (o.seqs.length >= 2 && o.failedBefore)) {
      add('retry_loop', `ran \`${excerpt(command, 80)}\` ${o.seqs.length} times${o.failures ? ` (${o.failures} failed)` : ''}`, o.seqs, `repeated command ${command}`);
    }
  }

  // Stalls: long silences while the agent step ran (between `running` and the next status).
  let running = false;
  let prev: { seq: number; at: number } | null = null;
  for (const e of run.events) {
    const at = Date.parse(e.at);
    if (running && prev && at - prev.at >= STALL_MS) add('stall', `no activity for ${Math.round((at - prev.at) / 1000)} s`, [prev.seq, e.seq], 'long stall');
    if (e.type === 'status') running = e.data.to === 'running';
    prev = { seq: e.seq, at };
  }

  if (run.agentTimedOut) {
    const stop = run.events.find((e) => e.type === 'status' && e.data.from === 'running');
    add('timeout', 'the agent ran out of time', stop ? [stop.seq] : [], 'agent timed out');
  }
  return points;
}
