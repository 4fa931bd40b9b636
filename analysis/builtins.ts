/**
 * Built-in transcript signals, computed from a run's normalized actions (the same for every
 * harness). Commands compare by their text with whitespace collapsed.
 */
import type { AgentAction } from '../transcript/actions';
import type { BuiltinName } from './signalConfig';

const DOC_URL = /\b(docs?|documentation|readme|guide|reference|manual|help|api)\b|\.md\b/i;
const FETCH = /\b(curl|wget|http|httpie|lynx)\b[^\n]*https?:\/\/\S+/i;

export const normalizeCommand = (c: string) => c.trim().replace(/\s+/g, ' ');

export function builtinSignal(name: BuiltinName, actions: AgentAction[]): number {
  const commands = actions.filter((a) => a.kind === 'command_run');
  switch (name) {
    case 'repeated_failing_commands': {
      // Distinct commands that failed more than once.
      const failures = new Map<string, number>();
      for (const a of commands) if (a.outcome === 'error') failures.set(normalizeCommand(a.target), (failures.get(normalizeCommand(a.target)) ?? 0) + 1);
      return [...failures.values()].filter((n) => n > 1).length;
    }
    case 'commands_retried_after_error': {
      // Runs of a command that had already failed earlier in the run.
      const failed = new Set<string>();
      let retries = 0;
      for (const a of commands) {
        const key = normalizeCommand(a.target);
        if (failed.has(key)) retries++;
        if (a.outcome === 'error') failed.add(key);
      }
      return retries;
    }
    case 'files_read_before_first_edit': {
      const firstEdit = actions.findIndex((a) => a.kind === 'file_written' || a.kind === 'file_edited');
      return (firstEdit === -1 ? actions : actions.slice(0, firstEdit)).filter((a) => a.kind === 'file_read').length;
    }
    case 'docs_pages_fetched':
      // Every web fetch or search, and commands that fetch a documentation-looking URL.
      return actions.filter((a) => a.kind === 'web_request' || (a.kind === 'command_run' && FETCH.test(a.target) && DOC_URL.test(a.target))).length;
  }
}
