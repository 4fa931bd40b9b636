/**
 * Normalized agent actions, the same list for every harness: derived from the transcript's
 * tool calls and results (claude harness, or a command agent's claude-code stream), or,
 * for a plain command agent, the command itself.
 */
import type { TranscriptEvent } from './types';

export type ActionKind = 'command_run' | 'file_read' | 'file_written' | 'file_edited' | 'search' | 'web_request' | 'message_to_user';

export interface AgentAction {
  seq: number;
  at: string;
  kind: ActionKind;
  /** What it acted on: the command, the path, the query, the URL. */
  target: string;
  outcome: 'ok' | 'error' | 'interrupted' | 'unknown';
  detail?: string;
}

const KIND_BY_TOOL: Record<string, ActionKind> = {
  bash: 'command_run',
  Bash: 'command_run',
  read_file: 'file_read',
  Read: 'file_read',
  write_file: 'file_written',
  Write: 'file_written',
  edit_file: 'file_edited',
  Edit: 'file_edited',
  MultiEdit: 'file_edited',
  list_files: 'search',
  Glob: 'search',
  Grep: 'search',
  LS: 'search',
  WebFetch: 'web_request',
  WebSearch: 'web_request',
};

function targetOf(input: Record<string, unknown>): string {
  for (const k of ['command', 'path', 'file_path', 'pattern', 'url', 'query']) {
    if (typeof input[k] === 'string') return (input[k] as string).slice(0, 500);
  }
  return JSON.stringify(input).slice(0, 200);
}

export function actionsOf(events: TranscriptEvent[], fallbackCommand?: { command: string; exitCode: number | null; at: string }): AgentAction[] {
  const results = new Map<string, TranscriptEvent>();
  for (const e of events) if (e.type === 'tool_result') results.set(String(e.data.id), e);
  const actions: AgentAction[] = [];
  for (const e of events) {
    if (e.type === 'tool_call') {
      const r = results.get(String(e.data.id));
      const outcome = !r ? 'unknown' : r.data.interrupted ? 'interrupted' : r.data.isError ? 'error' : 'ok';
      actions.push({
        seq: e.seq,
        at: e.at,
        kind: KIND_BY_TOOL[String(e.data.name)] ?? 'command_run',
        target: targetOf((e.data.input ?? {}) as Record<string, unknown>),
        outcome,
      });
    } else if (e.type === 'agent_message' && typeof e.data.text === 'string' && e.data.text.trim()) {
      actions.push({ seq: e.seq, at: e.at, kind: 'message_to_user', target: e.data.text.slice(0, 500), outcome: 'ok' });
    }
  }
  if (actions.length === 0 && fallbackCommand) {
    actions.push({
      seq: 0,
      at: fallbackCommand.at,
      kind: 'command_run',
      target: fallbackCommand.command.slice(0, 500),
      outcome: fallbackCommand.exitCode === null ? 'unknown' : fallbackCommand.exitCode === 0 ? 'ok' : 'error',
      ...(fallbackCommand.exitCode !== null ? { detail: `exit ${fallbackCommand.exitCode}` } : {}),
    });
  }
  return actions;
}
