/**
 * The agent's output streamed into the transcript while it runs: new bytes of its log are
 * read from where the last event ended (so a resumed step continues, never repeats),
 * redacted, and appended as `command_output` events. Until the agent has ended, the last
 * bytes that could be the start of a secret, or of a multi-byte character, wait for the
 * next poll. With `claude-code-stream-json` output, complete lines are also parsed into
 * messages, thinking, tool calls and results.
 */
import type { Redactor } from '../domain/redact';
import type { Sandbox } from '../sandbox';
import type { NewEvent, TranscriptWriter } from '../transcript/types';
import { parseClaudeCodeLine, type StreamUsage } from './claudeCodeStream';

const CHUNK = 256 * 1024;

/** How many trailing bytes form an incomplete UTF-8 character. */
function incompleteUtf8Tail(b: Buffer): number {
  for (let i = 1; i <= Math.min(3, b.length); i++) {
    const byte = b[b.length - i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}

export class OutputStreamer {
  private pendingLine = '';
  /** The agent CLI's own report (claude-code stream), once its final line is read. */
  usage: StreamUsage | undefined;
  toolCalls = 0;

  /** How far the log has been read (emitted, or held back until more arrives). */
  private seen: number;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly path: string,
    private readonly transcript: TranscriptWriter,
    private readonly redactor: Redactor,
    private offset: number,
    private readonly format: 'text' | 'claude-code-stream-json',
  ) {
    this.seen = offset;
  }

  /** `known`: the log's bytes from `start` on, already read (the agent's end), used where they reach. */
  async poll(final: boolean, known?: { start: number; content: Buffer }): Promise<void> {
    // While the agent works, a stat first: an exec per poll only when the log has grown
    // past what was read (a long agent is polled every second, mostly with nothing new).
    if (!final && !known) {
      const size = await this.sandbox.fileSize(this.path);
      if (size === null || size <= this.seen) return;
    }
    for (;;) {
      const chunk =
        known && this.offset >= known.start
          ? known.content.subarray(this.offset - known.start, this.offset - known.start + CHUNK)
          : await this.sandbox.readFileFrom(this.path, this.offset, CHUNK);
      if (!chunk || chunk.length === 0) return;
      this.seen = Math.max(this.seen, this.offset + chunk.length);
      const full = chunk.length === CHUNK;
      let keep = incompleteUtf8Tail(chunk);
      if (!final || full) keep = Math.max(keep, Math.min(chunk.length, Math.max(0, this.redactor.longest - 1)));
      const bytes = this.redactor.safeCut(chunk, chunk.length - keep);
      if (bytes <= 0) return;
      const text = this.redactor.redact(chunk.subarray(0, bytes).toString('utf8'));
      const events: NewEvent[] = [{ type: 'command_output', data: { text, offset: this.offset, bytes } }];
      if (this.format === 'claude-code-stream-json') events.push(...this.parse(text, final && !full));
      await this.transcript.append(...events);
      this.offset += bytes;
      if (!full) return;
    }
  }

  private parse(text: string, final: boolean): NewEvent[] {
    const lines = (this.pendingLine + text).split('\n');
    this.pendingLine = final ? '' : lines.pop()!;
    const out: NewEvent[] = [];
    for (const line of lines) {
      const parsed = parseClaudeCodeLine(line);
      out.push(...parsed.events);
      this.toolCalls += parsed.events.filter((e) => e.type === 'tool_call').length;
      if (parsed.usage) this.usage = parsed.usage;
    }
    return out;
  }
}
