/**
 * A run's transcript as the analysis reads it: its texts by scope (commands the agent ran,
 * outputs it saw, messages it wrote), each with the event's sequence number, and its
 * normalized actions. Texts are capped so one huge output cannot stall a worker.
 */
import { actionsOf, type AgentAction } from '../transcript/actions';
import type { PatternScope } from './signalConfig';
import type { RunFacts } from './types';

export const MAX_TEXT_PER_EVENT = 64 * 1024;

export interface ScopedText {
  seq: number;
  text: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const cap = (s: string) => (s.length > MAX_TEXT_PER_EVENT ? s.slice(0, MAX_TEXT_PER_EVENT) : s);

export function actionsOfRun(run: RunFacts): AgentAction[] {
  const start = run.events[0]?.at ?? new Date(0).toISOString();
  return actionsOf(run.events, run.agentCommand ? { command: run.agentCommand, exitCode: run.agentExitCode, at: start } : undefined);
}

export function textsOf(run: RunFacts, scope: PatternScope): ScopedText[] {
  const out: ScopedText[] = [];
  if (scope === 'commands') {
    for (const a of actionsOfRun(run)) if (a.kind === 'command_run') out.push({ seq: a.seq, text: a.target });
    return out;
  }
  for (const e of run.events) {
    if (scope === 'outputs' && (e.type === 'command_output' || e.type === 'tool_result')) out.push({ seq: e.seq, text: cap(str(e.type === 'command_output' ? e.data.text : e.data.output)) });
    else if (scope === 'outputs' && e.type === 'error') out.push({ seq: e.seq, text: cap(str(e.data.message)) });
    else if (scope === 'messages' && (e.type === 'agent_message' || e.type === 'thinking')) out.push({ seq: e.seq, text: cap(str(e.data.text)) });
  }
  return out;
}

/** One line per event, for a model to read: `[seq] type: text`, the newest kept when cut. */
export function transcriptDigest(run: RunFacts, maxChars = 120 * 1024): string {
  const lines: string[] = [];
  for (const e of run.events) {
    const d = e.data;
    const text =
      e.type === 'tool_call' ? `${str(d.name)} ${str(d.input)}` : e.type === 'tool_result' ? `${d.isError ? '(error) ' : ''}${str(d.output)}` : e.type === 'status' ? `${str(d.from)} -> ${str(d.to)}` : str(d.text ?? d.message ?? d);
    lines.push(`[${e.seq}] ${e.type}: ${text.slice(0, 4000)}`);
  }
  let out = lines.join('\n');
  if (out.length > maxChars) out = `[… earlier events cut …]\n${out.slice(out.length - maxChars)}`;
  return out;
}
