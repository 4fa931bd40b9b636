/**
 * `claude -p --output-format stream-json --verbose` output, one JSON object per line, read
 * into the transcript's events and the run's usage. Lines that are not such JSON are
 * plain output and produce no event of their own.
 */
import type { NewEvent } from '../transcript/types';

export interface StreamUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  turns: number;
  /** As the agent CLI reported it; null when it did not. */
  costUsd: number | null;
}

interface Block {
  type?: string;
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
}

const textOf = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((c: Block) => (typeof c?.text === 'string' ? c.text : '')).join('') : JSON.stringify(content ?? '');

export function parseClaudeCodeLine(line: string): { events: NewEvent[]; usage?: StreamUsage } {
  const t = line.trim();
  if (!t.startsWith('{')) return { events: [] };
  let m: { type?: string; message?: { content?: Block[] }; usage?: Record<string, number>; total_cost_usd?: number; num_turns?: number };
  try {
    m = JSON.parse(t);
  } catch {
    return { events: [] };
  }
  const events: NewEvent[] = [];
  if (m.type === 'assistant' && Array.isArray(m.message?.content)) {
    for (const b of m.message!.content!) {
      if (b.type === 'text' && b.text) events.push({ type: 'agent_message', data: { text: b.text } });
      else if (b.type === 'thinking' && b.thinking) events.push({ type: 'thinking', data: { text: b.thinking } });
      else if (b.type === 'tool_use') events.push({ type: 'tool_call', data: { id: b.id, name: b.name, input: b.input ?? {} } });
    }
  } else if (m.type === 'user' && Array.isArray(m.message?.content)) {
    for (const b of m.message!.content!) {
      if (b.type === 'tool_result') events.push({ type: 'tool_result', data: { id: b.tool_use_id, output: textOf(b.content).slice(0, 20000), isError: b.is_error === true } });
    }
  } else if (m.type === 'result') {
    const u = m.usage ?? {};
    const usage: StreamUsage = {
      inputTokens: u.input_tokens ?? 0,
      outputTokens: u.output_tokens ?? 0,
      cacheReadTokens: u.cache_read_input_tokens ?? 0,
      cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
      turns: m.num_turns ?? 0,
      costUsd: typeof m.total_cost_usd === 'number' ? m.total_cost_usd : null,
    };
    events.push({ type: 'usage', data: { ...usage } });
    return { events, usage };
  }
  return { events };
}
