/**
 * A run's transcript as the run page shows it: consecutive output chunks joined into one
 * block, and each tool result placed with its call. Pure, unit-tested.
 */
export interface TranscriptEvent {
  seq: number;
  at: string;
  type: string;
  data: Record<string, any>;
}

export type TimelineItem =
  | { kind: 'output'; seq: number; at: string; text: string }
  | { kind: 'tool'; seq: number; at: string; call: TranscriptEvent; result?: TranscriptEvent }
  | { kind: 'event'; seq: number; at: string; event: TranscriptEvent };

export function timeline(events: TranscriptEvent[]): TimelineItem[] {
  const out: TimelineItem[] = [];
  const calls = new Map<string, Extract<TimelineItem, { kind: 'tool' }>>();
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === 'command_output') {
      if (last?.kind === 'output') last.text += String(e.data.text ?? '');
      else out.push({ kind: 'output', seq: e.seq, at: e.at, text: String(e.data.text ?? '') });
    } else if (e.type === 'tool_call') {
      const item = { kind: 'tool' as const, seq: e.seq, at: e.at, call: e };
      calls.set(String(e.data.id), item);
      out.push(item);
    } else if (e.type === 'tool_result' && calls.has(String(e.data.id)) && !calls.get(String(e.data.id))!.result) {
      calls.get(String(e.data.id))!.result = e;
    } else {
      out.push({ kind: 'event', seq: e.seq, at: e.at, event: e });
    }
  }
  return out;
}

/** A unified diff's lines, classed for colouring. */
export function diffLines(diff: string): { cls: 'add' | 'del' | 'hunk' | 'ctx'; text: string }[] {
  return diff.split('\n').map((text) => ({
    cls: text.startsWith('@@') ? 'hunk' : text.startsWith('+') && !text.startsWith('+++') ? 'add' : text.startsWith('-') && !text.startsWith('---') ? 'del' : 'ctx',
    text,
  }));
}
