/**
 * A run's transcript: one timeline of typed events, each with a sequence number (1, 2, …
 * per run) and a time, written as things happen and kept outside the Temporal history.
 */
export const EVENT_TYPES = [
  'status', // a status change: { from, to, detail?, failure? }
  'setup', // a setup step: { step: 'sandbox' | 'init_file' | 'init_command', ... }
  'command_output', // agent output as it streamed: { text, offset, bytes }
  'agent_message', // { text }
  'thinking', // { text }
  'tool_call', // { id, name, input }
  'tool_result', // { id, name, output, isError, interrupted? }
  'usage', // { inputTokens, outputTokens, ... } after a model turn
  'criterion', // { goal, name, evaluationType, status, score, maxScore, evidence }
  'error', // { message, step? }
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface TranscriptEvent {
  seq: number;
  at: string;
  type: EventType;
  data: Record<string, unknown>;
}

export interface NewEvent {
  type: EventType;
  data: Record<string, unknown>;
  at?: Date;
}

/** Where a step writes its events; the run's redactor has already been applied by it. */
export interface TranscriptWriter {
  append(...events: NewEvent[]): Promise<void>;
}
