/**
 * What the claude harness needs to persist its conversation, so a retried agent step
 * continues from the last completed turn and never runs a tool call twice. Implemented
 * over the database by store/conversation.ts.
 */
export interface StoredTurn {
  index: number;
  /** The assistant message's content blocks, as the API returned them. */
  assistant: unknown;
  /** The user message that answered it (tool results); null when the turn ended the loop. */
  reply: unknown | null;
  usage: Record<string, number>;
}

export interface StoredToolCall {
  toolUseId: string;
  turn: number;
  name: string;
  input: unknown;
  status: 'started' | 'done' | 'interrupted';
  result: unknown | null;
}

export interface ConversationStore {
  turns(): Promise<StoredTurn[]>;
  saveTurn(turn: StoredTurn): Promise<void>;
  /** Records the call before it runs; returns the existing record if there is one. */
  beginToolCall(call: Omit<StoredToolCall, 'status' | 'result'>): Promise<StoredToolCall | null>;
  finishToolCall(toolUseId: string, status: 'done' | 'interrupted', result: unknown): Promise<void>;
}
